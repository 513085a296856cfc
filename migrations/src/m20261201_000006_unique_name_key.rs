//! Service names are unique regardless of case: `Backup` and `backup` are one name to a
//! person reading a list. Existing names that differ only in case are kept, every row of
//! them: all but the oldest get a suffix (`backup (2)`), then a unique index on the
//! lower-cased `name_key` holds the rule from now on.
use sea_orm_migration::prelude::*;

use crate::sql::placeholder;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement, Value};

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn taken<C: ConnectionTrait>(conn: &C, key: &str) -> Result<bool, DbErr> {
    let backend = conn.get_database_backend();
    let sql = format!(
        "SELECT COUNT(*) AS n FROM services WHERE name_key = {}",
        placeholder(backend, 1)
    );
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [key.into()]))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0)
        > 0)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let backend = manager.get_database_backend();
        let groups = conn
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT name_key FROM services GROUP BY name_key HAVING COUNT(*) > 1",
            ))
            .await?;
        for group in groups {
            let key: String = group.try_get("", "name_key")?;
            let rows = conn
                .query_all_raw(Statement::from_sql_and_values(
                    backend,
                    format!(
                        "SELECT id, name FROM services WHERE name_key = {} ORDER BY created_at, id",
                        placeholder(backend, 1)
                    ),
                    [key.into()],
                ))
                .await?;
            for row in rows.iter().skip(1) {
                let id: String = row.try_get("", "id")?;
                let name: String = row.try_get("", "name")?;
                let mut n = 2;
                let renamed = loop {
                    let candidate = format!("{name} ({n})");
                    if !taken(conn, &candidate.to_lowercase()).await? {
                        break candidate;
                    }
                    n += 1;
                };
                let new_key = renamed.to_lowercase();
                let values: [Value; 3] = [
                    renamed.clone().into(),
                    new_key.clone().into(),
                    id.clone().into(),
                ];
                conn.execute_raw(Statement::from_sql_and_values(
                    backend,
                    format!(
                        "UPDATE services SET name = {}, name_key = {} WHERE id = {}",
                        placeholder(backend, 1),
                        placeholder(backend, 2),
                        placeholder(backend, 3)
                    ),
                    values,
                ))
                .await?;
                conn.execute_raw(Statement::from_sql_and_values(
                    backend,
                    format!(
                        "UPDATE service_tags SET name_key = {} WHERE service_id = {}",
                        placeholder(backend, 1),
                        placeholder(backend, 2)
                    ),
                    [new_key.into(), id.into()],
                ))
                .await?;
            }
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_services_name_key_unique")
                    .table("services")
                    .col("name_key")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_services_name_key_unique")
                    .table("services")
                    .to_owned(),
            )
            .await
    }
}
