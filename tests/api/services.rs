//! Real PostgreSQL and Redis for the scale-out tests: the shared servers
//! (with a database or key prefix per test), and private servers started
//! by a test on free ports, which it may stop and restart at will.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::backend::{
    postgres_reachable, redis_url, service_missing, unique_name, Backend, TestDb,
};
use crate::binary::{free_restart_port, wait_timeout};

/// Whether a Redis server answers PING at `url`.
pub fn redis_answers(url: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut conn = client
        .get_connection_with_timeout(Duration::from_secs(2))
        .map_err(|e| e.to_string())?;
    redis::cmd("PING")
        .query::<String>(&mut conn)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The shared Redis and a key prefix of this test's own, or `None` (a
/// failure in CI) when Redis is unreachable.
pub fn shared_redis() -> Option<(String, KeyPrefix)> {
    let url = redis_url();
    if let Err(e) = redis_answers(&url) {
        service_missing(&format!("Redis at {url}"), &e);
        return None;
    }
    Some((url.clone(), KeyPrefix::new(url)))
}

/// A key prefix of one test's own on the shared Redis; its keys are
/// deleted when it is dropped, so test runs leave nothing behind.
pub struct KeyPrefix {
    url: String,
    prefix: String,
}

impl KeyPrefix {
    /// A fresh prefix on the Redis at `url`.
    pub fn new(url: String) -> KeyPrefix {
        KeyPrefix {
            url,
            prefix: format!("{}:", unique_name("shorty_test")),
        }
    }
}

impl std::ops::Deref for KeyPrefix {
    type Target = str;

    fn deref(&self) -> &str {
        &self.prefix
    }
}

impl std::fmt::Display for KeyPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.prefix)
    }
}

impl Drop for KeyPrefix {
    fn drop(&mut self) {
        let Ok(client) = redis::Client::open(self.url.as_str()) else {
            return;
        };
        let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(2)) else {
            return;
        };
        let pattern = format!("{}*", self.prefix);
        let keys: Vec<String> = match redis::cmd("KEYS").arg(&pattern).query(&mut conn) {
            Ok(keys) => keys,
            Err(_) => return,
        };
        for chunk in keys.chunks(1000) {
            let _ = redis::cmd("DEL").arg(chunk).query::<()>(&mut conn);
        }
    }
}

/// A fresh database on the shared PostgreSQL, or `None` (a failure in CI)
/// when it is unreachable.
pub fn shared_postgres() -> Option<TestDb> {
    if let Err(e) = postgres_reachable() {
        service_missing("PostgreSQL", &e);
        return None;
    }
    Some(TestDb::on(Backend::Postgres))
}

/// Reads one key from Redis.
pub fn redis_get(url: &str, key: &str) -> Option<String> {
    let client = redis::Client::open(url).expect("redis url");
    let mut conn = client
        .get_connection_with_timeout(Duration::from_secs(2))
        .expect("redis connection");
    redis::cmd("GET").arg(key).query(&mut conn).expect("GET")
}

