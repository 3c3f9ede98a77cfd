//! TLS to the shared services, as managed ones require (RDS enforces
//! `sslmode=require`, ElastiCache speaks `rediss://`): the real binary
//! against PostgreSQL over TLS and a Redis server that only speaks TLS,
//! with a private CA named by SSL_CERT_FILE; without that CA the Redis
//! certificate is refused, so the check is real.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Connection;

use crate::backend::{pg_admin_url, Backend, TestDb};
use crate::binary::{client, free_port, ServeOptions, ShortyProcess};

/// A CA and a certificate for 127.0.0.1 signed by it, made with openssl.
fn make_certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl (Debian's openssl package) is needed");
        assert!(output.status.success(), "openssl {args:?}: {output:?}");
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=shorty test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.pem",
    ]);
}

/// `redis-server` answering only TLS on a free port; killed on drop.
struct TlsRedis {
    child: Child,
    port: u16,
}

impl TlsRedis {
    fn start(dir: &Path) -> TlsRedis {
        let port = free_port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .args([
                "--tls-cert-file",
                "server.pem",
                "--tls-key-file",
                "server.key",
            ])
            .args(["--tls-ca-cert-file", "ca.pem", "--tls-auth-clients", "no"])
            .args(["--save", "", "--appendonly", "no"])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (installed by scripts/services)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server --tls-port did not listen"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        TlsRedis { child, port }
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether every connection to `database` (but the asker's) is encrypted,
/// and how many there are.
async fn encrypted_connections(database: &str) -> (bool, i64) {
    let mut conn = sqlx::PgConnection::connect(&pg_admin_url()).await.unwrap();
    let row: (Option<bool>, i64) = sqlx::query_as(
        "SELECT bool_and(s.ssl), count(*) FROM pg_stat_ssl s \
         JOIN pg_stat_activity a USING (pid) \
         WHERE a.datname = $1 AND a.pid <> pg_backend_pid()",
    )
    .bind(database)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    (row.0.unwrap_or(false), row.1)
}

async fn ready(server: &ShortyProcess) -> Value {
    let response = client()
        .get(format!("{}/readyz", server.address()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn postgres_and_redis_over_tls_with_a_private_ca() {
    let certs = tempfile::tempdir().unwrap();
    make_certificates(certs.path());
    let redis = TlsRedis::start(certs.path());
    let db = TestDb::on(Backend::Postgres);
    let database = url::Url::parse(&db.url).unwrap().path()[1..].to_owned();
    let db_url = format!("{}?sslmode=require", db.url);
    let redis_url = format!("rediss://127.0.0.1:{}", redis.port);
    let ca = certs.path().join("ca.pem").to_string_lossy().into_owned();

    let trusted = ShortyProcess::start_with(
        &db_url,
        ServeOptions {
            args: vec!["--redis-url".into(), redis_url.clone()],
            envs: vec![("SSL_CERT_FILE".into(), ca)],
            ..ServeOptions::default()
        },
    );
    let created = client()
        .post(format!("{}/api/v1/links", trusted.address()))
        .json(&json!({"url": "https://example.com/tls", "alias": "over-tls"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let followed = client()
        .get(format!("{}/over-tls", trusted.address()))
        .send()
        .await
        .unwrap();
    assert_eq!(followed.status(), StatusCode::FOUND);
    // The invalidation subscription may take a moment after start.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let readiness = ready(&trusted).await;
        if readiness.get("degraded").is_none() && readiness["checks"]["redis"] == "ok" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Redis over TLS stays degraded: {readiness}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (all_tls, count) = encrypted_connections(&database).await;
    assert!(
        count > 0 && all_tls,
        "{count} connections, all TLS: {all_tls}"
    );
    drop(trusted);

    // Without the CA, the Redis certificate is refused (shorty carries on
    // without Redis, and says so).
    let untrusting = ShortyProcess::start_with(
        &db_url,
        ServeOptions {
            args: vec!["--redis-url".into(), redis_url],
            ..ServeOptions::default()
        },
    );
    let readiness = ready(&untrusting).await;
    assert_ne!(readiness["checks"]["redis"], "ok", "{readiness}");
    let degraded = readiness["degraded"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        degraded.contains(&json!("redis")),
        "an untrusted Redis certificate was accepted: {readiness}"
    );
}
