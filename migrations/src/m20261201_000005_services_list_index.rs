//! Indexed storage for the services list, so a page of a million services is an index
//! range scan instead of a read of every row:
//!
//! - `services.name_key`: the name lower-cased by the application (Rust's Unicode
//!   `to_lowercase`, the same on every database), compared byte-wise (`COLLATE "C"` on
//!   PostgreSQL, `utf8mb4_bin` on MySQL, SQLite's default), indexed with the status as
//!   `(status, name_key, id)`: one range per status tab, in name order.
//! - `service_tags(service_id, tag, status, name_key)`: one row per tag, carrying copies of
//!   the status and the name key so that a tag search pages through the index
//!   `(tag, status, name_key, service_id)` without touching `services`. `services.tags`
//!   stays as it is; the store keeps both in step.
//! - `services.updated_at` indexed: its maximum says cheaply whether anything changed.
//! - `revisions`: counters bumped when services are created, edited or deleted
//!   (`services`: a delete leaves no `updated_at` behind) and when a status changes
//!   (`statuses`: what the status tabs count).
//!
//! Existing rows are converted here: name keys from the names, tag rows from `tags`.
use sea_orm_migration::prelude::*;

use crate::sql::placeholder;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Services converted per statement; keeps statements well under every bind limit.
const CHUNK: u64 = 1000;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let conn = manager.get_connection();
        for sql in schema(backend) {
            conn.execute_unprepared(&sql).await?;
        }
        fill_name_keys(conn, backend).await?;
        fill_tags(conn, backend).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let backend = manager.get_database_backend();
        let on_services = |index: &str| match backend {
            DatabaseBackend::MySql => format!("DROP INDEX {index} ON services"),
            _ => format!("DROP INDEX {index}"),
        };
        for sql in [
            "DROP TABLE revisions".to_owned(),
            "DROP TABLE service_tags".to_owned(),
            on_services("idx_services_updated_at"),
            on_services("idx_services_list"),
            "ALTER TABLE services DROP COLUMN name_key".to_owned(),
        ] {
            conn.execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}

fn schema(backend: DatabaseBackend) -> Vec<String> {
    // Byte-wise order for the name key (and, on PostgreSQL, the id that breaks ties), so
    // that the index order is the order every database and the application agree on.
    let (key_type, id_order, table_opts, without_rowid) = match backend {
        DatabaseBackend::Postgres => ("VARCHAR(400) COLLATE \"C\"", "COLLATE \"C\"", "", ""),
        DatabaseBackend::MySql => (
            "VARCHAR(400) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
            "",
            " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            "",
        ),
        _ => ("VARCHAR(400)", "", "", " WITHOUT ROWID"),
    };
    vec![
        format!("ALTER TABLE services ADD COLUMN name_key {key_type} NOT NULL DEFAULT ''"),
        format!(
            "CREATE TABLE service_tags (\
               service_id VARCHAR(16) NOT NULL, \
               tag VARCHAR(64) NOT NULL, \
               status VARCHAR(16) NOT NULL, \
               name_key {key_type} NOT NULL, \
               PRIMARY KEY (service_id, tag), \
               CONSTRAINT fk_service_tags_service FOREIGN KEY (service_id) \
                 REFERENCES services (id) ON DELETE CASCADE\
             ){table_opts}{without_rowid}"
        ),
        format!(
            "CREATE INDEX idx_service_tags_list ON service_tags \
             (tag, status, name_key, service_id {id_order})"
        ),
        format!("CREATE INDEX idx_services_list ON services (status, name_key, id {id_order})"),
        "CREATE INDEX idx_services_updated_at ON services (updated_at)".to_owned(),
        format!(
            "CREATE TABLE revisions (name VARCHAR(32) NOT NULL PRIMARY KEY, value BIGINT NOT NULL)\
             {table_opts}"
        ),
        "INSERT INTO revisions (name, value) VALUES ('services', 0), ('statuses', 0)".to_owned(),
    ]
}

/// ASCII names are lower-cased by the database (the same result as Rust's); the few others
/// one by one in Rust, whose Unicode rules the application uses.
async fn fill_name_keys<C: ConnectionTrait>(
    conn: &C,
    backend: DatabaseBackend,
) -> Result<(), DbErr> {
    conn.execute_unprepared("UPDATE services SET name_key = LOWER(name)")
        .await?;
    let non_ascii = match backend {
        DatabaseBackend::Postgres => "octet_length(name) <> char_length(name)",
        DatabaseBackend::MySql => "LENGTH(name) <> CHAR_LENGTH(name)",
        _ => "length(CAST(name AS BLOB)) <> length(name)",
    };
    let rows = conn
        .query_all_raw(Statement::from_string(
            backend,
            format!("SELECT id, name FROM services WHERE {non_ascii}"),
        ))
        .await?;
    let sql = format!(
        "UPDATE services SET name_key = {} WHERE id = {}",
        placeholder(backend, 1),
        placeholder(backend, 2)
    );
    for row in rows {
        let id: String = row.try_get("", "id")?;
        let name: String = row.try_get("", "name")?;
        conn.execute_raw(Statement::from_sql_and_values(
            backend,
            &sql,
            [Value::from(name.to_lowercase()), Value::from(id)],
        ))
        .await?;
    }
    Ok(())
}

/// One `service_tags` row per tag in `services.tags` (`,a,b,`), a chunk of services at a time.
async fn fill_tags<C: ConnectionTrait>(conn: &C, backend: DatabaseBackend) -> Result<(), DbErr> {
    let mut after = String::new();
    loop {
        let rows = conn
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT id, tags, status, name_key FROM services WHERE id > {} \
                     ORDER BY id LIMIT {CHUNK}",
                    placeholder(backend, 1)
                ),
                [Value::from(after.clone())],
            ))
            .await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = last.try_get("", "id")?;
        let mut values: Vec<Value> = Vec::new();
        let mut tuples: Vec<String> = Vec::new();
        for row in &rows {
            let id: String = row.try_get("", "id")?;
            let tags: String = row.try_get("", "tags")?;
            let status: String = row.try_get("", "status")?;
            let key: String = row.try_get("", "name_key")?;
            let mut seen: Vec<&str> = Vec::new();
            for tag in tags.split(',').filter(|t| !t.is_empty()) {
                if seen.contains(&tag) {
                    continue;
                }
                seen.push(tag);
                let n = values.len();
                tuples.push(format!(
                    "({}, {}, {}, {})",
                    placeholder(backend, n + 1),
                    placeholder(backend, n + 2),
                    placeholder(backend, n + 3),
                    placeholder(backend, n + 4)
                ));
                values.extend([
                    Value::from(id.clone()),
                    Value::from(tag.to_owned()),
                    Value::from(status.clone()),
                    Value::from(key.clone()),
                ]);
            }
        }
        if !tuples.is_empty() {
            conn.execute_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "INSERT INTO service_tags (service_id, tag, status, name_key) VALUES {}",
                    tuples.join(", ")
                ),
                values,
            ))
            .await?;
        }
        if (rows.len() as u64) < CHUNK {
            return Ok(());
        }
    }
}
