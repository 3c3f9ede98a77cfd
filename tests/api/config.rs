//! Configuration through the real binary: every key in SPEC.md works in
//! `shorty.toml` (in the working directory or given by `--config`), as a
//! `SHORTY_*` environment variable and as a flag, in that order of
//! precedence; `print-config` shows the result with secrets redacted, and
//! bad configuration exits with code 2 naming the problem.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::binary::{cli, sqlite_url, CliOutput, ServeOptions, ShortyProcess};

/// Every key of SPEC.md's configuration table, in its order, plus the
/// connection settings added for PostgreSQL and Redis (after `redis_url`),
/// `metrics` (after `metrics_listen`), `redirect_burst`, and the limits on
/// failed authentications and connections (after `trusted_proxies`).
const SPEC_KEYS: [&str; 37] = [
    "listen",
    "base_url",
    "database_url",
    "redis_url",
    "redis_key_prefix",
    "redis_timeout_ms",
    "db_pool_size",
    "db_timeout_ms",
    "db_statement_cache",
    "admin_token",
    "allow_anonymous",
    "redirect_status",
    "code_length",
    "max_url_length",
    "cache_capacity",
    "blocklist",
    "log_format",
    "metrics_listen",
    "metrics",
    "create_rate",
    "create_burst",
    "api_rate",
    "api_burst",
    "redirect_rate",
    "redirect_burst",
    "trusted_proxies",
    "own_hosts",
    "auth_failure_rate",
    "auth_failure_burst",
    "header_read_timeout_ms",
    "keep_alive_timeout_ms",
    "request_timeout_ms",
    "max_connections",
    "otlp_endpoint",
    "sentry_dsn",
    "geoip_db",
    "stats_retention_days",
];

/// One key with a distinct value per layer: as written in `shorty.toml`
/// (a TOML literal), as raw text for the environment and the flag, and as
/// `print-config` must show each.
struct Key {
    name: &'static str,
    file: &'static str,
    file_shown: &'static str,
    env: &'static str,
    env_shown: &'static str,
    flag: &'static str,
    flag_shown: &'static str,
}

const fn key(
    name: &'static str,
    file: &'static str,
    file_shown: &'static str,
    env: &'static str,
    env_shown: &'static str,
    flag: &'static str,
    flag_shown: &'static str,
) -> Key {
    Key {
        name,
        file,
        file_shown,
        env,
        env_shown,
        flag,
        flag_shown,
    }
}

