//! Host metric roll-ups: `host_minutes` (1-minute buckets, kept 7 days by default) and
//! `host_hours` (hourly, 400 days). A row is one bucket of one series of one host: its
//! sample count, sum, maximum, minimum and last value (with the time of that value), so
//! partial buckets from several instances merge by adding counts and sums. The primary key
//! is the chart query's range; the bucket index serves retention.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [&str; 2] = ["host_minutes", "host_hours"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let (double, opts) = match backend {
            DatabaseBackend::Postgres => ("DOUBLE PRECISION", ""),
            // Mount points differ by case on Linux: compare them byte for byte.
            DatabaseBackend::MySql => (
                "DOUBLE",
                " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            ),
            _ => ("DOUBLE", " WITHOUT ROWID"),
        };
        let conn = manager.get_connection();
        for table in TABLES {
            conn.execute_unprepared(&format!(
                "CREATE TABLE {table} (\
                   host_id VARCHAR(16) NOT NULL, \
                   metric VARCHAR(24) NOT NULL, \
                   part VARCHAR(255) NOT NULL, \
                   bucket BIGINT NOT NULL, \
                   n BIGINT NOT NULL, \
                   vsum {double} NOT NULL, \
                   vmax {double} NOT NULL, \
                   vmin {double} NOT NULL, \
                   vlast {double} NOT NULL, \
                   vlast_at BIGINT NOT NULL, \
                   PRIMARY KEY (host_id, metric, part, bucket)\
                 ){opts}"
            ))
            .await?;
            conn.execute_unprepared(&format!(
                "CREATE INDEX idx_{table}_bucket ON {table} (bucket)"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
