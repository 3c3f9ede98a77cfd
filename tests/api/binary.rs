//! A harness for the real `shorty` binary: [`ShortyProcess`] serves on a
//! free port and is always killed on drop; [`cli`] runs one-shot commands.
//! Every wait is bounded, every child is started with a cleared
//! environment and a fresh temporary working directory (so no stray
//! `./shorty.toml` is read), and output goes to files for diagnostics.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::helpers::{shorty_bin, ADMIN_TOKEN};

/// Longest a server may take to answer its first health check.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Default limit for one-shot commands.
pub const CLI_TIMEOUT: Duration = Duration::from_secs(60);

/// A port that was free a moment ago (bind port 0, read it, release it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// A free port below the kernel's ephemeral range, for a server that a test
/// stops and starts again on the same port. A port from [`free_port`] can be
/// handed to another test's listener or to an outgoing connection while the
/// server is down, and the restart then fails (seen once as PostgreSQL's
/// "could not start server").
pub fn free_restart_port() -> u16 {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    if ephemeral_low > 12_000 {
        for _ in 0..1_000 {
            let port = ephemeral_low - 1 - rand::random::<u16>() % 10_000;
            if TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return port;
            }
        }
    }
    free_port()
}

/// `sqlite://PATH` for a database file.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Sends `signal` (`TERM`, `KILL`, …) to `pid` with kill(1).
pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run kill(1)");
    assert!(status.success(), "kill -{signal} {pid} failed: {status}");
}

/// The status of `GET path` on 127.0.0.1:`port`, or `None` when the
/// connection or the request fails. Takes at most a few seconds.
pub fn http_status(port: u16, path: &str) -> Option<u16> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    let head = std::str::from_utf8(&head).ok()?;
    head.strip_prefix("HTTP/1.1 ")?.trim().parse().ok()
}

/// Waits up to `timeout` for `child` to exit.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("poll child") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// An HTTP client for tests against server processes: redirects are
/// returned, not followed, and no request waits more than 10 s.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// How to start a server beyond the database and the fixed flags.
#[derive(Default)]
pub struct ServeOptions {
    /// Extra arguments, after the fixed ones.
    pub args: Vec<String>,
    /// Environment variables (the rest of the environment is cleared).
    pub envs: Vec<(String, String)>,
    /// Files written into the working directory first, e.g. `shorty.toml`.
    pub files: Vec<(String, String)>,
    /// Leave out `--admin-token` (so config layers can set it).
    pub no_admin_token: bool,
}

/// A running `shorty serve`; killed (SIGKILL) on drop if still running.
pub struct ShortyProcess {
    child: Option<Child>,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    /// Its working directory, which also holds `stdout.log` and `stderr.log`.
    pub dir: TempDir,
}

#[allow(dead_code)]
impl ShortyProcess {
    /// `shorty serve --listen 127.0.0.1:PORT --database-url DB
    /// --admin-token T --log-format json EXTRA…`, waiting until
    /// `/_health` answers 200.
    pub fn start(db_url: &str, extra_args: &[&str]) -> ShortyProcess {
        let options = ServeOptions {
            args: extra_args.iter().map(|a| a.to_string()).collect(),
            ..ServeOptions::default()
        };
        ShortyProcess::start_with(db_url, options)
    }

    /// Like [`ShortyProcess::start`], with environment and files too. A
    /// lost race for the free port is retried.
    pub fn start_with(db_url: &str, options: ServeOptions) -> ShortyProcess {
        let mut last_logs = String::new();
        for _ in 0..3 {
            match ShortyProcess::try_start(db_url, &options) {
                Ok(process) => return process,
                Err(logs) if logs.contains("binding") => last_logs = logs,
                Err(logs) => panic!("shorty serve did not become healthy:\n{logs}"),
            }
        }
        panic!("shorty serve could not bind a port:\n{last_logs}");
    }

