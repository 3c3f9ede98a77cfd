//! The store-admin commands of the real binary against a SQLite file:
//! `migrate`, `create`, `get`, `delete`, `export` and `import`, including a
//! 100,000-link import/export round trip with progress on stderr.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use tempfile::TempDir;

use crate::backend::TestDb;
use crate::binary::{cli, CliOutput, CliRun};

/// The base URL every command here is run with.
const BASE_URL: &str = "https://sho.rt";
/// Limit for the 100k-link import and export commands.
const BIG_TIMEOUT: Duration = Duration::from_secs(180);

/// A fresh store on the backend under test, plus a working directory.
pub(crate) struct Db {
    pub(crate) dir: TempDir,
    pub(crate) store: TestDb,
}

impl Db {
    pub(crate) fn new() -> Db {
        let dir = tempfile::tempdir().expect("temp dir");
        Db {
            dir,
            store: TestDb::fresh(),
        }
    }

    fn url(&self) -> String {
        self.store.url.clone()
    }

    /// `shorty --database-url DB --base-url … --log-format json ARGS…`.
    pub(crate) fn cmd(&self, args: &[&str]) -> CliRun {
        cli(&[
            "--database-url",
            &self.url(),
            "--base-url",
            BASE_URL,
            "--log-format",
            "json",
        ])
        .args(args)
    }

    pub(crate) fn run(&self, args: &[&str]) -> CliOutput {
        self.cmd(args).run()
    }

    /// `get CODE`, expecting success; the link object.
    pub(crate) fn get(&self, code: &str) -> Value {
        let output = self.run(&["get", code]);
        output.assert_code(0);
        serde_json::from_str(&output.stdout).expect("get prints a link object")
    }

    /// `export`, expecting success.
    pub(crate) fn export(&self) -> CliOutput {
        let output = self.cmd(&["export"]).timeout(BIG_TIMEOUT).run();
        output.assert_code(0);
        output
    }

    /// `import` with `path` as stdin.
    fn import_file(&self, path: &Path) -> CliOutput {
        self.cmd(&["import"])
            .stdin_file(path)
            .timeout(BIG_TIMEOUT)
            .run()
    }

    /// `import` with `text` as stdin.
    fn import(&self, text: &str) -> CliOutput {
        self.cmd(&["import"]).stdin_bytes(text.as_bytes()).run()
    }
}

/// Every line of `export` output as a JSON object.
pub(crate) fn exported(output: &CliOutput) -> Vec<Value> {
    output
        .stdout
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("export line is not JSON ({e}): {line:?}"));
            assert!(value.is_object(), "export line is not an object: {line}");
            value
        })
        .collect()
}

/// code → url of exported links.
fn code_urls(links: &[Value]) -> BTreeMap<String, String> {
    links
        .iter()
        .map(|l| (str_field(l, "code"), str_field(l, "url")))
        .collect()
}

pub(crate) fn str_field(link: &Value, field: &str) -> String {
    link[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing in {link}"))
        .to_owned()
}

/// The stderr lines that are not JSON log records.
pub(crate) fn messages(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| !l.trim_start().starts_with('{'))
        .collect()
}

/// (imported, already present, rejected) from import's summary line.
pub(crate) fn import_summary(output: &CliOutput) -> (u64, u64, u64) {
    let line = messages(&output.stderr)
        .into_iter()
        .rfind(|l| l.contains("imported") && l.contains("already present"))
        .unwrap_or_else(|| panic!("no summary line on stderr:\n{}", output.stderr));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    assert!(numbers.len() >= 3, "summary without counts: {line}");
    (numbers[0], numbers[1], numbers[2])
}

/// Asserts stderr carries a progress line for every 10,000 links up to
/// `total` besides the summary (`summary_marker` picks the summary out).
fn assert_progress(stderr: &str, total: u64, summary_marker: &str) {
    let progress: Vec<&str> = messages(stderr)
        .into_iter()
        .filter(|l| l.contains("links") && !l.contains(summary_marker))
        .collect();
    for n in (10_000..=total).step_by(10_000) {
        assert!(
            progress.iter().any(|l| l.contains(&format!("{n} links"))),
            "no progress line for {n} links; progress lines: {progress:#?}"
        );
    }
}

