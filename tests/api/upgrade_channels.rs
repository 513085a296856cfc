//! The channels migration (000011) on a database the previous release made: services,
//! hosts, flips and alerts written as that release wrote them keep every value; existing
//! services and hosts use no channel, reminder or snooze; the pending alert is still
//! delivered to its address, as before; the migration goes down and up again, on every
//! backend.
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Statement};

use crate::helpers::{Backend, Options, TestApp, TestDatabase};
use crate::upgrade::{exec, migrate_until};

async fn count(db: &sea_orm::DatabaseConnection, table: &str) -> i64 {
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

/// What the previous release (migrations up to 000010) wrote: a down service with its
/// flip and two alerts (one sent, one pending), and a host.
async fn old_rows(db: &sea_orm::DatabaseConnection, backend: Backend) {
    exec(
        db,
        "INSERT INTO services (id, name, name_key, kind, period_secs, timezone, grace_secs, \
         tags, notify, status, last_ping_at, last_ping_kind, version, created_at, updated_at) \
         VALUES ('old00001', 'Nightly 备份', 'nightly 备份', 'interval', 3600, 'Asia/Shanghai', \
         300, ',db,', 'ops@example.com', 'down', 1000, 'error', 3, 1, 2000)",
        vec![],
    )
    .await;
    exec(
        db,
        "INSERT INTO flips (id, service_id, service_name, at, from_status, to_status, reason, \
         data, due_at, last_ping_at) VALUES (7, 'old00001', 'Nightly 备份', 2000, 'up', \
         'down', 'error', 'disk full', NULL, 1000)",
        vec![],
    )
    .await;
    let alert = "INSERT INTO alerts (id, flip_id, service_id, recipient, state, attempts, \
                 next_attempt_at, claimed_until, last_error, sent_at, created_at, claim_token) \
                 VALUES (?, 7, 'old00001', ?, ?, ?, 2000, NULL, ?, ?, 2000, NULL)";
    for (id, to, state, attempts, err, sent) in [
        (41i64, "sent@example.com", "sent", 1i32, None, Some(2500i64)),
        (
            42,
            "pending@example.com",
            "pending",
            2,
            Some("SMTP: timed out".to_owned()),
            None,
        ),
    ] {
        exec(
            db,
            alert,
            vec![
                id.into(),
                to.into(),
                state.into(),
                attempts.into(),
                err.into(),
                sent.into(),
            ],
        )
        .await;
    }
    exec(
        db,
        "INSERT INTO hosts (id, name, name_key, interval_secs, tags, notify, checks, status, \
         version, created_at, updated_at) VALUES ('oldhost00001', 'gpu-01', 'gpu-01', 30, '', \
         'ops@example.com', '{}', 'new', 0, 500, 500)",
        vec![],
    )
    .await;
    if backend == Backend::Postgres {
        for (seq, to) in [("flips_id_seq", 7), ("alerts_id_seq", 42)] {
            exec(db, &format!("SELECT setval('{seq}', {to})"), vec![]).await;
        }
    }
}

#[tokio::test]
async fn services_hosts_and_alerts_of_the_previous_release_survive_the_channels_migration() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        let database = TestDatabase::create(backend).await;
        let db = migrate_until(&database.url, "m20261202_000011_channels").await;
        old_rows(&db, backend).await;
        // Up, down (the tables and columns go, the rows stay), up again.
        // Only this migration: later ones come back when the application starts.
        Migrator::up(&db, Some(1)).await.expect("up");
        Migrator::down(&db, Some(1)).await.expect("down");
        for (table, n) in [("services", 1), ("hosts", 1), ("flips", 1), ("alerts", 2)] {
            assert_eq!(count(&db, table).await, n, "{backend:?} {table}");
        }
        assert!(
            db.execute_unprepared("SELECT snoozed_until FROM services")
                .await
                .is_err(),
            "{backend:?}: down drops the column"
        );
        db.close().await.ok();

        let app = TestApp::spawn_on(database, Options::default()).await;
        let s = app.service("old00001").await;
        assert_eq!(s.name, "Nightly 备份", "{backend:?}");
        assert_eq!(
            (s.status.as_str(), s.timezone.as_str()),
            ("down", "Asia/Shanghai")
        );
        assert_eq!(s.tags, ["db"]);
        assert_eq!(s.notify, ["ops@example.com"]);
        assert!(s.channels.is_empty(), "{backend:?}: no channel");
        assert_eq!(
            (s.remind_every, s.remind_max, s.snoozed_until),
            (None, 0, None)
        );
        let h = app.host("oldhost00001").await;
        assert!(h.channels.is_empty() && h.remind_every.is_none() && h.snoozed_until.is_none());
        let alerts = app.alerts().await;
        let rows: Vec<_> = alerts
            .iter()
            .map(|a| (a.id, a.recipient.as_str(), a.state.as_str(), a.attempts))
            .collect();
        assert_eq!(
            rows,
            [
                (42, "pending@example.com", "pending", 2),
                (41, "sent@example.com", "sent", 1)
            ],
            "{backend:?}"
        );
        // The pending alert goes out to its address as before, and only it.
        let d = app.deliver().await;
        assert_eq!(
            (d.sent, d.failed, d.held, d.skipped),
            (1, 0, 0, 0),
            "{backend:?}"
        );
        let mails = app.mail_files();
        assert_eq!(mails.len(), 1);
        assert!(mails[0].contains("pending@example.com"), "{}", mails[0]);
        assert!(mails[0].contains("DOWN: Nightly"), "{}", mails[0]);
        // New alerts get ids after the old ones.
        app.ping_ok("old00001", "").await;
        let newest = app.alerts().await[0].id;
        assert!(newest > 42, "{backend:?}: {newest}");
    }
}
