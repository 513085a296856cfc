//! The runs migration (000012) on a database the previous release made: services (two
//! names that make one slug, a Chinese name), users, pings and flips keep every row; each
//! service gets a distinct v4 ping UUID and a slug, each user a ping key, the instance a
//! badge key; the migration goes down one step and up again, on every backend; the
//! server then serves the old rows with run fields at their defaults. Names of 100
//! characters and more get slugs that keep room for a `-N` suffix within the column's 100,
//! clashing ones numbered, and the server pings and numbers them further.
use std::collections::HashSet;

use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::helpers::{ADMIN, Backend, Options, PASSWORD, TestApp, TestDatabase};
use crate::upgrade::{exec, migrate_until};

async fn strings(db: &DatabaseConnection, sql: &str) -> Vec<String> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| r.try_get_by_index::<String>(0).expect("a text column"))
        .collect()
}

async fn count(db: &DatabaseConnection, table: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// What the previous release (migrations up to 000011) wrote.
async fn old_rows(db: &DatabaseConnection) {
    let service = "INSERT INTO services (id, name, name_key, kind, period_secs, timezone, \
                   grace_secs, tags, notify, status, last_ping_at, last_ping_kind, version, \
                   created_at, updated_at, channels, remind_max) \
                   VALUES (?, ?, ?, 'interval', 3600, 'UTC', 300, '', 'ops@example.com', ?, \
                   1000, ?, 1, 1, 2000, '', 0)";
    for (id, name, status, kind) in [
        ("old00001", "Nightly Backup", "up", "success"),
        ("old00002", "nightly-backup", "down", "error"),
        ("old00003", "数据库备份", "up", "success"),
    ] {
        exec(
            db,
            service,
            vec![
                id.into(),
                name.into(),
                name.to_lowercase().into(),
                status.into(),
                kind.into(),
            ],
        )
        .await;
    }
    // The admin as that release stored it (the test signs in as them), and another user.
    let hash = heartbeats::auth::hash_password(PASSWORD.into())
        .await
        .unwrap();
    for (name, hash) in [(ADMIN, hash.as_str()), ("bob", "not-a-hash")] {
        exec(
            db,
            "INSERT INTO users (name, email, password_hash, created_at, password_changed_at) \
             VALUES (?, NULL, ?, 1, 1)",
            vec![name.into(), hash.into()],
        )
        .await;
    }
    for (id, kind, data) in [
        ("old00001", "success", ""),
        ("old00002", "error", "disk full"),
        ("old00003", "success", ""),
    ] {
        exec(
            db,
            "INSERT INTO pings (service_id, at, kind, data, source, user_agent) \
             VALUES (?, 1000, ?, ?, '10.0.0.1', 'curl/8')",
            vec![id.into(), kind.into(), data.into()],
        )
        .await;
    }
    exec(
        db,
        "INSERT INTO flips (service_id, service_name, at, from_status, to_status, reason, \
         data, due_at, last_ping_at) VALUES ('old00002', 'nightly-backup', 1000, 'up', \
         'down', 'error', 'disk full', NULL, 900)",
        vec![],
    )
    .await;
}

fn is_v4(u: &str) -> bool {
    heartbeats::domain::runs::PingUuid::parse(u).is_some_and(|p| p.as_str() == u)
        && &u[14..15] == "4"
        && "89ab".contains(&u[19..20])
}

#[tokio::test]
async fn rows_of_the_previous_release_get_ping_uuids_slugs_and_ping_keys() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        let database = TestDatabase::create(backend).await;
        let db = migrate_until(&database.url, "m20261203_000012_runs").await;
        old_rows(&db).await;
        Migrator::up(&db, Some(1)).await.expect("up");

        for (table, n) in [("services", 3), ("users", 2), ("pings", 3), ("flips", 1)] {
            assert_eq!(count(&db, table).await, n, "{backend:?} {table}");
        }
        assert_eq!(count(&db, "runs").await, 0);
        let uuids = strings(&db, "SELECT ping_uuid FROM services ORDER BY id").await;
        assert!(uuids.iter().all(|u| is_v4(u)), "{backend:?}: {uuids:?}");
        assert_eq!(uuids.iter().collect::<HashSet<_>>().len(), 3, "{uuids:?}");
        let slugs = strings(&db, "SELECT slug FROM services ORDER BY id").await;
        assert_eq!(
            slugs,
            ["nightly-backup", "nightly-backup-2", "old00003"],
            "{backend:?}"
        );
        let keys = strings(&db, "SELECT ping_key FROM users ORDER BY id").await;
        assert_eq!(keys.len(), 2);
        assert!(
            keys.iter()
                .all(|k| k.len() == 32 && k.bytes().all(|c| c.is_ascii_hexdigit())),
            "{backend:?}: {keys:?}"
        );
        assert_ne!(keys[0], keys[1]);
        let badge = strings(
            &db,
            "SELECT value FROM instance_secrets WHERE name = 'badge_key'",
        )
        .await;
        assert_eq!(badge.len(), 1, "{backend:?}");
        assert_eq!(badge[0].len(), 32);
        let names = strings(&db, "SELECT name FROM services ORDER BY id").await;
        assert_eq!(names, ["Nightly Backup", "nightly-backup", "数据库备份"]);
        let data = strings(&db, "SELECT data FROM pings ORDER BY id").await;
        assert_eq!(data, ["", "disk full", ""]);

        // Down one step: the new columns and tables go, the rows stay.
        Migrator::down(&db, Some(1)).await.expect("down");
        for (table, n) in [("services", 3), ("users", 2), ("pings", 3), ("flips", 1)] {
            assert_eq!(count(&db, table).await, n, "{backend:?} {table} after down");
        }
        for sql in [
            "SELECT ping_uuid FROM services",
            "SELECT ping_key FROM users",
            "SELECT rid FROM pings",
            "SELECT id FROM runs",
        ] {
            assert!(
                db.execute_unprepared(sql).await.is_err(),
                "{backend:?}: {sql} after down"
            );
        }
        db.close().await.ok();

        // The new release starts on it: up again, the old rows served with run defaults.
        let app = TestApp::spawn_on(database, Options::default()).await;
        let s = app.service("old00002").await;
        assert_eq!(
            (s.status.as_str(), s.slug.as_str()),
            ("down", "nightly-backup-2")
        );
        assert!(is_v4(&s.ping_uuid), "{backend:?}: {}", s.ping_uuid);
        assert_eq!(
            (
                s.max_run,
                s.min_run,
                s.fail_after,
                s.fail_streak,
                s.open_runs
            ),
            (None, None, 1, 0, 0)
        );
        assert_eq!(s.last_duration_ms, None);
        let pings = app.pings("old00002").await;
        assert_eq!(pings.len(), 1);
        assert_eq!(
            (pings[0].kind.as_str(), pings[0].rid.as_deref()),
            ("error", None)
        );
        // A run on an upgraded service works.
        let resp = app
            .request(reqwest::Method::POST, "/api/pings/start?service=old00001")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{backend:?}");
        assert_eq!(app.service("old00001").await.open_runs, 1);
    }
}

