//! Telling a failure of the database as a whole from a failure of one statement.
//!
//! When the server is away, the disk is full or the file is locked by another process,
//! every statement fails alike: retrying a batch's pings one by one only multiplies the
//! wait (by the pool's acquire timeout, or SQLite's busy timeout, per ping). Those failures
//! are answered at once with 503, and the next request tries again.
use sea_orm::{DbErr, RuntimeErr, sqlx};

/// Whether `err` says the database is unavailable, rather than that one statement was wrong.
pub fn is_unavailable(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => sqlx_unavailable(e),
        DbErr::Conn(_) => true,
        _ => false,
    }
}

fn sqlx_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                sqlite_unavailable(&code)
            } else if let Some(mysql) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
                // Disk full, table full, too many connections, shutting down, lock wait
                // timeout: MySQL gives these the catch-all SQLSTATE HY000.
                matches!(mysql.number(), 1021 | 1114 | 1040 | 1053 | 1205)
                    || sqlstate_unavailable(&code)
            } else {
                sqlstate_unavailable(&code)
            }
        }
        _ => false,
    }
}

/// SQLite reports its extended result code as a number whose low byte is the primary code:
/// BUSY 5, LOCKED 6, READONLY 8, IOERR 10, CORRUPT 11, FULL 13, CANTOPEN 14.
fn sqlite_unavailable(code: &str) -> bool {
    code.parse::<u32>()
        .is_ok_and(|n| matches!(n & 0xff, 5 | 6 | 8 | 10 | 11 | 13 | 14))
}

/// SQLSTATE classes (PostgreSQL, MySQL): 08 connection exception, 53 insufficient
/// resources such as a full disk, 57P an administrator's shutdown.
fn sqlstate_unavailable(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("53") || code.starts_with("57P")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_codes_by_their_primary_byte() {
        assert!(sqlite_unavailable("13")); // SQLITE_FULL
        assert!(sqlite_unavailable("5")); // SQLITE_BUSY
        assert!(sqlite_unavailable("517")); // SQLITE_BUSY_SNAPSHOT
        assert!(sqlite_unavailable("266")); // SQLITE_IOERR_READ
        assert!(!sqlite_unavailable("2067")); // SQLITE_CONSTRAINT_UNIQUE
        assert!(!sqlite_unavailable("1")); // SQLITE_ERROR (e.g. a syntax error)
    }

    #[test]
    fn sqlstates_by_class() {
        assert!(sqlstate_unavailable("08006")); // connection failure
        assert!(sqlstate_unavailable("53100")); // disk full
        assert!(sqlstate_unavailable("57P01")); // admin shutdown
        assert!(!sqlstate_unavailable("23505")); // unique violation
        assert!(!sqlstate_unavailable("22001")); // string too long
    }

    #[test]
    fn pool_and_io_failures() {
        assert!(is_unavailable(&DbErr::ConnectionAcquire(
            sea_orm::ConnAcquireErr::Timeout
        )));
        let io = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(is_unavailable(&DbErr::Query(RuntimeErr::SqlxError(
            io.into()
        ))));
        assert!(!is_unavailable(&DbErr::RecordNotFound("x".into())));
        assert!(!is_unavailable(&DbErr::Query(RuntimeErr::SqlxError(
            sqlx::Error::RowNotFound.into()
        ))));
    }
}
