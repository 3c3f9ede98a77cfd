//! `GET /{code}/qr`: the short link as a QR code, public like the link.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use super::extract::{ApiQuery, CodePath};
use super::visit::{gone, no_such_link};
use super::AppState;
use crate::domain::qr_options::{QrOptions, RawQrOptions};
use crate::error::{AppError, FieldError, Problem};
use crate::links::cache::Cached;
use crate::links::qr::render;

/// How the code is drawn; every parameter is optional.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QrQuery {
    /// `png` (the default) or `svg`
    #[param(pattern = "^(png|svg)$")]
    format: Option<String>,
    /// Width and height in pixels, 50 to 1000 (default 300); a code that
    /// needs more gets one pixel per module
    #[param(minimum = 50, maximum = 1000)]
    size: Option<i64>,
    /// Quiet zone around the code, in modules, 0 to 10 (default 4)
    #[param(minimum = 0, maximum = 10)]
    margin: Option<i64>,
    /// Error correction: `l`, `m` (the default), `q` or `h`
    #[param(pattern = "^[lmqh]$")]
    ec: Option<String>,
    /// Dark colour, `rrggbb` or `rgb` in hex, `#` optional (default 000000)
    #[param(pattern = "^#?([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})$")]
    fg: Option<String>,
    /// Light colour, as `fg` (default ffffff)
    #[param(pattern = "^#?([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})$")]
    bg: Option<String>,
}

/// Caching: a code's QR image changes only if the service's `base_url`
/// does, and browsers revalidate with the `ETag` after a day.
const CACHE_CONTROL: HeaderValue = HeaderValue::from_static("public, max-age=86400");

/// The QR code of a live link's short URL.
#[utoipa::path(get, path = "/{code}/qr", tag = "redirect",
    params(("code" = String, Path, description = "A generated code or an alias"), QrQuery),
    responses(
        (status = 200, description = "The QR code, holding exactly the short URL",
            headers(("ETag" = String), ("Cache-Control" = String)),
            content(("image/png"), ("image/svg+xml"))),
        (status = 304, description = "Not modified (`If-None-Match` named this image's ETag)"),
        (status = 404, description = "No link has that code",
            body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Expired, deleted or out of clicks",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is invalid",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn qr(
    State(state): State<Arc<AppState>>,
    CodePath(code): CodePath,
    ApiQuery(query): ApiQuery<QrQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let raw = RawQrOptions {
        format: query.format.as_deref(),
        size: query.size,
        margin: query.margin,
        ec: query.ec.as_deref(),
        fg: query.fg.as_deref(),
        bg: query.bg.as_deref(),
    };
    let options = QrOptions::parse(&raw).map_err(|errors| {
        AppError::Validation(
            errors
                .into_iter()
                .map(|(f, m)| FieldError::new(f, m))
                .collect(),
        )
    })?;
    match state.links.resolve(code.as_str()).await? {
        Cached::Live(target) if !target.is_expired() => {}
        Cached::Live(_) | Cached::Gone => return Err(gone()),
        Cached::Missing => return Err(no_such_link()),
    }
    let url = state.links.short_url(code.as_str());
    let etag = etag_of(&url, &options);
    let cached = headers.get(header::IF_NONE_MATCH).is_some_and(|v| {
        v.as_bytes()
            .split(|b| *b == b',')
            .any(|t| t.trim_ascii() == etag.as_bytes())
    });
    let mut response = if cached {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        // Drawing a 1000-pixel PNG takes milliseconds: not on a serving thread.
        let image = tokio::task::spawn_blocking(move || render(&url, &options))
            .await
            .map_err(|e| AppError::Internal(format!("QR task failed: {e}")))?
            .map_err(AppError::Internal)?;
        let mut response = Response::new(Body::from(image.body));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(image.content_type),
        );
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, CACHE_CONTROL);
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    Ok(response)
}

/// A strong validator: the same URL and options draw the same bytes.
fn etag_of(url: &str, options: &QrOptions) -> String {
    let digest = Sha256::digest(format!("{url}\n{options:?}"));
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}