/// Distinct values for every key; each layer differs from the one below
/// it and from the default, so the winner is always visible.
const KEYS: [Key; 37] = [
    key(
        "listen",
        r#""127.0.0.1:7001""#,
        r#""127.0.0.1:7001""#,
        "127.0.0.1:7002",
        r#""127.0.0.1:7002""#,
        "127.0.0.1:7003",
        r#""127.0.0.1:7003""#,
    ),
    key(
        "base_url",
        r#""https://file.example/""#,
        r#""https://file.example/""#,
        "https://env.example/",
        r#""https://env.example/""#,
        "https://flag.example/",
        r#""https://flag.example/""#,
    ),
    key(
        "database_url",
        r#""postgres://fileuser:FILE-DB-SECRET@db.file.example:5432/shorty""#,
        r#""postgres://fileuser:REDACTED@db.file.example:5432/shorty""#,
        "postgres://envuser:ENV-DB-SECRET@db.env.example:5432/shorty",
        r#""postgres://envuser:REDACTED@db.env.example:5432/shorty""#,
        "postgres://flaguser:FLAG-DB-SECRET@db.flag.example:5432/shorty",
        r#""postgres://flaguser:REDACTED@db.flag.example:5432/shorty""#,
    ),
    key(
        "redis_url",
        r#""redis://:FILE-REDIS-SECRET@cache.file.example:6379/0""#,
        r#""redis://:REDACTED@cache.file.example:6379/0""#,
        "redis://:ENV-REDIS-SECRET@cache.env.example:6379/1",
        r#""redis://:REDACTED@cache.env.example:6379/1""#,
        "redis://:FLAG-REDIS-SECRET@cache.flag.example:6379/2",
        r#""redis://:REDACTED@cache.flag.example:6379/2""#,
    ),
    key(
        "redis_key_prefix",
        r#""file:""#,
        r#""file:""#,
        "env:",
        r#""env:""#,
        "flag:",
        r#""flag:""#,
    ),
    key("redis_timeout_ms", "101", "101", "102", "102", "103", "103"),
    key("db_pool_size", "4", "4", "5", "5", "6", "6"),
    key(
        "db_timeout_ms",
        "1101",
        "1101",
        "1102",
        "1102",
        "1103",
        "1103",
    ),
    key("db_statement_cache", "11", "11", "12", "12", "13", "13"),
    key(
        "admin_token",
        r#""FILE-ADMIN-SECRET-token""#,
        r#""REDACTED""#,
        "ENV-ADMIN-SECRET-token",
        r#""REDACTED""#,
        "FLAG-ADMIN-SECRET-token",
        r#""REDACTED""#,
    ),
    key(
        "allow_anonymous",
        "false",
        "false",
        "true",
        "true",
        "false",
        "false",
    ),
    key("redirect_status", "301", "301", "307", "307", "308", "308"),
    key("code_length", "5", "5", "8", "8", "9", "9"),
    key(
        "max_url_length",
        "1000",
        "1000",
        "3000",
        "3000",
        "4000",
        "4000",
    ),
    key("cache_capacity", "111", "111", "222", "222", "333", "333"),
    key(
        "blocklist",
        r#""/etc/shorty/file-blocklist.txt""#,
        r#""/etc/shorty/file-blocklist.txt""#,
        "/etc/shorty/env-blocklist.txt",
        r#""/etc/shorty/env-blocklist.txt""#,
        "/etc/shorty/flag-blocklist.txt",
        r#""/etc/shorty/flag-blocklist.txt""#,
    ),
    key(
        "log_format",
        r#""pretty""#,
        r#""pretty""#,
        "json",
        r#""json""#,
        "pretty",
        r#""pretty""#,
    ),
    key(
        "metrics_listen",
        r#""127.0.0.1:9101""#,
        r#""127.0.0.1:9101""#,
        "127.0.0.1:9102",
        r#""127.0.0.1:9102""#,
        "127.0.0.1:9103",
        r#""127.0.0.1:9103""#,
    ),
    key(
        "metrics", "false", "false", "true", "true", "false", "false",
    ),
    key("create_rate", "1.5", "1.5", "2.5", "2.5", "3.5", "3.5"),
    key("create_burst", "11", "11", "12", "12", "13", "13"),
    key("api_rate", "4.25", "4.25", "5.25", "5.25", "6.25", "6.25"),
    key("api_burst", "21", "21", "22", "22", "23", "23"),
    key("redirect_rate", "7.5", "7.5", "8.5", "8.5", "9.5", "9.5"),
    key("redirect_burst", "31", "31", "32", "32", "33", "33"),
    key(
        "trusted_proxies",
        r#"["10.1.0.0/16", "10.2.0.0/16"]"#,
        r#"["10.1.0.0/16", "10.2.0.0/16"]"#,
        "10.3.0.0/16,10.4.0.0/16",
        r#"["10.3.0.0/16", "10.4.0.0/16"]"#,
        "10.5.0.0/16,10.6.0.0/16",
        r#"["10.5.0.0/16", "10.6.0.0/16"]"#,
    ),
    key(
        "own_hosts",
        r#"["lb-file.example", "10.9.0.1"]"#,
        r#"["lb-file.example", "10.9.0.1"]"#,
        "lb-env.example,10.9.0.2",
        r#"["lb-env.example", "10.9.0.2"]"#,
        "lb-flag.example,10.9.0.3",
        r#"["lb-flag.example", "10.9.0.3"]"#,
    ),
    key(
        "auth_failure_rate",
        "0.5",
        "0.5",
        "0.25",
        "0.25",
        "2.5",
        "2.5",
    ),
    key("auth_failure_burst", "41", "41", "42", "42", "43", "43"),
    key(
        "header_read_timeout_ms",
        "5001",
        "5001",
        "5002",
        "5002",
        "5003",
        "5003",
    ),
    key(
        "keep_alive_timeout_ms",
        "7001",
        "7001",
        "7002",
        "7002",
        "7003",
        "7003",
    ),
    key(
        "request_timeout_ms",
        "9001",
        "9001",
        "9002",
        "9002",
        "9003",
        "9003",
    ),
    key("max_connections", "501", "501", "502", "502", "503", "503"),
    key(
        "otlp_endpoint",
        r#""http://otel-file.example:4317""#,
        r#""http://otel-file.example:4317""#,
        "http://otel-env.example:4317",
        r#""http://otel-env.example:4317""#,
        "http://otel-flag.example:4317",
        r#""http://otel-flag.example:4317""#,
    ),
    key(
        "sentry_dsn",
        r#""https://FILESENTRYKEY@sentry.file.example/1""#,
        r#""REDACTED""#,
        "https://ENVSENTRYKEY@sentry.env.example/2",
        r#""REDACTED""#,
        "https://FLAGSENTRYKEY@sentry.flag.example/3",
        r#""REDACTED""#,
    ),
    key(
        "geoip_db",
        r#""/file/GeoLite2-Country.mmdb""#,
        r#""/file/GeoLite2-Country.mmdb""#,
        "/env/GeoLite2-Country.mmdb",
        r#""/env/GeoLite2-Country.mmdb""#,
        "/flag/GeoLite2-Country.mmdb",
        r#""/flag/GeoLite2-Country.mmdb""#,
    ),
    key("stats_retention_days", "91", "91", "92", "92", "93", "93"),
];

