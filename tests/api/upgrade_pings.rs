//! The ping chain migration (000013) on a database the previous release made: pings of
//! three services, received interleaved, keep every row and are chained per service in
//! the order received; each service's newest ping and count come from its rows; the
//! sequence goes on past the newest id ever handed out (here, a deleted ping's); the
//! server then lists, pages, counts, deletes and pings them further; and the migration
//! goes down one step and up again without losing a row, on every backend.
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::helpers::{Backend, Options, TestApp, TestDatabase};
use crate::upgrade::{exec, migrate_until};

async fn numbers(db: &DatabaseConnection, sql: &str) -> Vec<Option<i64>> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| r.try_get_by_index::<Option<i64>>(0).expect("a number"))
        .collect()
}

/// What the previous release (migrations up to 000012) wrote: services a, b and c, and
/// pings 1–7 for a, b, a, c, a, b, b, the last of them deleted again.
async fn old_rows(db: &DatabaseConnection) {
    for (n, id) in ["svc0000a", "svc0000b", "svc0000c"].into_iter().enumerate() {
        exec(
            db,
            "INSERT INTO services (id, name, name_key, kind, period_secs, timezone, \
             grace_secs, tags, notify, status, version, created_at, updated_at, channels, \
             remind_max, ping_uuid, slug) VALUES (?, ?, ?, 'interval', 3600, 'UTC', 300, '', \
             '', 'up', 1, 1, 2000, '', 0, ?, ?)",
            vec![
                id.into(),
                id.into(),
                id.into(),
                format!("6f1c2a3b-4d5e-4f60-8a7b-8c9d0e1f2a3{n}").into(),
                id.into(),
            ],
        )
        .await;
    }
    for (n, id) in ["a", "b", "a", "c", "a", "b", "b"].into_iter().enumerate() {
        exec(
            db,
            "INSERT INTO pings (service_id, at, kind, data, source, user_agent) \
             VALUES (?, ?, 'success', ?, '10.0.0.1', 'curl/8')",
            vec![
                format!("svc0000{id}").into(),
                (1000 + n as i64).into(),
                format!("ping {}", n + 1).into(),
            ],
        )
        .await;
    }
    exec(db, "DELETE FROM pings WHERE id = 7", vec![]).await;
}

#[tokio::test]
async fn pings_of_the_previous_release_are_chained_counted_and_served() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        let database = TestDatabase::create(backend).await;
        let db = migrate_until(&database.url, "m20261204_000013_ping_chain").await;
        old_rows(&db).await;
        Migrator::up(&db, Some(1)).await.expect("up");

        assert_eq!(
            numbers(&db, "SELECT prev_id FROM pings ORDER BY id").await,
            [None, None, Some(1), None, Some(3), Some(2)],
            "{backend:?}"
        );
        assert_eq!(
            numbers(&db, "SELECT last_ping_id FROM services ORDER BY id").await,
            [Some(5), Some(6), Some(4)],
            "{backend:?}"
        );
        assert_eq!(
            numbers(&db, "SELECT ping_count FROM services ORDER BY id").await,
            [Some(3), Some(2), Some(1)],
            "{backend:?}"
        );

        // Down one step: the index and the key are back, the new columns gone, no row lost.
        Migrator::down(&db, Some(1)).await.expect("down");
        assert_eq!(
            numbers(&db, "SELECT id FROM pings ORDER BY id").await.len(),
            6
        );
        for sql in [
            "SELECT prev_id FROM pings",
            "SELECT last_ping_id FROM services",
            "SELECT ping_count FROM services",
        ] {
            assert!(
                db.execute_unprepared(sql).await.is_err(),
                "{backend:?}: {sql} after down"
            );
        }
        // The key is back: a ping for no service is refused.
        assert!(
            db.execute_unprepared(
                "INSERT INTO pings (service_id, at, kind, data) VALUES ('nosuch00', 1, 'success', '')"
            )
            .await
            .is_err(),
            "{backend:?}: the foreign key after down"
        );
        db.close().await.ok();

        // The new release starts on it: up again, and serves the old pings.
        let app = TestApp::spawn_on(database, Options::default()).await;
        let ids = |pings: Vec<heartbeats_wire::api::Ping>| -> Vec<i64> {
            pings.into_iter().map(|p| p.id).collect()
        };
        assert_eq!(ids(app.pings("svc0000a").await), [5, 3, 1], "{backend:?}");
        assert_eq!(ids(app.pings("svc0000b").await), [6, 2], "{backend:?}");
        assert_eq!(ids(app.pings("svc0000c").await), [4], "{backend:?}");
        assert_eq!(ids(app.pings_page("svc0000a", "limit=2").await), [5, 3]);
        assert_eq!(
            ids(app.pings_page("svc0000a", "limit=2&before=3").await),
            [1]
        );
        let page = app.pings("svc0000a").await;
        assert_eq!(
            (page[2].data.as_str(), page[2].source.as_deref()),
            ("ping 1", Some("10.0.0.1"))
        );

        // A new ping goes on past the deleted ping 7 (and, but on SQLite, past the id the
        // refused insert above took) and at the head of b's chain.
        assert_eq!(app.ping("svc0000b", "").await.status(), 200);
        let b = ids(app.pings("svc0000b").await);
        let new = b[0];
        assert_eq!(
            (new > 7, &b[1..]),
            (true, &[6, 2][..]),
            "{backend:?}: {b:?}"
        );

        // Deleting a service deletes its pings, and only its.
        let resp = app.delete("/api/v1/services/svc0000a").await;
        assert_eq!(resp.status(), 204, "{backend:?}");
        assert_eq!(
            numbers(&app.db, "SELECT id FROM pings ORDER BY id").await,
            [Some(2), Some(4), Some(6), Some(new)],
            "{backend:?}"
        );
    }
}

/// On SQLite the table is copied, and the copy's id sequence starts from the rows copied:
/// when every ping had been deleted, none is, and the migration must still carry the old
/// sequence over so that ids go on past those handed out before.
#[tokio::test]
async fn ids_go_on_past_deleted_pings_when_none_is_left() {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let db = migrate_until(&database.url, "m20261204_000013_ping_chain").await;
    old_rows(&db).await;
    exec(&db, "DELETE FROM pings", vec![]).await;
    Migrator::up(&db, Some(1)).await.expect("up");
    db.close().await.ok();
    let app = TestApp::spawn_on(database, Options::default()).await;
    assert_eq!(app.ping("svc0000a", "").await.status(), 200);
    let ids: Vec<i64> = app.pings("svc0000a").await.iter().map(|p| p.id).collect();
    assert_eq!(ids, [8]);
}