    fn try_start(db_url: &str, options: &ServeOptions) -> Result<ShortyProcess, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in &options.files {
            std::fs::write(dir.path().join(name), text).expect("write file");
        }
        let port = free_port();
        let mut args = vec![
            "serve".to_owned(),
            "--listen".to_owned(),
            format!("127.0.0.1:{port}"),
            "--database-url".to_owned(),
            db_url.to_owned(),
        ];
        if !options.args.iter().any(|a| a == "--log-format") {
            args.extend(["--log-format".to_owned(), "json".to_owned()]);
        }
        if !options.no_admin_token {
            args.extend(["--admin-token".to_owned(), ADMIN_TOKEN.to_owned()]);
        }
        if !options.args.iter().any(|a| a == "--create-rate") {
            // Tests create links far faster than the default 10/s per IP.
            let unlimited = [
                "--create-rate",
                "1000000000",
                "--create-burst",
                "4000000000",
            ];
            args.extend(unlimited.map(str::to_owned));
        }
        args.extend(options.args.iter().cloned());
        let child = Command::new(shorty_bin())
            .env_clear()
            .envs(options.envs.iter().map(|(k, v)| (k, v)))
            .args(&args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(File::create(dir.path().join("stdout.log")).expect("stdout.log"))
            .stderr(File::create(dir.path().join("stderr.log")).expect("stderr.log"))
            .spawn()
            .expect("spawn shorty serve");
        let mut process = ShortyProcess {
            child: Some(child),
            port,
            dir,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if http_status(port, "/_health") == Some(200) {
                return Ok(process);
            }
            if let Some(status) = process.try_wait() {
                return Err(format!("exited with {status}\n{}", process.logs()));
            }
            if Instant::now() >= deadline {
                process.kill();
                return Err(format!(
                    "no healthy answer within {START_TIMEOUT:?}\n{}",
                    process.logs()
                ));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("process handle").id()
    }

    /// Sends `signal` (`TERM`, `KILL`, …) to the process.
    pub fn signal(&self, signal: &str) {
        send_signal(self.pid(), signal);
    }

    /// SIGKILL, then reaps the process.
    pub fn kill(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = wait_timeout(child, Duration::from_secs(10));
        }
    }

    /// The exit status, if it has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().expect("poll child"))
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        wait_timeout(self.child.as_mut().expect("process handle"), timeout)
    }

    /// Everything it wrote so far, stdout then stderr.
    pub fn logs(&self) -> String {
        let read =
            |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            read("stdout.log"),
            read("stderr.log")
        )
    }
}

impl Drop for ShortyProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
                let _ = wait_timeout(&mut child, Duration::from_secs(10));
            }
        }
        if std::thread::panicking() {
            eprintln!("shorty serve on port {} logs:\n{}", self.port, self.logs());
        }
    }
}

/// Where a one-shot command's stdin comes from.
enum Input {
    Null,
    Bytes(Vec<u8>),
    File(PathBuf),
}

/// A one-shot `shorty` command; build with [`cli`], run with [`CliRun::run`].
pub struct CliRun {
    args: Vec<String>,
    envs: Vec<(String, String)>,
    cwd: Option<PathBuf>,
    stdin: Input,
    timeout: Duration,
}

/// What a one-shot command did.
#[derive(Debug)]
pub struct CliOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

