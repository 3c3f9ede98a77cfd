//! `shorty import --format …` with a sample export of each shortener,
//! written from the columns that tool documents (tests/api/fixtures/import):
//! codes kept, bad and taken rows reported by line with the rest imported,
//! dry runs, owners, whole-file errors and progress on large files.

use std::path::PathBuf;

use serde_json::Value;

use crate::cli::{exported, import_summary, messages, str_field, Db};

fn fixture(name: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests/api/fixtures/import",
        name,
    ]
    .iter()
    .collect();
    path.to_string_lossy().into_owned()
}

/// `import --format FORMAT FILE [extra…]`.
fn import(db: &Db, format: &str, file: &str, extra: &[&str]) -> crate::binary::CliOutput {
    let mut args = vec!["import", "--format", format, file];
    args.extend_from_slice(extra);
    db.run(&args)
}

/// Asserts stderr reports exactly `lines` (as "line N:"/"entry N:"), each
/// with its reason.
fn assert_reported(stderr: &str, unit: &str, lines: &[(u64, &str)]) {
    let reports: Vec<&str> = messages(stderr)
        .into_iter()
        .filter(|l| l.starts_with(&format!("{unit} ")))
        .collect();
    assert_eq!(reports.len(), lines.len(), "reported rows: {reports:#?}");
    for (line, reason) in lines {
        let prefix = format!("{unit} {line}: ");
        assert!(
            reports
                .iter()
                .any(|r| r.starts_with(&prefix) && r.contains(reason)),
            "{unit} {line} not reported with {reason:?}: {reports:#?}"
        );
    }
}

fn codes(db: &Db) -> Vec<String> {
    let mut codes: Vec<String> = exported(&db.export())
        .iter()
        .map(|l| str_field(l, "code"))
        .collect();
    codes.sort();
    codes
}

#[test]
fn shlink_csv_keeps_codes_and_tags_and_reports_bad_and_taken_rows() {
    let db = Db::new();
    db.run(&["create", "https://example.com/mine", "--alias", "taken"])
        .assert_code(0);
    let output = import(&db, "shlink", &fixture("shlink.csv"), &[]);
    assert_eq!(
        output.code(),
        1,
        "rejected rows give exit code 1: {output:?}"
    );
    assert_eq!(import_summary(&output), (3, 1, 2));
    assert_reported(
        &output.stderr,
        "line",
        &[
            (4, "skipped: the code \"taken\" is already taken"),
            (5, "rejected"),
            (6, "rejected: \"has space\" is not a usable code"),
        ],
    );
    assert_eq!(codes(&db), ["docs-2", "hello", "tagged", "taken"]);
    let hello = db.get("hello");
    assert_eq!(hello["url"], "https://example.com/blog/hello");
    assert_eq!(hello["tags"], serde_json::json!(["blog", "news"]));
    assert_eq!(
        db.get("docs-2")["url"],
        "https://example.com/docs?page=2&x=1"
    );
    assert_eq!(
        db.get("tagged")["tags"],
        serde_json::json!(["summer-sale", "2024"])
    );
    assert_eq!(db.get("taken")["url"], "https://example.com/mine");

    // A header with semicolons is read with semicolons.
    let output = import(&db, "shlink", &fixture("shlink-semicolons.csv"), &[]);
    output.assert_code(0);
    assert_eq!(db.get("semi")["tags"], serde_json::json!(["a", "b"]));
}

#[test]
fn bitly_csv_takes_the_custom_back_half_and_the_creation_time() {
    let db = Db::new();
    let output = import(&db, "bitly", &fixture("bitly.csv"), &[]);
    assert_eq!(output.code(), 1);
    assert_eq!(import_summary(&output), (2, 0, 2));
    assert_reported(
        &output.stderr,
        "line",
        &[
            (4, "rejected"),
            (5, "\"last tuesday\" is not a date and time"),
        ],
    );
    assert_eq!(codes(&db), ["3AbCdEf", "spring-offer"]);
    let a = db.get("3AbCdEf");
    assert_eq!(a["url"], "https://example.com/a");
    assert_eq!(a["created_at"], "2023-11-14T22:13:20Z");
    assert_eq!(a["tags"], serde_json::json!(["launch", "q4"]));
    assert_eq!(db.get("spring-offer")["url"], "https://example.com/b");
}

#[test]
fn yourls_csv_with_or_without_a_header_keeps_clicks_and_times() {
    let db = Db::new();
    let output = import(&db, "yourls", &fixture("yourls.csv"), &[]);
    assert_eq!(output.code(), 1);
    assert_eq!(import_summary(&output), (2, 0, 2));
    assert_reported(
        &output.stderr,
        "line",
        &[
            (4, "\"bad!\" is not a usable code"),
            (5, "\"lots\" is not a click count"),
        ],
    );
    let ozh = db.get("ozh");
    assert_eq!(ozh["url"], "http://ozh.org/");
    assert_eq!(ozh["clicks"], 12);
    assert_eq!(ozh["created_at"], "2023-11-14T22:13:20Z");

    // phpMyAdmin's default export has no header: the table's column order.
    let output = import(&db, "yourls", &fixture("yourls-no-header.csv"), &[]);
    output.assert_code(0);
    assert_eq!(import_summary(&output), (1, 1, 0));
    assert_reported(&output.stderr, "line", &[(2, "\"ozh\" is already taken")]);
    assert_eq!(db.get("plugins")["clicks"], 7);
    assert_eq!(db.get("ozh")["url"], "http://ozh.org/", "never overwritten");
}

