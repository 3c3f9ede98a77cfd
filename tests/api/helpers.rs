//! `spawn_app()` and `TestApp`, the harness every API test uses.

use std::sync::{Arc, Once};

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use shorty::api::AppState;
use shorty::config::{Config, ConfigLayer, LogFormat};
use shorty::startup::Application;
use shorty::telemetry::{self, LogTarget};

use crate::backend::{redis_url, with_redis, TestDb};
use crate::services::KeyPrefix;

/// The admin token every test app is started with.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// A running server plus what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: Arc<AppState>,
    /// The separate metrics listener's port, with `metrics_listen` set.
    pub metrics_port: Option<u16>,
    /// Declared after the shutdown sender so the server stops first.
    _shutdown: tokio::sync::oneshot::Sender<()>,
    _db: TestDb,
    _redis_keys: Option<KeyPrefix>,
}

static LOGGING: Once = Once::new();

fn init_logging() {
    LOGGING.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            // The guard keeps the log writer thread for the whole test run.
            std::mem::forget(telemetry::init_logging(
                LogFormat::Pretty,
                LogTarget::Stderr,
            ));
        }
    });
}

/// Starts a server with the default test configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server after `configure` has adjusted the config layer.
pub async fn spawn_app_with(configure: impl FnOnce(&mut ConfigLayer)) -> TestApp {
    spawn_app_configured(configure, |_| {}).await
}

/// Starts a server after `configure` has adjusted the config layer and
/// `finish` the resolved config (for what no layer sets, like the clock).
pub async fn spawn_app_configured(
    configure: impl FnOnce(&mut ConfigLayer),
    finish: impl FnOnce(&mut Config),
) -> TestApp {
    init_logging();
    let db = TestDb::fresh();
    let mut layer = ConfigLayer {
        listen: Some("127.0.0.1:0".into()),
        base_url: Some("https://sho.rt".into()),
        database_url: Some(db.url.clone()),
        admin_token: Some(ADMIN_TOKEN.into()),
        // Tests create links far faster than the default 10/s per client
        // IP; the rate-limit tests set their own limits.
        create_rate: Some(1e9),
        create_burst: Some(u32::MAX),
        ..ConfigLayer::default()
    };
    let redis_keys = with_redis().then(|| KeyPrefix::new(redis_url()));
    if let Some(prefix) = &redis_keys {
        layer.redis_url = Some(redis_url());
        layer.redis_key_prefix = Some(prefix.to_string());
    }
    configure(&mut layer);
    let subscribes = with_redis() && layer.redis_url == Some(redis_url());
    let mut config = Config::resolve(layer).expect("valid test config");
    finish(&mut config);
    let app = Application::build(config).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    let metrics_port = app.metrics_port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async {
        let _ = rx.await;
    }));
    if subscribes {
        // Until subscribed to invalidations, the cache runs degraded (and
        // is emptied when that ends); tests start from the normal state.
        let started = std::time::Instant::now();
        while state.links.cache().is_degraded() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "never subscribed to Redis invalidations"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    TestApp {
        address,
        client,
        state,
        metrics_port,
        _shutdown: tx,
        _db: db,
        _redis_keys: redis_keys,
    }
}