#[allow(dead_code)]
impl CliOutput {
    /// The exit code; panics if a signal ended the process.
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal: {self:?}"))
    }

    /// Panics, showing the output, unless the exit code is `expected`.
    pub fn assert_code(&self, expected: i32) -> &CliOutput {
        assert_eq!(
            self.status.code(),
            Some(expected),
            "unexpected exit status\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// stdout and stderr together.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// `shorty ARGS…`, with an empty environment and a fresh working directory.
pub fn cli<S: AsRef<str>>(args: &[S]) -> CliRun {
    CliRun {
        args: args.iter().map(|a| a.as_ref().to_owned()).collect(),
        envs: Vec::new(),
        cwd: None,
        stdin: Input::Null,
        timeout: CLI_TIMEOUT,
    }
}

/// Runs `shorty ARGS…` with `stdin` (or none) and the default timeout.
#[allow(dead_code)]
pub fn run<S: AsRef<str>>(args: &[S], stdin: Option<&[u8]>) -> CliOutput {
    let mut command = cli(args);
    if let Some(bytes) = stdin {
        command = command.stdin_bytes(bytes);
    }
    command.run()
}

#[allow(dead_code)]
impl CliRun {
    /// Adds more arguments.
    pub fn args<S: AsRef<str>>(mut self, args: &[S]) -> CliRun {
        self.args.extend(args.iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets one environment variable.
    pub fn env(mut self, key: &str, value: &str) -> CliRun {
        self.envs.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Runs in `dir` instead of a fresh empty directory.
    pub fn cwd(mut self, dir: &Path) -> CliRun {
        self.cwd = Some(dir.to_owned());
        self
    }

    /// Feeds `bytes` to stdin.
    pub fn stdin_bytes(mut self, bytes: &[u8]) -> CliRun {
        self.stdin = Input::Bytes(bytes.to_vec());
        self
    }

    /// Feeds the file at `path` to stdin.
    pub fn stdin_file(mut self, path: &Path) -> CliRun {
        self.stdin = Input::File(path.to_owned());
        self
    }

    /// Kills the command and fails the test after `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> CliRun {
        self.timeout = timeout;
        self
    }

    /// Runs the command to completion (bounded by the timeout).
    pub fn run(self) -> CliOutput {
        let scratch = tempfile::tempdir().expect("temp dir");
        let out_path = scratch.path().join("stdout");
        let err_path = scratch.path().join("stderr");
        let cwd = self
            .cwd
            .clone()
            .unwrap_or_else(|| scratch.path().join("cwd"));
        std::fs::create_dir_all(&cwd).expect("working directory");
        let stdin = match &self.stdin {
            Input::Null => Stdio::null(),
            Input::Bytes(_) => Stdio::piped(),
            Input::File(path) => Stdio::from(File::open(path).expect("stdin file")),
        };
        let child = Command::new(shorty_bin())
            .env_clear()
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .args(&self.args)
            .current_dir(&cwd)
            .stdin(stdin)
            .stdout(File::create(&out_path).expect("stdout file"))
            .stderr(File::create(&err_path).expect("stderr file"))
            .spawn()
            .expect("spawn shorty");
        let mut guard = KillOnDrop(child);
        let writer = match (&self.stdin, guard.0.stdin.take()) {
            (Input::Bytes(bytes), Some(mut pipe)) => {
                let bytes = bytes.clone();
                // A child that stops reading gets EPIPE here, not a hang.
                Some(std::thread::spawn(move || {
                    let _ = pipe.write_all(&bytes);
                }))
            }
            _ => None,
        };
        let status = wait_timeout(&mut guard.0, self.timeout);
        if let Some(writer) = writer {
            if status.is_some() {
                let _ = writer.join();
            }
        }
        let stdout =
            String::from_utf8_lossy(&std::fs::read(&out_path).unwrap_or_default()).into_owned();
        let stderr =
            String::from_utf8_lossy(&std::fs::read(&err_path).unwrap_or_default()).into_owned();
        match status {
            Some(status) => CliOutput {
                status,
                stdout,
                stderr,
            },
            None => panic!(
                "shorty {:?} did not finish within {:?}\nstderr: {stderr}",
                self.args, self.timeout
            ),
        }
    }
}

/// Kills a child that is still running when dropped (a failed test).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = wait_timeout(&mut self.0, Duration::from_secs(10));
        }
    }
}

#[test]
fn a_started_server_is_healthy_and_killed_on_drop() {
    let db = crate::backend::TestDb::fresh();
    let server = ShortyProcess::start(&db.url, &[]);
    assert_eq!(http_status(server.port, "/_health"), Some(200));
    assert_eq!(http_status(server.port, "/readyz"), Some(200));
    let (pid, port) = (server.pid(), server.port);
    assert!(
        server.logs().contains("shorty listening"),
        "{}",
        server.logs()
    );
    drop(server);
    let alive = Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!alive.success(), "pid {pid} still exists after drop");
    assert_eq!(http_status(port, "/_health"), None);
}

#[test]
fn cli_runs_report_exit_code_stdout_and_stderr() {
    let version = run(&["--version"], None);
    version.assert_code(0);
    assert!(version.stdout.starts_with("shorty "), "{version:?}");
    let unknown = run(&["no-such-command"], None);
    assert_eq!(unknown.code(), 2);
    assert!(unknown.stderr.contains("no-such-command"), "{unknown:?}");
    // stdin reaches the command: one import line, imported.
    let db = crate::backend::TestDb::fresh();
    let url = db.url.clone();
    let line = br#"{"code":"via-stdin","url":"https://example.com/"}"#;
    let import = run(&["--database-url", &url, "import"], Some(line));
    import.assert_code(0);
    let get = run(&["--database-url", &url, "get", "via-stdin"], None);
    get.assert_code(0);
    assert!(get.stdout.contains("https://example.com/"), "{get:?}");
}

#[test]
#[should_panic(expected = "did not finish within")]
fn cli_runs_are_bounded_by_their_timeout() {
    let db = tempfile::tempdir().unwrap();
    let url = sqlite_url(&db.path().join("t.db"));
    cli(&["serve", "--listen", "127.0.0.1:0", "--database-url", &url])
        .timeout(Duration::from_millis(1500))
        .run();
}
