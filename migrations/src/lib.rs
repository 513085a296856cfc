//! Schema migrations. Append-only: a shipped migration never changes; add a new file instead.
#![forbid(unsafe_code)]

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_create_users;
mod m20261121_000002_create_services;
mod m20261121_000003_create_pings_flips_alerts;
mod m20261121_000004_create_sessions;
mod m20261121_000005_alert_claim_token;
mod m20261121_000006_index_pings_at;
mod m20261121_000007_mysql_utf8mb4;
mod m20261201_000002_roles_and_audit;
mod m20261201_000004_alert_list_indexes;
mod m20261201_000005_services_list_index;
mod m20261201_000006_unique_name_key;
mod m20261201_000007_silent_services_index;
mod m20261201_000008_hosts;
mod m20261201_000009_host_rollups;
mod m20261201_000010_host_collectors;
mod m20261202_000011_channels;
mod m20261203_000012_runs;
mod m20261204_000013_ping_chain;

mod sql;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_create_users::Migration),
            Box::new(m20261121_000002_create_services::Migration),
            Box::new(m20261121_000003_create_pings_flips_alerts::Migration),
            Box::new(m20261121_000004_create_sessions::Migration),
            Box::new(m20261121_000005_alert_claim_token::Migration),
            Box::new(m20261121_000006_index_pings_at::Migration),
            Box::new(m20261121_000007_mysql_utf8mb4::Migration),
            Box::new(m20261201_000002_roles_and_audit::Migration),
            Box::new(m20261201_000004_alert_list_indexes::Migration),
            Box::new(m20261201_000005_services_list_index::Migration),
            Box::new(m20261201_000006_unique_name_key::Migration),
            Box::new(m20261201_000007_silent_services_index::Migration),
            Box::new(m20261201_000008_hosts::Migration),
            Box::new(m20261201_000009_host_rollups::Migration),
            Box::new(m20261201_000010_host_collectors::Migration),
            Box::new(m20261202_000011_channels::Migration),
            Box::new(m20261203_000012_runs::Migration),
            Box::new(m20261204_000013_ping_chain::Migration),
        ]
    }
}

/// Ping and flip data may be up to the configured limit (100 KiB by default), which is more
/// than MySQL's `TEXT` (64 KiB) holds.
pub(crate) fn long_text(manager: &SchemaManager, name: &'static str) -> ColumnDef {
    let mut col = ColumnDef::new(Alias::new(name));
    match manager.get_database_backend() {
        sea_orm_migration::sea_orm::DatabaseBackend::MySql => col.custom(Alias::new("MEDIUMTEXT")),
        _ => col.text(),
    };
    col.to_owned()
}
