//! Upgrades keep every row and every right: a database made by the previous release
//! (the schema before the roles migration, filled the way that release wrote it) is
//! migrated, and its users and keys work as before, on every backend.
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::Value;

use crate::helpers::{ADMIN, Auth, Backend, Options, PASSWORD, TestApp, TestDatabase};

/// Apply every migration before `name`, as the release before it did.
pub(crate) async fn migrate_until(url: &str, name: &str) -> sea_orm::DatabaseConnection {
    let db = heartbeats::db::connect(url, heartbeats::settings::SqliteSync::Full)
        .await
        .expect("connect");
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name() == name)
        .expect("the migration exists");
    Migrator::up(&db, Some(before as u32))
        .await
        .expect("old migrations");
    db
}

pub(crate) async fn exec(db: &sea_orm::DatabaseConnection, sql: &str, values: Vec<sea_orm::Value>) {
    let backend = db.get_database_backend();
    let sql = if backend == DbBackend::Postgres {
        let mut n = 0;
        sql.chars()
            .map(|c| {
                if c == '?' {
                    n += 1;
                    format!("${n}")
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        sql.to_owned()
    };
    db.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .expect("insert old row");
}

#[tokio::test]
async fn users_and_keys_of_the_previous_release_keep_their_rights() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        let database = TestDatabase::create(backend).await;
        let db = migrate_until(&database.url, "m20261201_000002_roles_and_audit").await;
        let hash = heartbeats::auth::hash_password(PASSWORD.into())
            .await
            .unwrap();
        let other = heartbeats::auth::hash_password("second-user-1".into())
            .await
            .unwrap();
        // The previous release's rows: no role, no scope.
        let user = "INSERT INTO users (name, email, password_hash, created_at, password_changed_at) \
                    VALUES (?, ?, ?, ?, ?)";
        exec(
            &db,
            user,
            vec![
                ADMIN.into(),
                None::<String>.into(),
                hash.into(),
                1i64.into(),
                1i64.into(),
            ],
        )
        .await;
        exec(
            &db,
            user,
            vec![
                "second".into(),
                "s@example.com".into(),
                other.into(),
                2i64.into(),
                2i64.into(),
            ],
        )
        .await;
        let key = "hb_oldkey01_0123456789abcdefghijklmnopqrstuv";
        let digest = heartbeats::store::users::key_digest(key);
        exec(
            &db,
            "INSERT INTO api_keys (user_id, label, prefix, key_hash, created_at) \
             SELECT id, 'cron', 'oldkey01', ?, 3 FROM users WHERE name = 'second'",
            vec![digest.into()],
        )
        .await;
        db.close().await.ok();

        // The new release starts on it: migrations run, the old admin signs in as before.
        let app = TestApp::spawn_on(database, Options::default()).await;
        let users: Vec<Value> = app.get("/api/v1/users").await.json().await.unwrap();
        let roles: Vec<(&str, &str)> = users
            .iter()
            .map(|u| (u["name"].as_str().unwrap(), u["role"].as_str().unwrap()))
            .collect();
        assert_eq!(
            roles,
            [(ADMIN, "admin"), ("second", "admin")],
            "{backend:?}"
        );
        // The old key keeps full access: it may create a service (its owner is an admin).
        let id = app.interval_service("after-upgrade", 60, 60).await;
        let resp = app
            .client
            .post(app.url(&format!("/api/v1/services/{id}/pause")))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{backend:?}");
        assert_eq!(app.ping_as(&id, Auth::Bearer(key)).await.status(), 200);
        assert_eq!(
            app.ping_as(&id, Auth::Basic("second", "second-user-1"))
                .await
                .status(),
            200
        );
    }
}

#[tokio::test]
async fn names_that_differ_only_in_case_are_kept_and_made_distinct() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        let database = TestDatabase::create(backend).await;
        // The previous release's schema: before the list index and the unique name key.
        let db = migrate_until(&database.url, "m20261201_000005_services_list_index").await;
        let service = "INSERT INTO services (id, name, kind, period_secs, timezone, grace_secs, \
                       tags, notify, status, version, created_at, updated_at) \
                       VALUES (?, ?, 'interval', 3600, 'UTC', 300, ?, '', 'new', 0, ?, ?)";
        for (i, (id, name, tags)) in [
            ("old00001", "Backup", ",db,"),
            ("old00002", "backup", ",db,"),
            ("old00003", "BACKUP", ""),
            ("old00004", "backup (2)", ""),
        ]
        .into_iter()
        .enumerate()
        {
            let t = i as i64 + 1;
            exec(
                &db,
                service,
                vec![id.into(), name.into(), tags.into(), t.into(), t.into()],
            )
            .await;
        }
        db.close().await.ok();

        let app = TestApp::spawn_on(database, Options::default()).await;
        let mut names: Vec<String> = Vec::new();
        for id in ["old00001", "old00002", "old00003", "old00004"] {
            names.push(app.service(id).await.name);
        }
        // The oldest keeps its name; the others get the first free suffix; nothing is lost.
        assert_eq!(
            names,
            ["Backup", "backup (3)", "BACKUP (4)", "backup (2)"],
            "{backend:?}"
        );
        // From now on, case does not make a new name, on create or on rename.
        let resp = app
            .post_json(
                "/api/v1/services",
                &serde_json::json!({"name": "BACKUP", "period": 60}),
            )
            .await;
        assert_eq!(resp.status(), 409, "{backend:?}");
        let resp = app
            .patch_json(
                "/api/v1/services/old00002",
                &serde_json::json!({"name": "bAcKuP"}),
            )
            .await;
        assert_eq!(resp.status(), 409, "{backend:?}");
        // The renamed rows are found by their new names in the list.
        let found: Vec<Value> = app
            .get("/api/v1/services?q=backup%20(3)")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "{backend:?}: {found:?}");
    }
}

