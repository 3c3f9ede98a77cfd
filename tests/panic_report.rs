//! The panic reporting `main` installs with `sentry_dsn`, through the same
//! `telemetry::init`. A test binary of its own: the panic hook, the Sentry
//! hub and the global subscriber are process-wide.
//!
//! The server has no route that panics, so the handlers here are the
//! test's, behind the real `CatchPanicLayer` handler and request observer.

#[path = "api/receiver.rs"]
mod receiver;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use shorty::config::{Config, ConfigLayer};
use shorty::startup::Application;
use shorty::{api, telemetry};
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;

use receiver::{dsn, headline, level, Receiver, ENVELOPE_PATH};

/// `main`'s setup and shutdown around `run`, with Sentry reporting to
/// `dsn` and a fresh SQLite store.
fn as_main(dsn: String, run: impl FnOnce(Arc<api::AppState>)) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::resolve(ConfigLayer {
        listen: Some("127.0.0.1:0".into()),
        database_url: Some(format!("sqlite://{}", dir.path().join("t.db").display())),
        sentry_dsn: Some(dsn),
        ..ConfigLayer::default()
    })
    .unwrap();
    let telemetry = telemetry::init(&config, true).unwrap();
    assert!(!telemetry::traces_enabled(), "no OTLP endpoint, no spans");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(Application::build(config)).unwrap();
    run(app.state());
    drop(runtime);
    telemetry.finish();
}

/// Two requests to a panicking handler, on one thread with a
/// current-thread runtime like an HTTP thread of the server.
fn two_panicking_requests(state: Arc<api::AppState>) {
    let app = Router::new()
        .route("/boom/{n}", get(boom))
        .layer(CatchPanicLayer::custom(api::panicked))
        .layer(from_fn_with_state(
            Arc::clone(&state),
            api::observe::observe,
        ))
        .with_state(state);
    let http_thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for n in 1..=2 {
            let request = Request::get(format!("/boom/{n}"))
                .body(Body::empty())
                .unwrap();
            let response = runtime.block_on(app.clone().oneshot(request)).unwrap();
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        }
    });
    http_thread.join().expect("the panics were caught");
}

async fn boom(axum::extract::Path(n): axum::extract::Path<u32>) -> &'static str {
    panic!("handler panic 7f3a9c #{n}");
}

#[test]
fn panics_are_reported_once_each() {
    let (receiver, addr) = Receiver::start();
    as_main(dsn(addr), |state| {
        two_panicking_requests(state);
        let thread = std::thread::spawn(|| panic!("thread panic 5be21d"));
        assert!(thread.join().is_err());
    });

    // Delivered by now (the panic hook and `finish` flush); polled anyway.
    receiver.wait_for(ENVELOPE_PATH, Duration::from_secs(5), |r| r.len() >= 3);
    let events = receiver.sentry_events();
    let about = |needle: &str| -> Vec<&Value> {
        let found = events.iter().filter(|e| headline(e).contains(needle));
        found.collect()
    };
    for needle in [
        "handler panic 7f3a9c #1",
        "handler panic 7f3a9c #2",
        "thread panic 5be21d",
    ] {
        let reports = about(needle);
        assert_eq!(reports.len(), 1, "{needle}: {events:#?}");
        assert_eq!(level(reports[0]), "fatal");
    }
    // Nothing else: not the 500 the panic became, nor the request lines,
    // even as breadcrumbs of the second panic (on the same thread).
    assert_eq!(events.len(), 3, "{events:#?}");
    for event in &events {
        let text = event.to_string();
        assert!(!text.contains("a request handler panicked"), "{event:#}");
        assert!(!text.contains("shorty::http"), "{event:#}");
    }
}
