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

/// `/_health`, the liveness probe.
#[utoipa::path(get, path = "/_health", tag = "operations",
    responses((status = 200, description = "The process serves requests", body = Object)))]
pub async fn health() -> Json<Value> {
    live().await
}

/// `/healthz`, the same liveness probe under the Kubernetes name.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process serves requests", body = Object)))]
pub async fn healthz() -> Json<Value> {
    live().await
}

/// Readiness: 200 when the store answers in time and the tasks that write
/// creates and capped clicks run, 503 with a body naming what failed. Redis, when configured, is checked too and named in the
/// body, but a Redis failure alone keeps the instance ready: shorty works
/// without Redis, and taking every instance out of the load balancer
/// because the shared cache is down would turn a slowdown into an outage.
/// Both checks run at once, so the probe takes at most [`READY_TIMEOUT`].
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready; `checks` shows each dependency, `degraded` lists Redis trouble", body = Object),
        (status = 503, description = "Not ready; `failed` names what failed", body = Object),
    ))]
pub async fn ready(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Value>) {
    let store = check("store", state.links.store().ping());
    let redis = async {
        match state.links.redis() {
            Some(redis) => Some(check("redis", redis.ping()).await),
            None => None,
        }
    };
    let (store, redis) = tokio::join!(store, redis);
    let mut body = json!({ "status": "ready", "checks": { "store": store } });
    if let Some(redis) = redis {
        // Whether writes on other instances reach this one's cache at once
        // (subscribed) or within a second (degraded: entries live 1 s).
        let invalidation = if state.links.cache().is_degraded() {
            "degraded"
        } else {
            "subscribed"
        };
        let degraded: Vec<&str> = [
            ("redis", redis != "ok"),
            ("invalidation", invalidation != "subscribed"),
        ]
        .into_iter()
        .filter_map(|(name, bad)| bad.then_some(name))
        .collect();
        if !degraded.is_empty() {
            body["degraded"] = json!(degraded);
        }
        body["checks"]["redis"] = Value::String(redis);
        body["checks"]["invalidation"] = json!(invalidation);
    }
    let writers = state.links.writers_running();
    if !writers {
        // A bug, not an outage: say so loudly (and to error reporting).
        tracing::error!("a writer task has stopped; creates or capped clicks cannot be written");
    }
    body["checks"]["writers"] = json!(if writers { "ok" } else { "stopped" });
    let failed: Vec<&str> = [("store", store != "ok"), ("writers", !writers)]
        .into_iter()
        .filter_map(|(name, bad)| bad.then_some(name))
        .collect();
    if failed.is_empty() {
        (StatusCode::OK, Json(body))
    } else {
        body["status"] = json!("not ready");
        body["failed"] = json!(failed);
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
