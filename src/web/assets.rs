//! The stylesheet, script and icon the pages use, compiled into the
//! binary (no CDN). Pages link them with a hash of their content in the
//! query, so they can be cached for a year and still never go stale
//! after an upgrade.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::api::extract::ApiQuery;
use crate::domain::api_key::to_hex;
use crate::error::AppError;

/// One compiled-in file.
struct Asset {
    name: &'static str,
    body: &'static [u8],
    content_type: &'static str,
}

const FILES: [Asset; 3] = [
    Asset {
        name: "app.css",
        body: include_bytes!("../../assets/ui/app.css"),
        content_type: "text/css; charset=utf-8",
    },
    Asset {
        name: "app.js",
        body: include_bytes!("../../assets/ui/app.js"),
        content_type: "text/javascript; charset=utf-8",
    },
    Asset {
        name: "icon.svg",
        body: include_bytes!("../../assets/ui/icon.svg"),
        content_type: "image/svg+xml",
    },
];

/// Each file's content hash (16 hex digits) and URL, in [`FILES`] order.
static VERSIONS: LazyLock<Vec<(String, &'static str)>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|file| {
            let hash = to_hex(&Sha256::digest(file.body)[..8]);
            let url = format!("/ui/static/{}?v={hash}", file.name);
            (hash, &*Box::leak(url.into_boxed_str()))
        })
        .collect()
});

/// The URL pages link `name` by; `/ui/static/name` for a name not compiled in.
pub fn url(name: &str) -> &'static str {
    FILES
        .iter()
        .position(|f| f.name == name)
        .map_or("/ui/static/", |i| VERSIONS[i].1)
}

/// `?v=`: the content hash the page linked.
#[derive(Deserialize)]
pub struct Version {
    v: Option<String>,
}

/// `GET /ui/static/{file}`: a year's caching when asked for by the current
/// hash; otherwise revalidated by `ETag`.
pub async fn serve(
    Path(file): Path<String>,
    ApiQuery(version): ApiQuery<Version>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let index = FILES
        .iter()
        .position(|f| f.name == file)
        .ok_or_else(|| AppError::NotFound("no such file".to_owned()))?;
    let asset = &FILES[index];
    let hash = &VERSIONS[index].0;
    let etag = format!("\"{hash}\"");
    let cache = if version.v.as_deref() == Some(hash) {
        "public, max-age=31536000, immutable"
    } else {
        "public, no-cache"
    };
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.body,
        )
            .into_response()
    };
    let out = response.headers_mut();
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, etag);
    }
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}
