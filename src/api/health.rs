//! Liveness and readiness probes.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::AppState;

/// Longest a readiness check may take, so probes never hang.
pub const READY_TIMEOUT: Duration = Duration::from_millis(800);

/// Liveness: answers while the process serves requests.
pub async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: 200 only when the store (and Redis, when configured) answer
/// in time; otherwise 503 with a body naming what failed. Both checks run
/// at once, so the probe never takes much longer than [`READY_TIMEOUT`].
pub async fn ready(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Value>) {
    let store = check("store", state.links.store().ping());
    let redis = async {
        match state.links.redis() {
            Some(redis) => Some(check("redis", redis.ping()).await),
            None => None,
        }
    };
    let (store, redis) = tokio::join!(store, redis);
    let mut checks = serde_json::Map::new();
    let mut failed = Vec::new();
    for (name, outcome) in std::iter::once(("store", store)).chain(redis.map(|r| ("redis", r))) {
        if outcome != "ok" {
            failed.push(name);
        }
        checks.insert(name.to_owned(), Value::String(outcome));
    }
    if failed.is_empty() {
        (
            StatusCode::OK,
            Json(json!({ "status": "ready", "checks": checks })),
        )
    } else {
        let body = json!({ "status": "not ready", "failed": failed, "checks": checks });
        (StatusCode::SERVICE_UNAVAILABLE, Json(body))
    }
}

/// `"ok"`, `"unreachable"` or `"timed out"` for one dependency.
async fn check<E: std::fmt::Display>(
    name: &str,
    ping: impl std::future::Future<Output = Result<(), E>>,
) -> String {
    match tokio::time::timeout(READY_TIMEOUT, ping).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, check = name, "readiness check failed");
            "unreachable".to_owned()
        }
        Err(_) => "timed out".to_owned(),
    }
}
