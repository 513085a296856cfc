//! The collectors migration (000010) on a database the previous release made: hosts written
//! as that release wrote them keep every value, read through the API, belong to the default
//! collector and are asked for their units; the migration goes down and up again, on every
//! backend.
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::helpers::{Backend, Options, TestApp, TestDatabase};
use crate::upgrade::{exec, migrate_until};

const CHECKS: &str = r#"{"cpu_pct":{"limit":90.0,"for":300},"disk_pct":{"limit":90.0,"for":0},"units":["nginx.service"]}"#;

/// Hosts as the previous release's `store::hosts` wrote them (every column of 000008).
async fn old_hosts(db: &sea_orm::DatabaseConnection) {
    let host = "INSERT INTO hosts (id, name, name_key, address, description, interval_secs, \
                tags, notify, ssh_user, ssh_port, ssh_key, checks, status, status_since, problems, \
                last_report_at, last_ok_at, last_error, report_interval_secs, report_timeout_secs, \
                breaches, next_check_at, version, created_at, updated_at) \
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    exec(
        db,
        host,
        vec![
            "oldhost00001".into(),
            "GPU-01 训练".into(),
            "gpu-01 训练".into(),
            Some("10.0.0.11:2222".to_owned()).into(),
            Some("training box".to_owned()).into(),
            30i64.into(),
            ",gpu,room:725,".into(),
            "ops@example.com".into(),
            Some("ops".to_owned()).into(),
            Some(2222i32).into(),
            Some("/etc/hb/id_ed25519".to_owned()).into(),
            CHECKS.into(),
            "degraded".into(),
            Some(1_000i64).into(),
            Some("disk / 93% > 90% for 0 min".to_owned()).into(),
            Some(2_000i64).into(),
            Some(2_000i64).into(),
            None::<String>.into(),
            Some(30i64).into(),
            Some(5i64).into(),
            Some(r#"{"disk:/":1000}"#.to_owned()).into(),
            Some(9_999_000_000i64).into(),
            4i64.into(),
            500i64.into(),
            2_000i64.into(),
        ],
    )
    .await;
    exec(
        db,
        host,
        vec![
            "oldhost00002".into(),
            "self-reporting".into(),
            "self-reporting".into(),
            None::<String>.into(),
            None::<String>.into(),
            60i64.into(),
            "".into(),
            "".into(),
            None::<String>.into(),
            None::<i32>.into(),
            None::<String>.into(),
            "{}".into(),
            "new".into(),
            Some(600i64).into(),
            None::<String>.into(),
            None::<i64>.into(),
            None::<i64>.into(),
            None::<String>.into(),
            None::<i64>.into(),
            None::<i64>.into(),
            None::<String>.into(),
            None::<i64>.into(),
            0i64.into(),
            600i64.into(),
            600i64.into(),
        ],
    )
    .await;
    for tag in ["gpu", "room:725"] {
        exec(
            db,
            "INSERT INTO host_tags (host_id, tag, name_key) VALUES ('oldhost00001', ?, 'gpu-01 训练')",
            vec![tag.into()],
        )
        .await;
    }
    exec(
        db,
        "INSERT INTO host_latest (host_id, at, received_at, snapshot) \
         VALUES ('oldhost00001', 2000, 2000, ?)",
        vec![
            r#"{"name":"GPU-01 训练","cpu_pct":12.5,"disks":[{"mount":"/","used_pct":93.0}]}"#
                .into(),
        ],
    )
    .await;
}

async fn count_hosts(db: &sea_orm::DatabaseConnection) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM hosts",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

#[tokio::test]
async fn hosts_of_the_previous_release_survive_the_collectors_migration() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        let database = TestDatabase::create(backend).await;
        let db = migrate_until(&database.url, "m20261201_000010_host_collectors").await;
        old_hosts(&db).await;
        // Up, down (the columns and the index go, the rows stay), up again.
        // Only this migration: later ones come back when the application starts.
        Migrator::up(&db, Some(1)).await.expect("up");
        Migrator::down(&db, Some(1)).await.expect("down");
        assert_eq!(count_hosts(&db).await, 2, "{backend:?}");
        let gone = db
            .execute_unprepared("SELECT collector FROM hosts")
            .await
            .is_err();
        assert!(gone, "{backend:?}: down drops the column");
        db.close().await.ok();

        // The new release starts on it (its migrations run) and shows every value.
        let app = TestApp::spawn_on(database, Options::default()).await;
        let h = app.host("oldhost00001").await;
        assert_eq!(h.name, "GPU-01 训练", "{backend:?}");
        assert_eq!(h.address.as_deref(), Some("10.0.0.11:2222"));
        assert_eq!(h.description.as_deref(), Some("training box"));
        assert_eq!(h.interval, 30);
        assert_eq!(h.tags, ["gpu", "room:725"]);
        assert_eq!(h.notify, ["ops@example.com"]);
        assert_eq!(
            (h.ssh.user.as_deref(), h.ssh.port, h.ssh.key.as_deref()),
            (Some("ops"), Some(2222), Some("/etc/hb/id_ed25519"))
        );
        assert_eq!(h.checks.units, ["nginx.service"]);
        assert_eq!(h.checks.cpu_pct.map(|t| t.limit), Some(90.0));
        assert_eq!(h.status, "degraded");
        assert_eq!(h.problems, ["disk / 93% > 90% for 0 min"]);
        assert_eq!(h.collector, None);
        assert_eq!(h.latest.and_then(|l| l.cpu_pct), Some(12.5));
        let other = app.host("oldhost00002").await;
        assert_eq!((other.status.as_str(), other.address), ("new", None));
        let list: Vec<heartbeats_wire::hosts::Host> =
            app.get("/api/v1/hosts").await.json().await.unwrap();
        assert_eq!(list.len(), 2, "{backend:?}");
        let tagged: Vec<heartbeats_wire::hosts::Host> =
            app.get("/api/v1/hosts?tag=gpu").await.json().await.unwrap();
        assert_eq!(tagged.len(), 1, "{backend:?}: tag rows kept");

        // Old hosts belong to the default collector and are asked for their units.
        let agent: heartbeats_wire::agent::AgentHosts =
            app.get("/api/v1/agent/hosts").await.json().await.unwrap();
        assert_eq!(agent.hosts.len(), 1, "{backend:?}: the one with an address");
        assert_eq!(agent.hosts[0].id, "oldhost00001");
        assert!(agent.hosts[0].discover_units);
        assert_eq!(agent.hosts[0].ssh.port, Some(2222));
        // And take the new values.
        app.report_ok(&json!({"name": "gpu-01 训练", "cpu_pct": 5,
            "discovered_units": [{"name": "nginx.service", "active_state": "active"}]}))
            .await;
        let agent: heartbeats_wire::agent::AgentHosts =
            app.get("/api/v1/agent/hosts").await.json().await.unwrap();
        assert!(!agent.hosts[0].discover_units, "{backend:?}");
        let resp = app
            .patch_json(
                "/api/v1/hosts/oldhost00001",
                &json!({"collector": "rack-a"}),
            )
            .await;
        assert_eq!(resp.status(), 200, "{backend:?}");
        assert_eq!(
            app.host("oldhost00001").await.collector.as_deref(),
            Some("rack-a")
        );
    }
}
