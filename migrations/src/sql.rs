//! Small helpers for migrations that write raw SQL.
use sea_orm_migration::sea_orm::DatabaseBackend;

/// The `n`th bind parameter as the backend writes it: `$n` or `?`.
pub(crate) fn placeholder(backend: DatabaseBackend, n: usize) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}