/// `n` groups of `abcdefghij` and a space: a slug of `abcdefghij-` groups.
fn words(n: usize) -> String {
    "abcdefghij ".repeat(n)
}

#[tokio::test]
async fn long_names_get_slugs_with_room_for_a_suffix() {
    // The first 92 characters of the slug of every `words(9)…` name.
    let base = format!("{}abcd", "abcdefghij-".repeat(8));
    let mut names = vec![
        // 146 and 146 characters, alike in their first 143.
        ("old10001".to_owned(), format!("{}one", words(13))),
        ("old10002".to_owned(), format!("{}two", words(13))),
        // Exactly 100, all of it slug.
        ("old10003".to_owned(), "a".repeat(100)),
        // The 92nd character of the slug is a separator: it goes.
        (
            "old10004".to_owned(),
            format!("{} {}", "b".repeat(91), "c".repeat(108)),
        ),
    ];
    // Ten more like the first two, for two-digit suffixes.
    for k in 0..10 {
        names.push((format!("old1002{k}"), format!("{}copy {k}", words(9))));
    }
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        let database = TestDatabase::create(backend).await;
        let db = migrate_until(&database.url, "m20261203_000012_runs").await;
        old_rows(&db).await;
        for (id, name) in &names {
            exec(
                &db,
                "INSERT INTO services (id, name, name_key, kind, period_secs, timezone, \
                 grace_secs, tags, notify, status, version, created_at, updated_at, channels, \
                 remind_max) VALUES (?, ?, ?, 'interval', 3600, 'UTC', 300, '', \
                 'ops@example.com', 'new', 1, 1, 2000, '', 0)",
                vec![
                    id.as_str().into(),
                    name.as_str().into(),
                    name.to_lowercase().into(),
                ],
            )
            .await;
        }
        Migrator::up(&db, Some(1)).await.expect("up");

        let slugs = strings(
            &db,
            "SELECT slug FROM services WHERE id LIKE 'old1%' ORDER BY id",
        )
        .await;
        let mut want = vec![
            base.clone(),
            format!("{base}-2"),
            "a".repeat(92),
            "b".repeat(91),
        ];
        want.extend((3..=12).map(|n| format!("{base}-{n}")));
        assert_eq!(slugs, want, "{backend:?}");
        for slug in &slugs {
            assert!(
                heartbeats::domain::runs::parse_slug(slug).is_ok_and(|s| &s == slug),
                "{backend:?}: {slug} is a slug the server takes"
            );
        }
        let key = strings(
            &db,
            &format!("SELECT ping_key FROM users WHERE name = '{ADMIN}'"),
        )
        .await
        .remove(0);
        db.close().await.ok();

        // The server pings by the longest of them, and numbers the next one further.
        let app = TestApp::spawn_on(database, Options::default()).await;
        let resp = app
            .client
            .post(app.url(&format!("/ping/{key}/{base}-12")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{backend:?}");
        assert_eq!(app.pings("old10029").await.len(), 1, "{backend:?}");
        let s = app
            .create_service(serde_json::json!({"name": format!("{}three", words(13)),
                "kind": "interval", "period": 3600}))
            .await;
        assert_eq!(s.slug, format!("{base}-13"), "{backend:?}");
        let s = app.service("old10004").await;
        assert_eq!(s.slug, "b".repeat(91));
    }
}