/// Secret text from every layer; none may ever be printed.
const SECRETS: [&str; 12] = [
    "FILE-DB-SECRET",
    "ENV-DB-SECRET",
    "FLAG-DB-SECRET",
    "FILE-REDIS-SECRET",
    "ENV-REDIS-SECRET",
    "FLAG-REDIS-SECRET",
    "FILE-ADMIN-SECRET",
    "ENV-ADMIN-SECRET",
    "FLAG-ADMIN-SECRET",
    "FILESENTRYKEY",
    "ENVSENTRYKEY",
    "FLAGSENTRYKEY",
];

/// `SHORTY_LISTEN` for `listen`.
fn env_name(key: &str) -> String {
    format!("SHORTY_{}", key.to_ascii_uppercase())
}

/// `--base-url` for `base_url`.
fn flag_name(key: &str) -> String {
    format!("--{}", key.replace('_', "-"))
}

/// A `shorty.toml` setting every key to its file value.
fn full_toml() -> String {
    KEYS.iter()
        .map(|k| format!("{} = {}\n", k.name, k.file))
        .collect()
}

/// Every key's flag and value, as separate arguments.
fn all_flags() -> Vec<String> {
    KEYS.iter()
        .flat_map(|k| [flag_name(k.name), k.flag.to_owned()])
        .collect()
}

/// Parses `print-config` output: `key = value` lines, and unset keys as
/// `# key is unset` (value `None`). Each spec key must appear exactly once
/// and nothing else may.
fn parse_config(output: &CliOutput) -> BTreeMap<String, Option<String>> {
    let mut keys = BTreeMap::new();
    for line in output.stdout.lines().filter(|l| !l.trim().is_empty()) {
        let (key, value) = if let Some(rest) = line.strip_prefix("# ") {
            let key = rest
                .strip_suffix(" is unset")
                .unwrap_or_else(|| panic!("unexpected comment line {line:?}"));
            (key.to_owned(), None)
        } else {
            let (key, value) = line
                .split_once(" = ")
                .unwrap_or_else(|| panic!("not a `key = value` line: {line:?}"));
            (key.to_owned(), Some(value.to_owned()))
        };
        let previous = keys.insert(key.clone(), value);
        assert!(
            previous.is_none(),
            "{key} printed twice:\n{}",
            output.stdout
        );
    }
    let printed: Vec<&str> = keys.keys().map(String::as_str).collect();
    let mut expected = SPEC_KEYS.to_vec();
    expected.sort_unstable();
    assert_eq!(
        printed, expected,
        "print-config must show exactly the spec keys"
    );
    keys
}