#[test]
fn migrate_creates_the_schema_and_can_run_again() {
    let db = Db::new();
    let file = db.store.sqlite_path();
    if let Some(path) = &file {
        assert!(!path.exists());
    }
    let first = db.run(&["migrate"]);
    first.assert_code(0);
    if let Some(path) = &file {
        assert!(path.exists(), "migrate did not create {path:?}");
    }
    assert!(first.stdout.is_empty(), "migrate printed: {}", first.stdout);
    db.run(&["migrate"]).assert_code(0);
    let empty = db.export();
    assert_eq!(empty.stdout, "", "a fresh store exports nothing");

    // The store may come from shorty.toml in the working directory too.
    let other = Db::new();
    std::fs::write(
        other.dir.path().join("shorty.toml"),
        format!("database_url = \"{}\"\n", other.url()),
    )
    .unwrap();
    cli(&["migrate", "--log-format", "json"])
        .cwd(other.dir.path())
        .run()
        .assert_code(0);
    let exported = cli(&["export", "--log-format", "json"])
        .cwd(other.dir.path())
        .run();
    exported.assert_code(0);
    assert_eq!(exported.stdout, "", "export of the migrated store");
    if let Some(path) = other.store.sqlite_path() {
        assert!(path.exists(), "migrate ignored shorty.toml");
    }
}

#[test]
fn create_get_and_delete_work_against_the_configured_store() {
    let db = Db::new();

    // create (store given by flag) prints the link object.
    let created = db.run(&["create", "https://example.com/one?x=1"]);
    created.assert_code(0);
    let link: Value = serde_json::from_str(&created.stdout).expect("create prints JSON");
    let code = str_field(&link, "code");
    assert_eq!(code.len(), 7, "{link}");
    assert!(code.bytes().all(|b| b.is_ascii_alphanumeric()), "{link}");
    assert_eq!(link["url"], "https://example.com/one?x=1");
    assert_eq!(link["short_url"], format!("{BASE_URL}/{code}"));
    assert_eq!(link["clicks"], 0);
    assert_eq!(link["redirect_status"], 302);
    assert_eq!(link["expires_at"], Value::Null);
    assert_eq!(link["max_clicks"], Value::Null);
    assert!(str_field(&link, "created_at").ends_with('Z'), "{link}");

    // create --alias, with the store from the environment.
    let aliased = cli(&[
        "create",
        "https://example.com/two",
        "--alias",
        "my-alias",
        "--base-url",
        BASE_URL,
    ])
    .env("SHORTY_DATABASE_URL", &db.url())
    .run();
    aliased.assert_code(0);
    let alias: Value = serde_json::from_str(&aliased.stdout).unwrap();
    assert_eq!(alias["code"], "my-alias");
    assert_eq!(alias["url"], "https://example.com/two");
    assert_eq!(alias["short_url"], format!("{BASE_URL}/my-alias"));

    // get, with the store from shorty.toml: the same object create printed.
    std::fs::write(
        db.dir.path().join("shorty.toml"),
        format!(
            "database_url = \"{}\"\nbase_url = \"{BASE_URL}\"\n",
            db.url()
        ),
    )
    .unwrap();
    let fetched = cli(&["get", &code]).cwd(db.dir.path()).run();
    fetched.assert_code(0);
    assert_eq!(
        serde_json::from_str::<Value>(&fetched.stdout).unwrap(),
        link
    );
    assert_eq!(db.get("my-alias"), alias);

    // Failures: non-zero exit, a message on stderr, nothing on stdout.
    let failures = [
        (
            vec!["create", "https://example.com/dup", "--alias", "my-alias"],
            "taken",
        ),
        (vec!["create", "javascript:alert(1)"], "url"),
        (
            vec!["create", "https://example.com/r", "--alias", "api"],
            "alias",
        ),
        (vec!["get", "nosuch1"], "no link"),
        (vec!["delete", "nosuch1"], "no link"),
    ];
    for (args, message) in failures {
        let output = db.run(&args);
        assert_ne!(output.code(), 0, "{args:?} succeeded: {}", output.stdout);
        assert!(
            output.stdout.is_empty(),
            "{args:?} printed {}",
            output.stdout
        );
        assert!(
            output.stderr.to_lowercase().contains(message),
            "{args:?}: stderr does not mention {message:?}: {}",
            output.stderr
        );
    }
    assert_eq!(db.get("my-alias")["url"], "https://example.com/two");

    // delete; afterwards get reports the link as deleted.
    db.run(&["delete", &code]).assert_code(0);
    let gone = db.run(&["get", &code]);
    assert_ne!(gone.code(), 0, "get of a deleted link succeeded");
    assert!(gone.stdout.is_empty());
    assert!(
        gone.stderr.to_lowercase().contains("deleted"),
        "stderr: {}",
        gone.stderr
    );
    let again = db.run(&["delete", &code]);
    assert_ne!(again.code(), 0, "deleting twice succeeded");

    // Settings other than the store apply to the commands too.
    let configured = cli(&["create", "https://example.com/cfg", "--code-length", "9"])
        .env("SHORTY_DATABASE_URL", &db.url())
        .env("SHORTY_REDIRECT_STATUS", "307")
        .env("SHORTY_BASE_URL", "https://other.example")
        .run();
    configured.assert_code(0);
    let configured: Value = serde_json::from_str(&configured.stdout).unwrap();
    let configured_code = str_field(&configured, "code");
    assert_eq!(configured_code.len(), 9, "{configured}");
    assert_eq!(configured["redirect_status"], 307);
    assert_eq!(
        configured["short_url"],
        format!("https://other.example/{configured_code}")
    );
    db.run(&["delete", &configured_code]).assert_code(0);

    // The deleted code is not exported, and not handed out again.
    let links = exported(&db.export());
    assert_eq!(links, vec![alias]);
    let fresh = db.run(&["create", "https://example.com/three"]);
    fresh.assert_code(0);
    let fresh: Value = serde_json::from_str(&fresh.stdout).unwrap();
    assert_ne!(str_field(&fresh, "code"), code, "a deleted code was reused");
}

