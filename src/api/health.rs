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

/// Readiness: 200 only when the store answers in time; otherwise 503 with
/// a body naming what failed.
pub async fn ready(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Value>) {
    let store = match tokio::time::timeout(READY_TIMEOUT, state.links.store().ping()).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: store check failed");
            "unreachable".to_owned()
        }
        Err(_) => "timed out".to_owned(),
    };
    if store == "ok" {
        (
            StatusCode::OK,
            Json(json!({ "status": "ready", "checks": { "store": store } })),
        )
    } else {
        let body = json!({
            "status": "not ready",
            "failed": ["store"],
            "checks": { "store": store },
        });
        (StatusCode::SERVICE_UNAVAILABLE, Json(body))
    }
}