/// Waits up to `limit` for `port` on 127.0.0.1 to accept connections.
fn wait_for_port(port: u16, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A `redis-server` of the test's own, keeping nothing on disk.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts one on a free port; `None` (a failure in CI) without
    /// `redis-server`.
    pub fn start() -> Option<PrivateRedis> {
        let mut redis = PrivateRedis {
            port: free_restart_port(),
            child: None,
        };
        if let Err(e) = redis.resume() {
            service_missing("redis-server", &e);
            return None;
        }
        Some(redis)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server again on the same port, empty.
    pub fn resume(&mut self) -> Result<(), String> {
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no", "--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run redis-server: {e}"))?;
        self.child = Some(child);
        if wait_for_port(self.port, Duration::from_secs(10)) {
            Ok(())
        } else {
            Err("redis-server did not listen within 10 s".to_owned())
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing answers.
    pub fn freeze(&self) {
        self.signal("STOP");
    }

    /// Lets a frozen server go on (SIGCONT), with its data intact.
    pub fn thaw(&self) {
        self.signal("CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("redis-server is running");
        crate::binary::send_signal(child.id(), signal);
    }

    /// Kills the server: everything in it is lost.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = wait_timeout(&mut child, Duration::from_secs(10));
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A PostgreSQL cluster of the test's own: `initdb` into a temporary
/// directory and `pg_ctl` on a free port, run as the `postgres` user when
/// the tests run as root (PostgreSQL refuses to run as root).
pub struct PrivatePostgres {
    pub port: u16,
    dir: TempDir,
    bin: PathBuf,
}

impl PrivatePostgres {
    /// Initializes and starts a cluster; `None` (a failure in CI) when the
    /// PostgreSQL server programs are not installed.
    pub fn start() -> Option<PrivatePostgres> {
        let Some(bin) = postgres_bin_dir() else {
            service_missing("PostgreSQL server programs (initdb, pg_ctl)", "not found");
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        if is_root() {
            run_checked(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(dir.path()),
            );
        }
        let cluster = PrivatePostgres {
            port: free_restart_port(),
            dir,
            bin,
        };
        let data = cluster.data_dir();
        cluster.run_as_postgres(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        cluster.resume();
        Some(cluster)
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// Starts the cluster (again), waiting until it accepts connections.
    pub fn resume(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {}",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        let data = self.data_dir();
        self.run_as_postgres(
            "pg_ctl",
            &[
                "-D", &data, "-o", &options, "-l", &log, "-w", "-t", "30", "start",
            ],
        );
    }

    /// Stops the cluster at once, as a crash would (`-m immediate`).
    pub fn stop(&self) {
        let data = self.data_dir();
        self.run_as_postgres("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }

    fn run_as_postgres(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        run_checked(command.args(args).current_dir(self.dir.path()));
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data_dir();
        if Path::new(&data).join("postmaster.pid").exists() {
            self.stop();
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Where `initdb` and `pg_ctl` live: on PATH, or Debian's versioned folder.
fn postgres_bin_dir() -> Option<PathBuf> {
    let on_path = Command::new("sh")
        .args(["-c", "command -v pg_ctl"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .map(PathBuf::from)
        .and_then(|p| p.parent().map(Path::to_path_buf));
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|versions| {
            versions
                .filter_map(Result::ok)
                .map(|v| v.path().join("bin"))
                .filter(|bin| bin.join("initdb").exists())
                .max()
        });
    on_path.filter(|bin| bin.join("initdb").exists()).or(debian)
}

fn run_checked(command: &mut Command) {
    let output = command.output().expect("run a PostgreSQL admin command");
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Waits until `server` says, in `/readyz`, that it is subscribed to
/// cross-instance invalidations, so its cache entries live for minutes and
/// a change seen within a second must have come through the channel.
pub async fn wait_until_subscribed(
    client: &reqwest::Client,
    server: &crate::binary::ShortyProcess,
) {
    let started = Instant::now();
    loop {
        let response = client
            .get(format!("{}/readyz", server.address()))
            .send()
            .await
            .expect("readyz");
        let body: serde_json::Value = response.json().await.expect("readyz body");
        if body["checks"]["invalidation"] == "subscribed" {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "never subscribed: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Status and `Location` of `GET /{code}`.
pub async fn redirect_of(
    client: &reqwest::Client,
    server: &crate::binary::ShortyProcess,
    code: &str,
) -> (u16, String) {
    let response = client
        .get(format!("{}/{code}", server.address()))
        .send()
        .await
        .expect("redirect request");
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status().as_u16(), location)
}

/// Polls `GET /{code}` on `server` until `accept` holds; returns how long
/// after `since` that was, failing once `limit` has passed since then.
pub async fn seen_within(
    client: &reqwest::Client,
    server: &crate::binary::ShortyProcess,
    code: &str,
    (since, limit): (Instant, Duration),
    accept: impl Fn(u16, &str) -> bool,
) -> Duration {
    let started = since;
    loop {
        let (status, location) = redirect_of(client, server, code).await;
        if accept(status, &location) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{code} on port {} still {status} {location} after {limit:?}",
            server.port
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