/// Fails if any secret value appears in stdout or stderr.
fn assert_no_secrets(output: &CliOutput) {
    let all = output.all();
    for secret in SECRETS {
        assert!(!all.contains(secret), "secret {secret:?} leaked:\n{all}");
    }
}

/// Runs `print-config`, expecting success, and parses its output.
fn print_config(output: CliOutput) -> BTreeMap<String, Option<String>> {
    output.assert_code(0);
    assert_no_secrets(&output);
    parse_config(&output)
}

/// Asserts every key shows the value chosen by `shown`.
fn assert_every_key(config: &BTreeMap<String, Option<String>>, shown: fn(&Key) -> &str) {
    for k in &KEYS {
        assert_eq!(
            config[k.name].as_deref(),
            Some(shown(k)),
            "wrong effective value for {}",
            k.name
        );
    }
    for secret in ["admin_token", "sentry_dsn"] {
        assert_eq!(config[secret].as_deref(), Some(r#""REDACTED""#));
    }
    for url in ["database_url", "redis_url"] {
        let value = config[url].as_deref().unwrap_or_default();
        assert!(value.contains(":REDACTED@"), "{url} = {value}");
    }
}

#[test]
fn print_config_shows_every_spec_key_with_its_default() {
    let config = print_config(cli(&["print-config"]).run());
    // trusted_proxies has its own test below.
    let defaults: [(&str, Option<&str>); 36] = [
        ("listen", Some(r#""0.0.0.0:8080""#)),
        ("base_url", Some(r#""http://localhost:8080""#)),
        ("database_url", Some(r#""sqlite://shorty.db""#)),
        ("redis_url", None),
        ("redis_key_prefix", Some(r#""shorty:""#)),
        ("redis_timeout_ms", Some("250")),
        ("db_pool_size", None),
        ("db_timeout_ms", Some("1000")),
        ("db_statement_cache", Some("100")),
        ("admin_token", None),
        ("allow_anonymous", Some("true")),
        ("redirect_status", Some("302")),
        ("code_length", Some("7")),
        ("max_url_length", Some("2048")),
        ("cache_capacity", Some("1000000")),
        ("blocklist", None),
        ("log_format", Some(r#""json""#)),
        ("metrics_listen", None),
        ("metrics", Some("true")),
        ("create_rate", Some("10")),
        ("create_burst", Some("20")),
        ("api_rate", Some("100")),
        ("api_burst", Some("200")),
        ("redirect_rate", None),
        ("redirect_burst", None),
        ("own_hosts", None),
        ("auth_failure_rate", Some("0.1")),
        ("auth_failure_burst", Some("10")),
        ("header_read_timeout_ms", Some("10000")),
        ("keep_alive_timeout_ms", Some("60000")),
        ("request_timeout_ms", Some("30000")),
        ("max_connections", Some("10000")),
        ("otlp_endpoint", None),
        ("sentry_dsn", None),
        ("geoip_db", None),
        ("stats_retention_days", None),
    ];
    for (key, want) in defaults {
        let got = config[key].as_deref();
        let same = match (got, want) {
            (Some(got), Some(want)) if key == "base_url" => {
                // A URL is shown normalized; a trailing `/` is the same URL.
                got.replace("/\"", "\"") == want
            }
            (Some(got), Some(want)) => match (got.parse::<f64>(), want.parse::<f64>()) {
                (Ok(a), Ok(b)) => a == b,
                _ => got == want,
            },
            (None, None) => true,
            _ => false,
        };
        assert!(
            same,
            "default of {key}: printed {got:?}, SPEC says {want:?} (unset keys print \
             as `# {key} is unset`)"
        );
    }
}

#[test]
fn print_config_shows_unset_trusted_proxies_as_unset() {
    // SPEC: trusted_proxies defaults to unset, and print-config shows unset
    // keys as `# key is unset` (an explicit `[]` reads as "set to nothing").
    let config = print_config(cli(&["print-config"]).run());
    assert_eq!(config["trusted_proxies"], None);
}

#[test]
fn every_key_in_shorty_toml_in_the_working_directory_is_used() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shorty.toml"), full_toml()).unwrap();
    let config = print_config(cli(&["print-config"]).cwd(dir.path()).run());
    assert_every_key(&config, |k| k.file_shown);
}

#[test]
fn every_key_in_a_config_file_named_by_flag_or_env_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let custom = dir.path().join("custom.toml");
    std::fs::write(&custom, full_toml()).unwrap();
    // A ./shorty.toml with other values must be ignored when a file is named.
    let cwd = tempfile::tempdir().unwrap();
    let decoy: String = KEYS
        .iter()
        .map(|k| format!("{} = {}\n", k.name, k.env_shown))
        .collect();
    std::fs::write(cwd.path().join("shorty.toml"), decoy).unwrap();
    let path = custom.to_str().unwrap();

    let by_flag = cli(&["--config", path, "print-config"])
        .cwd(cwd.path())
        .run();
    assert_every_key(&print_config(by_flag), |k| k.file_shown);

    let flag_after_command = cli(&["print-config", "--config", path])
        .cwd(cwd.path())
        .run();
    assert_every_key(&print_config(flag_after_command), |k| k.file_shown);

    let by_env = cli(&["print-config"])
        .env("SHORTY_CONFIG", path)
        .cwd(cwd.path())
        .run();
    assert_every_key(&print_config(by_env), |k| k.file_shown);
}

#[test]
fn trusted_proxies_in_the_file_may_be_a_comma_separated_string() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("shorty.toml"),
        "trusted_proxies = \"10.7.0.0/16, 192.168.0.0/24\"\n",
    )
    .unwrap();
    let config = print_config(cli(&["print-config"]).cwd(dir.path()).run());
    assert_eq!(
        config["trusted_proxies"].as_deref(),
        Some(r#"["10.7.0.0/16", "192.168.0.0/24"]"#)
    );
}

#[test]
fn environment_overrides_the_file_for_every_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shorty.toml"), full_toml()).unwrap();
    let mut run = cli(&["print-config"]).cwd(dir.path());
    for k in &KEYS {
        run = run.env(&env_name(k.name), k.env);
    }
    assert_every_key(&print_config(run.run()), |k| k.env_shown);
}

#[test]
fn environment_alone_sets_every_key() {
    let mut run = cli(&["print-config"]);
    for k in &KEYS {
        run = run.env(&env_name(k.name), k.env);
    }
    assert_every_key(&print_config(run.run()), |k| k.env_shown);
}

#[test]
fn flags_override_the_environment_and_the_file_for_every_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shorty.toml"), full_toml()).unwrap();
    let flags = all_flags();
    let with_env = |mut run: crate::binary::CliRun| {
        for k in &KEYS {
            run = run.env(&env_name(k.name), k.env);
        }
        run.cwd(dir.path())
    };

    // Flags before the command…
    let before = with_env(cli(&flags).args(&["print-config"])).run();
    assert_every_key(&print_config(before), |k| k.flag_shown);

    // …and after it (config flags are global).
    let after = with_env(cli(&["print-config"]).args(&flags)).run();
    assert_every_key(&print_config(after), |k| k.flag_shown);

    // Flags over the file alone.
    let over_file = cli(&flags).args(&["print-config"]).cwd(dir.path()).run();
    assert_every_key(&print_config(over_file), |k| k.flag_shown);
}

#[test]
fn print_config_redacts_passwords_of_urls_it_cannot_parse() {
    // Generated passwords often hold `/` or `#`; unescaped, they make the
    // URL unparseable, and the password must still not be printed.
    let output = cli(&[
        "print-config",
        "--database-url",
        "postgres://shorty:Pw/DBSECRET#1@db.example:5432/shorty",
        "--redis-url",
        "redis://:Rd#REDISSECRET/2@cache.example:6379/0",
    ])
    .run();
    output.assert_code(0);
    let config = parse_config(&output);
    for (key, secret) in [("database_url", "DBSECRET"), ("redis_url", "REDISSECRET")] {
        let shown = config[key].as_deref().unwrap_or_default();
        assert!(
            !output.all().contains(secret),
            "{key}'s password is printed: {key} = {shown}"
        );
        assert!(shown.contains("REDACTED"), "{key} = {shown}");
    }
}

#[test]
fn otel_exporter_otlp_endpoint_sets_otlp_endpoint_below_the_shorty_keys() {
    const OTEL: &str = "http://otel-standard.example:4318";
    let otlp = |run: crate::binary::CliRun| {
        let config = print_config(run.env("OTEL_EXPORTER_OTLP_ENDPOINT", OTEL).run());
        config["otlp_endpoint"].clone()
    };
    let shown = |v: &str| Some(format!("\"{v}\""));

    assert_eq!(otlp(cli(&["print-config"])), shown(OTEL), "OTEL_* alone");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("shorty.toml"),
        "otlp_endpoint = \"http://otel-file.example:4317\"\n",
    )
    .unwrap();
    assert_eq!(
        otlp(cli(&["print-config"]).cwd(dir.path())),
        shown("http://otel-file.example:4317"),
        "shorty.toml beats OTEL_EXPORTER_OTLP_ENDPOINT"
    );
    assert_eq!(
        otlp(
            cli(&["print-config"])
                .cwd(dir.path())
                .env("SHORTY_OTLP_ENDPOINT", "http://otel-env.example:4317")
        ),
        shown("http://otel-env.example:4317"),
        "SHORTY_OTLP_ENDPOINT beats OTEL_EXPORTER_OTLP_ENDPOINT"
    );
    assert_eq!(
        otlp(cli(&[
            "print-config",
            "--otlp-endpoint",
            "http://otel-flag.example:4317"
        ])),
        shown("http://otel-flag.example:4317"),
        "--otlp-endpoint beats OTEL_EXPORTER_OTLP_ENDPOINT"
    );
}

/// Asserts a configuration error: exit code 2, nothing on stdout, and a
/// message naming `key` (as `key_name` or `--key-name`).
fn assert_config_error(output: &CliOutput, key: &str, case: &str) {
    assert_eq!(
        output.status.code(),
        Some(2),
        "{case}: expected exit code 2\nstdout: {}\nstderr: {}",
        output.stdout,
        output.stderr
    );
    assert!(
        output.stdout.is_empty(),
        "{case}: printed {}",
        output.stdout
    );
    let message = output.stderr.to_ascii_lowercase();
    assert!(
        message.contains(key) || message.contains(&flag_name(key)),
        "{case}: the message does not name {key}:\n{}",
        output.stderr
    );
}

#[test]
fn unknown_keys_in_the_config_file_exit_2_naming_the_key() {
    for (text, key) in [
        ("colour = \"blue\"\n", "colour"),
        (
            "listen = \"127.0.0.1:1\"\nadmin-token = \"x\"\n",
            "admin-token",
        ),
        ("[server]\nlisten = \"127.0.0.1:1\"\n", "server"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("shorty.toml"), text).unwrap();
        let in_cwd = cli(&["print-config"]).cwd(dir.path()).run();
        assert_config_error(&in_cwd, key, text);

        let named = dir.path().join("shorty.toml");
        let by_flag = cli(&["--config", named.to_str().unwrap(), "print-config"]).run();
        assert_config_error(&by_flag, key, text);

        // Every command checks its configuration first, serve included.
        let serve = cli(&["serve"]).cwd(dir.path()).run();
        assert_config_error(&serve, key, text);
    }
}

#[test]
fn a_missing_config_file_exits_2_naming_it() {
    let output = cli(&[
        "--config",
        "/nonexistent/shorty-missing.toml",
        "print-config",
    ])
    .run();
    assert_config_error(&output, "shorty-missing.toml", "--config");
    let output = cli(&["print-config"])
        .env("SHORTY_CONFIG", "/nonexistent/shorty-missing.toml")
        .run();
    assert_config_error(&output, "shorty-missing.toml", "SHORTY_CONFIG");
}

#[test]
fn invalid_values_exit_2_naming_the_key() {
    let file_cases = [
        ("redirect_status = 200", "redirect_status"),
        ("code_length = 99", "code_length"),
        ("code_length = 3", "code_length"),
        ("base_url = \"ftp://files.example\"", "base_url"),
        ("log_format = \"xml\"", "log_format"),
        ("max_url_length = 3", "max_url_length"),
        ("create_rate = -1.0", "create_rate"),
        ("create_burst = 0", "create_burst"),
        ("trusted_proxies = [\"10.0.0.0/33\"]", "trusted_proxies"),
        ("allow_anonymous = \"maybe\"", "allow_anonymous"),
        ("cache_capacity = \"lots\"", "cache_capacity"),
        ("admin_token = \"short-token\"", "admin_token"),
        ("admin_token = \"\"", "admin_token"),
        ("own_hosts = [\"not a host\"]", "own_hosts"),
        ("header_read_timeout_ms = 0", "header_read_timeout_ms"),
        ("keep_alive_timeout_ms = 99999999", "keep_alive_timeout_ms"),
        ("request_timeout_ms = 1", "request_timeout_ms"),
        ("max_connections = 0", "max_connections"),
        ("auth_failure_rate = 0.0", "auth_failure_rate"),
        ("auth_failure_burst = 0", "auth_failure_burst"),
    ];
    for (text, key) in file_cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("shorty.toml"), format!("{text}\n")).unwrap();
        let output = cli(&["print-config"]).cwd(dir.path()).run();
        assert_config_error(&output, key, text);
    }

    let env_cases = [
        ("redirect_status", "200"),
        ("code_length", "99"),
        ("code_length", "seven"),
        ("allow_anonymous", "maybe"),
        ("api_rate", "0"),
        ("log_format", "xml"),
        ("base_url", "not a url"),
    ];
    for (key, value) in env_cases {
        let output = cli(&["print-config"]).env(&env_name(key), value).run();
        assert_config_error(&output, key, &format!("{}={value}", env_name(key)));
    }

    let flag_cases = [
        ("redirect_status", "200"),
        ("code_length", "99"),
        ("log_format", "xml"),
        ("redirect_rate", "-5"),
        ("create_burst", "-1"),
    ];
    for (key, value) in flag_cases {
        let flag = format!("{}={value}", flag_name(key));
        let output = cli(&["print-config", flag.as_str()]).run();
        assert_config_error(&output, key, &flag);
    }
}

#[tokio::test]
async fn a_served_process_follows_file_env_and_flag_settings() {
    let db = tempfile::tempdir().unwrap();
    let toml = "base_url = \"https://file.example\"\n\
                code_length = 5\n\
                redirect_status = 301\n\
                admin_token = \"file-admin-token\"\n";
    let server = ShortyProcess::start_with(
        &sqlite_url(&db.path().join("shorty.db")),
        ServeOptions {
            args: vec!["--max-url-length".into(), "100".into()],
            envs: vec![
                ("SHORTY_REDIRECT_STATUS".into(), "308".into()),
                ("SHORTY_ALLOW_ANONYMOUS".into(), "false".into()),
            ],
            files: vec![("shorty.toml".into(), toml.into())],
            no_admin_token: true,
        },
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let create = |body: Value, token: Option<&str>| {
        let mut request = client
            .post(format!("{}/api/v1/links", server.address()))
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };

    // SHORTY_ALLOW_ANONYMOUS=false: anonymous creates are refused…
    let anonymous = create(json!({"url": "https://example.com/a"}), None)
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // …and the admin token from shorty.toml is accepted.
    let created = create(
        json!({"url": "https://example.com/a"}),
        Some("file-admin-token"),
    )
    .await
    .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let link: Value = created.json().await.unwrap();
    let code = link["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 5, "code_length from shorty.toml: {link}");
    assert_eq!(link["short_url"], format!("https://file.example/{code}"));
    assert_eq!(link["redirect_status"], 308, "SHORTY_REDIRECT_STATUS wins");

    // --max-url-length 100 from the command line.
    let long = format!("https://example.com/{}", "x".repeat(120));
    let refused = create(json!({ "url": long }), Some("file-admin-token"))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let redirect = client
        .get(format!("{}/{code}", server.address()))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(redirect.headers()["location"], "https://example.com/a");
}