impl TestApp {
    /// A request to `path` carrying the admin token.
    pub fn admin(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.address, path))
            .bearer_auth(ADMIN_TOKEN)
    }

    /// A request to `path` carrying `token` (an API key, say).
    pub fn with_token(&self, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.address, path))
            .bearer_auth(token)
    }

    /// The store this server uses, for a second server on the same data.
    pub fn database_url(&self) -> String {
        self._db.url.clone()
    }

    /// The Redis key prefix this server uses, when Redis is on.
    pub fn redis_prefix(&self) -> Option<String> {
        self._redis_keys.as_ref().map(|p| p.to_string())
    }

    /// Creates (or updates) user `id` as the admin.
    pub async fn put_user(&self, id: &str) -> Response {
        self.admin(Method::PUT, &format!("/api/v1/users/{id}"))
            .json(&serde_json::json!({"name": format!("User {id}"), "email": format!("{id}@example.com")}))
            .send()
            .await
            .expect("put user")
    }

    /// Issues a key to user `id` with `body`; returns the issued key object.
    pub async fn issue_key(&self, id: &str, body: Value) -> Value {
        let response = self
            .admin(Method::POST, &format!("/api/v1/users/{id}/keys"))
            .json(&body)
            .send()
            .await
            .expect("issue key");
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.expect("issued key json")
    }

    /// A request to `path` with no credentials.
    pub fn anon(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.address, path))
    }

    /// `POST /api/v1/links` with `body`, anonymously.
    pub async fn create_link(&self, body: Value) -> Response {
        self.anon(Method::POST, "/api/v1/links")
            .json(&body)
            .send()
            .await
            .expect("create request")
    }

    /// Creates a link to `url` and returns the link object; panics unless 201.
    pub async fn create(&self, url: &str) -> Value {
        self.create_with(json!({ "url": url })).await
    }

    /// Creates a link from `body` and returns the link object; panics unless 201.
    pub async fn create_with(&self, body: Value) -> Value {
        let response = self.create_link(body.clone()).await;
        let status = response.status();
        let text = response.text().await.expect("body");
        assert_eq!(status, StatusCode::CREATED, "create {body} failed: {text}");
        serde_json::from_str(&text).expect("link json")
    }

    /// `GET /{code}` without following the redirect.
    pub async fn follow(&self, code: &str) -> Response {
        self.anon(Method::GET, &format!("/{code}"))
            .send()
            .await
            .expect("redirect request")
    }

    /// `n` concurrent `GET /{code}`s; returns their statuses.
    pub async fn follow_concurrently(&self, code: &str, n: usize) -> Vec<StatusCode> {
        let clicks = (0..n).map(|_| self.follow(code));
        futures::future::join_all(clicks)
            .await
            .into_iter()
            .map(|r| r.status())
            .collect()
    }

    /// `HEAD /{code}`.
    pub async fn head(&self, code: &str) -> Response {
        self.anon(Method::HEAD, &format!("/{code}"))
            .send()
            .await
            .expect("head request")
    }

    /// `GET /api/v1/links/{code}` as admin.
    pub async fn get_link(&self, code: &str) -> Response {
        self.admin(Method::GET, &format!("/api/v1/links/{code}"))
            .send()
            .await
            .expect("get request")
    }

    /// `PATCH /api/v1/links/{code}` as admin.
    pub async fn patch_link(&self, code: &str, body: Value) -> Response {
        self.admin(Method::PATCH, &format!("/api/v1/links/{code}"))
            .json(&body)
            .send()
            .await
            .expect("patch request")
    }

    /// `DELETE /api/v1/links/{code}` as admin.
    pub async fn delete_link(&self, code: &str) -> Response {
        self.admin(Method::DELETE, &format!("/api/v1/links/{code}"))
            .send()
            .await
            .expect("delete request")
    }

    /// `POST /api/v1/links/batch` as admin.
    pub async fn batch(&self, items: Value) -> Response {
        self.admin(Method::POST, "/api/v1/links/batch")
            .json(&items)
            .send()
            .await
            .expect("batch request")
    }

    /// Asserts the server still answers its liveness probe.
    pub async fn assert_healthy(&self) {
        let health = self
            .anon(Method::GET, "/_health")
            .send()
            .await
            .expect("health");
        assert_eq!(health.status(), StatusCode::OK);
    }
}

/// The `code` field of a link object.
pub fn code_of(link: &Value) -> String {
    link["code"].as_str().expect("code").to_owned()
}

/// Reads a problem+json response, checking its content type and status.
pub async fn problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "unexpected status");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.expect("problem json");
    assert_eq!(body["status"], status.as_u16());
    assert!(body["title"].is_string() && body["detail"].is_string() && body["type"].is_string());
    body
}

/// Path of the built `shorty` binary.
pub fn shorty_bin() -> &'static str {
    env!("CARGO_BIN_EXE_shorty")
}