#[test]
fn chhoto_json_keeps_hits_and_expiry_and_numbers_entries() {
    let db = Db::new();
    let output = import(&db, "chhoto", &fixture("chhoto.json"), &[]);
    assert_eq!(output.code(), 1);
    assert_eq!(import_summary(&output), (2, 0, 2));
    assert_reported(
        &output.stderr,
        "entry",
        &[(3, "the short code is empty"), (4, "shortlink is missing")],
    );
    assert_eq!(db.get("gh")["clicks"], 42);
    assert_eq!(db.get("gh")["expires_at"], Value::Null);
    assert_eq!(db.get("soon")["expires_at"], "2100-01-01T00:00:00Z");
}

#[test]
fn a_dry_run_reports_what_would_happen_and_writes_nothing() {
    let db = Db::new();
    db.run(&["create", "https://example.com/mine", "--alias", "taken"])
        .assert_code(0);
    let output = import(&db, "shlink", &fixture("shlink.csv"), &["--dry-run"]);
    assert_eq!(output.code(), 1);
    assert!(
        messages(&output.stderr)
            .iter()
            .any(|l| l.starts_with("dry run: would have imported 3 links")),
        "{}",
        output.stderr
    );
    assert_eq!(import_summary(&output), (3, 1, 2));
    assert_eq!(codes(&db), ["taken"], "a dry run wrote links");

    // A code used twice in one file is taken the second time, dry or not.
    let output = import(
        &db,
        "yourls",
        &fixture("yourls-no-header.csv"),
        &["--dry-run"],
    );
    output.assert_code(0);
    assert_eq!(import_summary(&output), (2, 0, 0));
    let twice = db.dir.path().join("twice.csv");
    std::fs::write(
        &twice,
        "Long URL,Short code\nhttps://example.com/1,dup\nhttps://example.com/2,dup\n",
    )
    .unwrap();
    let twice = twice.to_string_lossy().into_owned();
    let dry = import(&db, "shlink", &twice, &["--dry-run"]);
    assert_eq!(import_summary(&dry), (1, 1, 0));
    let real = import(&db, "shlink", &twice, &[]);
    assert_eq!(import_summary(&real), (1, 1, 0));
    assert_eq!(db.get("dup")["url"], "https://example.com/1");
}

#[test]
fn owner_must_exist_and_owns_the_imported_links() {
    let db = Db::new();
    let output = import(
        &db,
        "chhoto",
        &fixture("chhoto.json"),
        &["--owner", "ghost"],
    );
    assert_eq!(output.code(), 1);
    assert!(
        output.stderr.contains("there is no user \"ghost\""),
        "{}",
        output.stderr
    );
    assert!(codes(&db).is_empty(), "imported for a missing owner");

    db.run(&[
        "user",
        "put",
        "ada",
        "--name",
        "Ada",
        "--email",
        "ada@example.com",
    ])
    .assert_code(0);
    let output = import(&db, "chhoto", &fixture("chhoto.json"), &["--owner", "ada"]);
    assert_eq!(import_summary(&output), (2, 0, 2));
    assert_eq!(db.get("gh")["owner"], "ada");
    let bad = import(
        &db,
        "chhoto",
        &fixture("chhoto.json"),
        &["--owner", "not an id!"],
    );
    assert_eq!(bad.code(), 2, "clap refuses a malformed id: {bad:?}");
}

#[test]
fn a_file_in_the_wrong_format_is_refused_as_a_whole() {
    let db = Db::new();
    let cases = [
        ("bitly", "shlink.csv", "no \"link\" column"),
        ("chhoto", "shlink.csv", "not chhoto-url's export"),
        ("shlink", "bitly.csv", "no \"Short code\" column"),
    ];
    for (format, file, message) in cases {
        let output = import(&db, format, &fixture(file), &[]);
        assert_eq!(output.code(), 1, "{format} {file}: {output:?}");
        assert!(
            output.stderr.contains(message),
            "{format} {file}: {}",
            output.stderr
        );
    }
    assert!(codes(&db).is_empty());
    let unknown = db.run(&["import", "--format", "csv", &fixture("shlink.csv")]);
    assert_eq!(unknown.code(), 2);
    assert!(unknown
        .stderr
        .contains("one of jsonl, shlink, bitly, yourls, chhoto"));
    let missing = db.run(&["import", "/nonexistent/links.csv"]);
    assert_eq!(missing.code(), 1);
    assert!(missing
        .stderr
        .contains("cannot open /nonexistent/links.csv"));
    // A JSON line longer than any link is refused, not buffered.
    let long = db.dir.path().join("long.jsonl");
    std::fs::write(&long, "x".repeat(200_000)).unwrap();
    let output = db.run(&["import", &long.to_string_lossy()]);
    assert_eq!(output.code(), 1);
    assert!(
        output.stderr.contains("line 1 is longer than"),
        "{}",
        output.stderr
    );
}

#[test]
fn large_files_show_progress_with_the_share_read() {
    let db = Db::new();
    let path = db.dir.path().join("big.csv");
    let mut text = String::from("Long URL,Short code,Tags\n");
    for i in 0..25_000 {
        text.push_str(&format!("https://example.com/page/{i},p{i},bulk\n"));
    }
    std::fs::write(&path, text).unwrap();
    let output = import(&db, "shlink", &path.to_string_lossy(), &[]);
    output.assert_code(0);
    assert_eq!(import_summary(&output), (25_000, 0, 0));
    let progress: Vec<&str> = messages(&output.stderr)
        .into_iter()
        .filter(|l| l.starts_with("read "))
        .collect();
    assert_eq!(progress.len(), 2, "{progress:#?}");
    assert!(progress[0].starts_with("read 10000 links") && progress[0].contains("% of the file"));
    assert!(progress[1].starts_with("read 20000 links"));
    assert_eq!(db.get("p24999")["tags"], serde_json::json!(["bulk"]));
}
