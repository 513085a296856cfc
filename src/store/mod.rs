//! Named storage operations per aggregate; handlers map [`StoreError`] to HTTP in one place.
pub mod alerts;
pub mod pings;
pub mod services;
pub mod users;

use sea_orm::{DbErr, SqlErr};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{field}: {message}")]
    Conflict {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Invalid(#[from] crate::domain::FieldError),
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    #[error("{0}")]
    Unavailable(String),
}

impl StoreError {
    /// Turn a unique-key violation into a conflict on `field`, leaving other errors as they are.
    pub fn unique(err: DbErr, field: &'static str, message: impl Into<String>) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => StoreError::Conflict {
                field,
                message: message.into(),
            },
            _ => StoreError::Db(err),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
