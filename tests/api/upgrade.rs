//! Upgrades keep every row and every right: a database made by the previous release
//! (the schema before the roles migration, filled the way that release wrote it) is
//! migrated, and its users and keys work as before, on every backend.
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::Value;

use crate::helpers::{ADMIN, Auth, Backend, Options, PASSWORD, TestApp, TestDatabase};

/// Apply every migration before `name`, as the release before it did.
async fn migrate_until(url: &str, name: &str) -> sea_orm::DatabaseConnection {
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

async fn exec(db: &sea_orm::DatabaseConnection, sql: &str, values: Vec<sea_orm::Value>) {
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
