//! Reads only the UI needs, shaped for its pages.
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult, QuerySelect,
    Statement,
};

use crate::domain::schedule::ScheduleKind;
use crate::domain::status::{PingKind, Status};
use crate::entity::services;
use crate::store::{StoreError, StoreResult};

/// The columns the services list shows.
#[derive(Debug, Clone, FromQueryResult)]
pub struct ListRow {
    pub id: String,
    pub name: String,
    pub kind: ScheduleKind,
    pub period_secs: Option<i64>,
    pub at_time: Option<String>,
    pub cron_expr: Option<String>,
    pub timezone: String,
    pub grace_secs: i64,
    pub tags: String,
    pub status: Status,
    pub last_ping_at: Option<i64>,
    pub last_ping_kind: Option<PingKind>,
    pub next_due_at: Option<i64>,
}

const LIST_COLUMNS: &str = "id, name, kind, period_secs, at_time, cron_expr, timezone, \
     grace_secs, tags, status, last_ping_at, last_ping_kind, next_due_at";

type ListTuple = (
    String,
    String,
    ScheduleKind,
    Option<i64>,
    Option<String>,
    Option<String>,
    String,
    i64,
    String,
    Status,
    Option<i64>,
    Option<PingKind>,
    Option<i64>,
);

impl From<ListTuple> for ListRow {
    fn from(t: ListTuple) -> Self {
        Self {
            id: t.0,
            name: t.1,
            kind: t.2,
            period_secs: t.3,
            at_time: t.4,
            cron_expr: t.5,
            timezone: t.6,
            grace_secs: t.7,
            tags: t.8,
            status: t.9,
            last_ping_at: t.10,
            last_ping_kind: t.11,
            next_due_at: t.12,
        }
    }
}

/// Every service, in one query; the list filters and sorts in memory.
///
/// SQLite and PostgreSQL hand the rows over as one JSON array: drivers pay per row, and
/// for thousands of services one value is several times faster than thousands of rows.
/// MariaDB's JSON aggregate is capped by `group_concat_max_len`, so it reads rows.
pub async fn list_rows(db: &DatabaseConnection) -> StoreResult<Vec<ListRow>> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Sqlite => {
            format!("SELECT json_group_array(json_array({LIST_COLUMNS})) AS j FROM services")
        }
        DbBackend::Postgres => format!(
            "SELECT COALESCE(json_agg(json_build_array({LIST_COLUMNS})), '[]'::json)::text AS j \
             FROM services"
        ),
        _ => return list_rows_plain(db).await,
    };
    let Some(row) = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
    else {
        return Ok(Vec::new());
    };
    let json: String = row.try_get("", "j")?;
    let rows: Vec<ListTuple> = serde_json::from_str(&json)
        .map_err(|e| StoreError::Unavailable(format!("services list: {e}")))?;
    Ok(rows.into_iter().map(ListRow::from).collect())
}

async fn list_rows_plain(db: &DatabaseConnection) -> StoreResult<Vec<ListRow>> {
    use services::Column as C;
    Ok(services::Entity::find()
        .select_only()
        .columns([
            C::Id,
            C::Name,
            C::Kind,
            C::PeriodSecs,
            C::AtTime,
            C::CronExpr,
            C::Timezone,
            C::GraceSecs,
            C::Tags,
            C::Status,
            C::LastPingAt,
            C::LastPingKind,
            C::NextDueAt,
        ])
        .into_model::<ListRow>()
        .all(db)
        .await?)
}

/// Changes whenever any service is created, changed (every save bumps its version) or
/// deleted: the list is re-rendered only then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    pub count: i64,
    pub max_updated: i64,
    pub version_sum: i64,
}

pub async fn fingerprint(db: &DatabaseConnection) -> StoreResult<Fingerprint> {
    let backend = db.get_database_backend();
    // SUM of a BIGINT is NUMERIC on PostgreSQL and DECIMAL on MySQL: cast it back.
    let sum = match backend {
        DbBackend::Postgres => "CAST(COALESCE(SUM(version), 0) AS BIGINT)",
        DbBackend::MySql => "CAST(COALESCE(SUM(version), 0) AS SIGNED)",
        _ => "COALESCE(SUM(version), 0)",
    };
    let max = match backend {
        DbBackend::MySql => "CAST(COALESCE(MAX(updated_at), 0) AS SIGNED)",
        _ => "COALESCE(MAX(updated_at), 0)",
    };
    let count = match backend {
        DbBackend::MySql => "CAST(COUNT(*) AS SIGNED)",
        _ => "COUNT(*)",
    };
    let sql = format!("SELECT {count} AS n, {max} AS m, {sum} AS s FROM services");
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await?;
    let Some(row) = row else {
        return Ok(Fingerprint {
            count: 0,
            max_updated: 0,
            version_sum: 0,
        });
    };
    Ok(Fingerprint {
        count: row.try_get("", "n")?,
        max_updated: row.try_get("", "m")?,
        version_sum: row.try_get("", "s")?,
    })
}
