//! The one error type of the HTTP layer, rendered as RFC 9457
//! `application/problem+json`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde::Serialize;

use crate::ratelimit::Decision;
use crate::store::StoreError;

/// One invalid field in a request body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    /// Shorthand used by the validators.
    pub fn new(field: &str, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// Collects field errors so a client learns about every bad field at once.
#[derive(Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Keeps `result`'s value, or records its error against `field`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        result
            .map_err(|m| self.0.push(FieldError::new(field, m)))
            .ok()
    }

    /// Every recorded error as one 422, or `Ok` when there were none.
    pub fn into_result(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}

/// Everything a request can fail with; each variant maps to one status.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    RequestTimeout(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    #[error("too many requests; retry after {} s", .0.retry_after_secs)]
    RateLimited(Decision),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A single-field validation failure.
    pub fn invalid(field: &str, message: impl Into<String>) -> AppError {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    /// The problem document; also used for per-item batch errors.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let slug = status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase()
            .replace(' ', "-");
        let detail = match self {
            // Internal details stay in the log, never in the response.
            AppError::Internal(_) => "an internal error occurred; it has been logged".to_owned(),
            AppError::Unavailable(_) => "the store is unreachable; retry shortly".to_owned(),
            other => other.to_string(),
        };
        Problem {
            kind: format!("urn:shorty:problem:{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors: match self {
                AppError::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
        }
    }
}

/// How often an outage of the store is logged while it lasts.
const UNAVAILABLE_LOG_EVERY: Duration = Duration::from_secs(30);

/// Logs that the store is unavailable once per [`UNAVAILABLE_LOG_EVERY`],
/// with how many requests failed meanwhile, rather than once per request.
fn log_unavailable(detail: &str) {
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    static SUPPRESSED: AtomicU64 = AtomicU64::new(0);
    let mut last = LAST.lock();
    if last.is_some_and(|at| at.elapsed() < UNAVAILABLE_LOG_EVERY) {
        SUPPRESSED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    *last = Some(Instant::now());
    let failed_since_last_log = SUPPRESSED.swap(0, Ordering::Relaxed);
    // Error level, so error reporting hears of an outage (throttled as well).
    tracing::error!(%detail, failed_since_last_log, "store unavailable; answering 503");
}

/// An RFC 9457 problem details document.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URN naming the kind of problem, e.g. `urn:shorty:problem:not-found`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Every invalid field, for validation failures (422).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub errors: Option<Vec<FieldError>>,
}

impl AppError {
    /// Logs what the response does not show: internal errors in full,
    /// store outages throttled. Run by `into_response`, and for failed
    /// batch items, which are no response of their own.
    pub fn log(&self) {
        match self {
            AppError::Internal(detail) => tracing::error!(%detail, "internal error"),
            AppError::Unavailable(detail) => log_unavailable(detail),
            _ => {}
        }
    }

    /// The response without [`AppError::log`], for a failure that was
    /// logged another way (a panic).
    pub fn response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            )],
            body,
        )
            .into_response();
        let headers = response.headers_mut();
        match self {
            AppError::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            AppError::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            AppError::RateLimited(decision) => {
                headers.insert(header::RETRY_AFTER, decision.retry_after_secs.into());
                decision.write_headers(headers);
            }
            _ => {}
        }
        response
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        self.response()
    }
}

/// Unique-constraint violations become 409 here and nowhere else.
impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::Unavailable(detail) => AppError::Unavailable(detail),
            StoreError::Conflict => AppError::Conflict("that code is already taken".to_owned()),
            StoreError::Other(detail) => AppError::Internal(detail),
        }
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> AppError {
        let detail = rejection.body_text();
        match rejection {
            JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType(
                "the body must be JSON, sent with Content-Type: application/json".to_owned(),
            ),
            JsonRejection::JsonSyntaxError(_) | JsonRejection::JsonDataError(_) => {
                AppError::BadRequest(detail)
            }
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::PayloadTooLarge("the request body is too large".to_owned())
            }
            _ => AppError::BadRequest(detail),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> AppError {
        AppError::BadRequest(rejection.body_text())
    }
}

impl From<PathRejection> for AppError {
    fn from(_: PathRejection) -> AppError {
        AppError::NotFound("no link has that code".to_owned())
    }
}
