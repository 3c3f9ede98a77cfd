//! Which store the suite runs against, and a fresh database per test.
//!
//! `TEST_BACKEND=sqlite` (the default) gives each test its own SQLite file;
//! `TEST_REDIS=1` adds Redis to every in-process test server;
//! `TEST_BACKEND=postgres` gives each test its own freshly created database
//! on the server at `TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped when the test
//! ends. Redis tests use `TEST_REDIS_URL` (default `redis://127.0.0.1:6379`)
//! with a key prefix of their own. With `CI=true`, an unreachable service
//! fails the test; elsewhere the tests that need it say so and skip.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sqlx::Connection;
use tempfile::TempDir;

/// The store under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backend chosen by `TEST_BACKEND`.
pub fn backend() -> Backend {
    match std::env::var("TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("TEST_BACKEND must be sqlite or postgres, not {other:?}"),
    }
}

/// Whether `TEST_REDIS=1` asks for every test server to use Redis too
/// (with a key prefix of its own).
pub fn with_redis() -> bool {
    std::env::var("TEST_REDIS").is_ok_and(|v| v == "1")
}

/// The PostgreSQL server's maintenance database, used to create and drop
/// per-test databases.
pub fn pg_admin_url() -> String {
    std::env::var("TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// The shared Redis server.
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A name no other test, in this run or any other, is using.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}_{:08x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    )
}

/// Whether the suite runs in CI, where a missing service is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Panics in CI; elsewhere explains the skip. Returns `false` so callers
/// can `return` on it.
pub fn service_missing(what: &str, error: &str) -> bool {
    assert!(
        !in_ci(),
        "{what} is required in CI but unreachable: {error}"
    );
    eprintln!("SKIPPED: {what} is unreachable ({error}); start it to run this test");
    false
}

/// Runs `work` to completion on a runtime of its own, on another thread,
/// so it can be called from sync code, async tests and `Drop` alike.
fn block_on<T: Send + 'static>(work: impl std::future::Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(work)
    })
    .join()
    .expect("database admin thread")
}

/// Runs one statement on the PostgreSQL maintenance database.
fn pg_admin(sql: String) -> Result<(), String> {
    block_on(async move {
        let connect = sqlx::PgConnection::connect(&pg_admin_url());
        let mut conn = tokio::time::timeout(Duration::from_secs(5), connect)
            .await
            .map_err(|_| "connect timed out".to_owned())?
            .map_err(|e| e.to_string())?;
        sqlx::query(&sql)
            .execute(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        let _ = conn.close().await;
        Ok(())
    })
}

/// Whether the PostgreSQL server answers.
pub fn postgres_reachable() -> Result<(), String> {
    pg_admin("SELECT 1".to_owned())
}

/// A database of its own for one test, removed when dropped.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    _dir: TempDir,
    pg_name: Option<String>,
}

impl TestDb {
    /// A fresh, empty database on the backend under test.
    pub fn fresh() -> TestDb {
        TestDb::on(backend())
    }

    /// A fresh, empty database on `backend`.
    pub fn on(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.path().join("shorty.db").display()),
                backend,
                _dir: dir,
                pg_name: None,
            },
            Backend::Postgres => {
                let name = unique_name("shorty_test");
                if let Err(e) = pg_admin(format!("CREATE DATABASE {name}")) {
                    panic!("cannot create test database on {}: {e}", pg_admin_url());
                }
                let mut url = url::Url::parse(&pg_admin_url()).expect("TEST_PG_URL is a URL");
                url.set_path(&name);
                TestDb {
                    url: url.to_string(),
                    backend,
                    _dir: dir,
                    pg_name: Some(name),
                }
            }
        }
    }
}

impl TestDb {
    /// The database file, for SQLite.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        (self.backend == Backend::Sqlite).then(|| self._dir.path().join("shorty.db"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            // FORCE: a server under test may still hold connections.
            let _ = pg_admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}
