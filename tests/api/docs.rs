//! The OpenAPI document and the Swagger UI page, which must work with no
//! network at all: every asset it loads is served by shorty itself.

use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{shorty_bin, spawn_app};

/// Every route the server has, with its methods.
const ROUTES: [(&str, &[&str]); 10] = [
    ("/{code}", &["get", "head"]),
    ("/api/v1/links", &["get", "post"]),
    ("/api/v1/links/batch", &["post"]),
    ("/api/v1/links/{code}", &["get", "patch", "delete"]),
    ("/_health", &["get"]),
    ("/healthz", &["get"]),
    ("/readyz", &["get"]),
    ("/metrics", &["get"]),
    ("/docs", &["get"]),
    ("/api-docs/openapi.json", &["get"]),
];

#[tokio::test]
async fn the_openapi_document_covers_every_route_and_error() {
    let app = spawn_app().await;
    let response = app
        .anon(Method::GET, "/api-docs/openapi.json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), ROUTES.len(), "{:?}", paths.keys());
    for (path, methods) in ROUTES {
        let item = &paths[path];
        for method in methods {
            let responses = item[method]["responses"].as_object();
            let responses = responses.unwrap_or_else(|| panic!("{method} {path} undocumented"));
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let content = response["content"].as_object();
                    let problem =
                        content.is_some_and(|c| c.contains_key("application/problem+json"));
                    // /readyz answers 503 with its JSON status body.
                    assert!(
                        problem || path == "/readyz",
                        "{method} {path} {status} is not problem+json"
                    );
                }
            }
        }
    }
    let api_ops = [("/api/v1/links", "post"), ("/api/v1/links/{code}", "patch")];
    for (path, method) in api_ops {
        let responses = &paths[path][method]["responses"];
        for status in ["400", "413", "415", "422", "429", "503"] {
            assert!(
                responses[status].is_object(),
                "{method} {path} lacks {status}"
            );
        }
    }
    let limited = &paths["/api/v1/links"]["post"]["responses"]["429"]["headers"];
    for header in [
        "Retry-After",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
    ] {
        assert!(
            limited[header].is_object(),
            "429 does not document {header}"
        );
    }
    let secured = &paths["/api/v1/links/{code}"]["delete"];
    assert_eq!(secured["security"][0]["bearer"], serde_json::json!([]));
    assert!(secured["responses"]["401"].is_object());
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "CreateBody",
        "PatchBody",
        "LinkView",
        "LinkPage",
        "BatchPage",
        "Problem",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    let create = &schemas["CreateBody"];
    assert_eq!(
        create["additionalProperties"], false,
        "unknown fields are refused"
    );
    assert_eq!(create["required"], serde_json::json!(["url"]));
}

/// Runs `script` in a network namespace of its own with only loopback up,
/// so nothing it does can reach any other host.
fn offline(script: &str, args: &[&str]) -> String {
    let output = Command::new("unshare")
        .args([
            "--net",
            "--map-root-user",
            "--",
            "bash",
            "-c",
            script,
            "offline",
        ])
        .args(args)
        .output()
        .expect("unshare (util-linux) runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "offline script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Starts shorty on loopback, proves there is no other network, then
/// fetches /docs and everything it references, printing one line per
/// fetch: `PATH STATUS CONTENT-TYPE BYTES`.
const FETCH_DOCS: &str = r#"
set -eu
ip link set lo up
bin=$1; dir=$(mktemp -d)
"$bin" serve --listen 127.0.0.1:18181 --database-url "sqlite://$dir/s.db" >"$dir/log" 2>&1 &
for _ in $(seq 100); do curl -fs http://127.0.0.1:18181/_health >/dev/null && break; sleep 0.1; done
if curl -s -m 2 -o /dev/null https://example.com; then echo "NETWORK UP"; fi
fetch() { curl -s -o "$dir/body" -w "$1 %{http_code} %{content_type} %{size_download}\n" "http://127.0.0.1:18181$1"; }
fetch /docs
cp "$dir/body" "$dir/page"
for ref in $(grep -oE '(src|href)="[^"]*"' "$dir/page" | sed -E 's/^[a-z]+="//; s/"$//'); do
  echo "REF $ref"
  case $ref in /*) fetch "$ref"; cp "$dir/body" "$dir/$(basename "$ref")";; esac
done
grep -o '/api-docs/openapi.json' "$dir/swagger-initializer.js" | head -1 | while read -r spec; do fetch "$spec"; done
kill %1
"#;

#[test]
fn swagger_ui_and_its_assets_are_served_with_no_network() {
    let out = offline(FETCH_DOCS, &[shorty_bin()]);
    assert!(
        !out.contains("NETWORK UP"),
        "the namespace has a network:\n{out}"
    );
    let refs: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("REF ")).collect();
    assert!(refs.len() >= 3, "too few assets referenced:\n{out}");
    for r in &refs {
        assert!(
            r.starts_with("/docs/"),
            "{r} is not served by shorty:\n{out}"
        );
    }
    let fetched: Vec<(&str, &str, &str, u64)> = out
        .lines()
        .filter(|l| l.starts_with('/'))
        .map(|l| {
            let parts: Vec<&str> = l.split(' ').collect();
            (
                parts[0],
                parts[1],
                parts[2],
                parts[parts.len() - 1].parse().unwrap(),
            )
        })
        .collect();
    let expect = [
        ("/docs", "text/html"),
        ("/docs/swagger-ui.css", "text/css"),
        ("/docs/swagger-ui-bundle.js", "text/javascript"),
        ("/docs/swagger-initializer.js", "text/javascript"),
        ("/api-docs/openapi.json", "application/json"),
    ];
    for (path, content_type) in expect {
        let got = fetched.iter().find(|f| f.0 == path);
        let (_, status, ty, bytes) = got.unwrap_or_else(|| panic!("{path} not fetched:\n{out}"));
        assert_eq!(*status, "200", "{path}:\n{out}");
        assert!(ty.starts_with(content_type), "{path} is {ty}");
        assert!(*bytes > 100, "{path} is nearly empty");
    }
    assert!(
        fetched.len() == refs.len() + 2,
        "every reference fetched:\n{out}"
    );
}