/// One input line of the big round trip, with some optional fields.
fn big_line(i: u64) -> Value {
    let mut link = Map::new();
    link.insert("code".into(), json!(format!("k{i}")));
    link.insert(
        "url".into(),
        json!(format!(
            "https://example.com/items/{i}?ref=import&n={}",
            i % 97
        )),
    );
    if i.is_multiple_of(2) {
        let created = format!(
            "2026-01-{:02}T{:02}:{:02}:{:02}Z",
            1 + i / 86_400,
            (i / 3_600) % 24,
            (i / 60) % 60,
            i % 60
        );
        link.insert("created_at".into(), json!(created));
    }
    if i.is_multiple_of(5) {
        link.insert("max_clicks".into(), json!(10 + i % 3));
        link.insert("clicks".into(), json!(i % 4));
    }
    if i.is_multiple_of(7) {
        link.insert("redirect_status".into(), json!(301));
    }
    if i.is_multiple_of(11) {
        link.insert("expires_at".into(), json!("2099-12-31T23:59:59Z"));
    }
    if i.is_multiple_of(13) {
        // short_url is derived from base_url; an imported one is ignored.
        link.insert(
            "short_url".into(),
            json!(format!("https://old.example/k{i}")),
        );
    }
    Value::Object(link)
}

#[test]
fn import_and_export_round_trip_100000_links() {
    const TOTAL: u64 = 100_000;
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap();
    let input_path = work.path().join("input.jsonl");
    let input: Vec<Value> = (0..TOTAL).map(big_line).collect();
    let mut text = String::with_capacity(16 * 1024 * 1024);
    for line in &input {
        text.push_str(&line.to_string());
        text.push('\n');
    }
    std::fs::write(&input_path, text).unwrap();

    // Import into A.
    let a = Db::new();
    let imported = a.import_file(&input_path);
    imported.assert_code(0);
    assert!(imported.stdout.is_empty(), "import wrote to stdout");
    assert_eq!(import_summary(&imported), (TOTAL, 0, 0));
    assert_progress(&imported.stderr, TOTAL, "already present");

    // Export A: every link, in input order, fields preserved.
    let export_a = a.export();
    assert_progress(&export_a.stderr, TOTAL, "\u{0}");
    let links = exported(&export_a);
    assert_eq!(links.len(), TOTAL as usize, "exported line count");
    let expected: BTreeMap<String, String> = input
        .iter()
        .map(|l| (str_field(l, "code"), str_field(l, "url")))
        .collect();
    assert_eq!(
        code_urls(&links),
        expected,
        "code → url after import/export"
    );
    for (i, (line, link)) in input.iter().zip(&links).enumerate() {
        assert_eq!(link["code"], line["code"], "export order at line {i}");
        assert_eq!(
            link["short_url"],
            format!("{BASE_URL}/{}", str_field(line, "code"))
        );
        for field in ["created_at", "expires_at", "max_clicks"] {
            if let Some(given) = line.get(field) {
                assert_eq!(&link[field], given, "{field} of {link}");
            } else if field != "created_at" {
                assert_eq!(link[field], Value::Null, "{field} of {link}");
            }
        }
        assert_eq!(link["clicks"], *line.get("clicks").unwrap_or(&json!(0)));
        let status = line.get("redirect_status").cloned().unwrap_or(json!(302));
        assert_eq!(link["redirect_status"], status, "{link}");
    }

    // Import A's export into B; B's export is byte for byte A's.
    let export_path = work.path().join("a.jsonl");
    std::fs::write(&export_path, &export_a.stdout).unwrap();
    let b = Db::new();
    let imported_b = b.import_file(&export_path);
    imported_b.assert_code(0);
    assert_eq!(import_summary(&imported_b), (TOTAL, 0, 0));
    let export_b = b.export();
    assert!(
        export_a.stdout == export_b.stdout,
        "exports of A and B differ ({} vs {} bytes)",
        export_a.stdout.len(),
        export_b.stdout.len()
    );
    eprintln!(
        "100k round trip took {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn import_reports_bad_lines_by_number_skips_them_and_exits_1() {
    let input = [
        r#"{"code":"good-1","url":"https://example.com/1"}"#,
        r#"this is not json"#,
        r#"{"code":"good-2","url":"https://example.com/2","clicks":5}"#,
        r#"{"code":"no-url"}"#,
        r#"{"code":"bad code","url":"https://example.com/x"}"#,
        r#"{"code":"evil","url":"javascript:alert(1)"}"#,
        "",
        r#"{"code":"api","url":"https://example.com/reserved"}"#,
        r#"{"code":"good-3","url":"https://example.com/3","colour":"red"}"#,
        r#"{"code":"good-4","url":"https://example.com/4"}"#,
        r#"{"code":"neg","url":"https://example.com/n","clicks":-1}"#,
        r#"{"code":"status","url":"https://example.com/s","redirect_status":200}"#,
        r#"{"code":"when","url":"https://example.com/w","created_at":"yesterday"}"#,
    ]
    .join("\n");
    let db = Db::new();
    let output = db.import(&input);
    assert_eq!(
        output.status.code(),
        Some(1),
        "rejected lines must give exit code 1: {output:?}"
    );
    assert_eq!(import_summary(&output), (3, 0, 9));
    let messages = messages(&output.stderr);
    let mentions = |n: usize| messages.iter().any(|l| l.contains(&format!("line {n}:")));
    for bad in [2, 4, 5, 6, 8, 9, 11, 12, 13] {
        assert!(mentions(bad), "line {bad} not reported:\n{}", output.stderr);
    }
    for good in [1, 3, 7, 10] {
        assert!(!mentions(good), "line {good} reported:\n{}", output.stderr);
    }
    let links = exported(&db.export());
    let codes: Vec<String> = links.iter().map(|l| str_field(l, "code")).collect();
    assert_eq!(codes, ["good-1", "good-2", "good-4"]);
    assert_eq!(links[1]["clicks"], 5);
}

#[test]
fn reimport_counts_existing_codes_and_never_overwrites_them() {
    let db = Db::new();
    let first = [
        r#"{"code":"keep-a","url":"https://example.com/a","clicks":3}"#,
        r#"{"code":"keep-b","url":"https://example.com/b"}"#,
        r#"{"code":"keep-c","url":"https://example.com/c"}"#,
    ]
    .join("\n");
    let output = db.import(&first);
    output.assert_code(0);
    assert_eq!(import_summary(&output), (3, 0, 0));
    db.run(&["delete", "keep-c"]).assert_code(0);

    let second = [
        r#"{"code":"keep-a","url":"https://example.com/changed","clicks":99}"#,
        r#"{"code":"keep-b","url":"https://example.com/b"}"#,
        r#"{"code":"keep-c","url":"https://example.com/revived"}"#,
        r#"{"code":"new-d","url":"https://example.com/d"}"#,
        r#"{"code":"new-d","url":"https://example.com/d-again"}"#,
    ]
    .join("\n");
    let output = db.import(&second);
    output.assert_code(0);
    assert_eq!(import_summary(&output), (1, 4, 0));

    let a = db.get("keep-a");
    assert_eq!(
        a["url"], "https://example.com/a",
        "an import overwrote a link"
    );
    assert_eq!(a["clicks"], 3);
    assert_eq!(db.get("new-d")["url"], "https://example.com/d");
    let deleted = db.run(&["get", "keep-c"]);
    assert_ne!(deleted.code(), 0, "an import revived a deleted code");

    let codes: BTreeSet<String> = code_urls(&exported(&db.export())).into_keys().collect();
    let want: BTreeSet<String> = ["keep-a", "keep-b", "new-d"].map(String::from).into();
    assert_eq!(codes, want);
}
