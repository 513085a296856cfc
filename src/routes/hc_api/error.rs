//! Refusals in healthchecks' shape, and our failures mapped to them.
use super::*;

/// A refusal in healthchecks' shape: `{"error": "…"}` (with our `field` and `code`).
#[derive(Debug)]
pub(super) struct HcError {
    pub(super) status: StatusCode,
    pub(super) error: String,
    pub(super) field: Option<String>,
    pub(super) code: &'static str,
}

impl HcError {
    pub(super) fn new(status: StatusCode, code: &'static str, error: impl Into<String>) -> Self {
        Self {
            status,
            error: error.into(),
            field: None,
            code,
        }
    }

    pub(super) fn bad(error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", error)
    }

    /// healthchecks' wording for a refused field.
    pub(super) fn field(field: &str, what: &str) -> Self {
        Self {
            field: Some(field.to_owned()),
            ..Self::bad(format!("json validation error: {field} {what}"))
        }
    }

    pub(super) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "not found")
    }

    pub(super) fn wrong_key() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "bad_credentials", "wrong api key")
    }
}

impl std::fmt::Display for HcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.error)
    }
}

impl ResponseError for HcError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        error_body(
            self.status,
            ErrorBody {
                error: self.error.clone(),
                field: self.field.clone(),
                code: Some(self.code.into()),
            },
        )
    }
}

/// Our field names as healthchecks calls them.
pub(super) fn hc_field(field: &str) -> &str {
    match field {
        "period" | "kind" => "timeout",
        "cron" | "at" => "schedule",
        "timezone" => "tz",
        "description" => "desc",
        other => other,
    }
}

impl From<AppError> for HcError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid(fields) => match fields.first() {
                Some(f) => Self {
                    field: Some(hc_field(f.field).to_owned()),
                    code: f.code(),
                    ..Self::bad(format!(
                        "json validation error: {} {}",
                        hc_field(f.field),
                        f.message()
                    ))
                },
                None => Self::bad("json validation error"),
            },
            AppError::InvalidAt { path, problem } => Self {
                field: Some(path.clone()),
                code: problem.code(),
                ..Self::bad(format!("json validation error: {path} {problem}"))
            },
            AppError::NotFound(_) => Self::not_found(),
            e @ AppError::Forbidden(_) => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", e.to_string())
            }
            AppError::Store(e) => {
                tracing::error!(error = %e, "storage failure");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "storage is unavailable; try again",
                )
            }
            AppError::Other(e) => {
                tracing::error!(error = %format!("{e:#}"), "request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                )
            }
        }
    }
}

impl From<StoreError> for HcError {
    fn from(e: StoreError) -> Self {
        AppError::from(e).into()
    }
}