/// The hosts migration rebuilds (SQLite) or alters `alerts` so that host alerts share the
/// outbox: every existing flip and alert keeps its id, its columns and its delivery, and
/// services alert as before.
#[tokio::test]
async fn service_flips_and_alerts_survive_the_hosts_migration() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        let database = TestDatabase::create(backend).await;
        let db = migrate_until(&database.url, "m20261201_000008_hosts").await;
        exec(
            &db,
            "INSERT INTO services (id, name, name_key, kind, period_secs, timezone, grace_secs, \
             tags, notify, status, last_ping_at, last_ping_kind, version, created_at, updated_at) \
             VALUES ('old00001', 'Nightly 备份', 'nightly 备份', 'interval', 3600, 'UTC', 300, \
             '', 'ops@example.com', 'down', 1000, 'error', 3, 1, 2000)",
            vec![],
        )
        .await;
        exec(
            &db,
            "INSERT INTO flips (id, service_id, service_name, at, from_status, to_status, reason, \
             data, due_at, last_ping_at) VALUES (7, 'old00001', 'Nightly 备份', 2000, 'up', \
             'down', 'error', 'disk full', NULL, 1000)",
            vec![],
        )
        .await;
        let alert = "INSERT INTO alerts (id, flip_id, service_id, recipient, state, attempts, \
                     next_attempt_at, claimed_until, last_error, sent_at, created_at, claim_token) \
                     VALUES (?, 7, 'old00001', ?, ?, ?, 2000, NULL, ?, ?, 2000, NULL)";
        exec(
            &db,
            alert,
            vec![
                41i64.into(),
                "sent@example.com".into(),
                "sent".into(),
                1i32.into(),
                None::<String>.into(),
                Some(2500i64).into(),
            ],
        )
        .await;
        exec(
            &db,
            alert,
            vec![
                42i64.into(),
                "pending@example.com".into(),
                "pending".into(),
                2i32.into(),
                Some("SMTP: timed out".to_owned()).into(),
                None::<i64>.into(),
            ],
        )
        .await;
        if backend == Backend::Postgres {
            // The previous release took ids from the sequences; these rows name theirs.
            for (seq, to) in [("flips_id_seq", 7), ("alerts_id_seq", 42)] {
                exec(&db, &format!("SELECT setval('{seq}', {to})"), vec![]).await;
            }
        }
        db.close().await.ok();

        let app = TestApp::spawn_on(database, Options::default()).await;
        let alerts = app.alerts().await;
        let rows: Vec<_> = alerts
            .iter()
            .map(|a| {
                (
                    a.id,
                    a.flip_id,
                    a.service_id.as_deref(),
                    a.host_id.as_deref(),
                    a.recipient.as_str(),
                    a.state.as_str(),
                    a.attempts,
                    a.last_error.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                (
                    42,
                    7,
                    Some("old00001"),
                    None,
                    "pending@example.com",
                    "pending",
                    2,
                    Some("SMTP: timed out")
                ),
                (
                    41,
                    7,
                    Some("old00001"),
                    None,
                    "sent@example.com",
                    "sent",
                    1,
                    None
                ),
            ],
            "{backend:?}"
        );
        let flips = app.flips("old00001").await;
        assert_eq!(flips[0].id, 7);
        assert_eq!(flips[0].data.as_deref(), Some("disk full"));
        // The pending alert is delivered as before, with its flip's data.
        assert_eq!(app.deliver().await.sent, 1, "{backend:?}");
        let mail = app.mail_files().join("\n");
        assert!(mail.contains("Nightly"), "{backend:?}: {mail}");
        // New alerts get new ids, for services and for hosts alike.
        app.ping_ok("old00001", "").await;
        let h = app
            .create_host(serde_json::json!({"name": "h", "notify": ["ops@example.com"]}))
            .await;
        app.report_ok(&serde_json::json!({"name": "h", "error": "no route to host"}))
            .await;
        let alerts = app.alerts().await;
        assert_eq!(alerts.len(), 4, "{backend:?}: {alerts:?}");
        let ids: Vec<i64> = alerts.iter().map(|a| a.id).collect();
        assert!(ids[..2].iter().all(|id| *id > 42), "{backend:?}: {ids:?}");
        assert_eq!(alerts[0].host_id.as_deref(), Some(h.id.as_str()));
        assert_eq!(alerts[1].service_id.as_deref(), Some("old00001"));
        // Deleting the service still takes its flips and alerts with it.
        assert_eq!(app.delete("/api/v1/services/old00001").await.status(), 204);
        assert_eq!(app.alerts().await.len(), 1, "{backend:?}");
    }
}
