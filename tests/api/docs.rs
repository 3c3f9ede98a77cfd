//! The OpenAPI document and the Swagger UI page, which must work with no
//! network at all: every asset it loads is served by shorty itself.

use std::collections::HashSet;
use std::process::Command;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{shorty_bin, spawn_app, spawn_app_with, TestApp};

/// Every route the server has, with its methods.
const ROUTES: [(&str, &[&str]); 17] = [
    ("/{code}", &["get", "head", "post"]),
    ("/{code}/qr", &["get"]),
    ("/api/v1/links", &["get", "post"]),
    ("/api/v1/links/batch", &["post"]),
    ("/api/v1/links/{code}", &["get", "patch", "delete"]),
    ("/api/v1/links/{code}/stats", &["get"]),
    ("/api/v1/stats", &["get"]),
    ("/api/v1/users", &["get"]),
    ("/api/v1/users/{id}", &["get", "put", "delete"]),
    ("/api/v1/users/{id}/keys", &["get", "post"]),
    ("/api/v1/users/{id}/keys/{key_id}", &["delete"]),
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

/// Operation ids, which generated clients name their methods after: they
/// must not change when a handler is renamed.
const OPERATION_IDS: [(&str, &str, &str); 25] = [
    ("/{code}", "get", "follow"),
    ("/{code}", "head", "follow_head"),
    ("/{code}", "post", "unlock"),
    ("/{code}/qr", "get", "qr"),
    ("/api/v1/links", "post", "create"),
    ("/api/v1/links", "get", "list"),
    ("/api/v1/links/batch", "post", "create_batch"),
    ("/api/v1/links/{code}", "get", "show"),
    ("/api/v1/links/{code}", "patch", "update"),
    ("/api/v1/links/{code}", "delete", "remove"),
    ("/api/v1/links/{code}/stats", "get", "link_stats"),
    ("/api/v1/stats", "get", "caller_stats"),
    ("/api/v1/users", "get", "list_users"),
    ("/api/v1/users/{id}", "get", "show_user"),
    ("/api/v1/users/{id}", "put", "put_user"),
    ("/api/v1/users/{id}", "delete", "delete_user"),
    ("/api/v1/users/{id}/keys", "get", "list_keys"),
    ("/api/v1/users/{id}/keys", "post", "issue_key"),
    ("/api/v1/users/{id}/keys/{key_id}", "delete", "revoke_key"),
    ("/_health", "get", "health"),
    ("/healthz", "get", "healthz"),
    ("/readyz", "get", "ready"),
    ("/metrics", "get", "scrape"),
    ("/docs", "get", "docs_page"),
    ("/api-docs/openapi.json", "get", "openapi_json"),
];

async fn document(app: &TestApp) -> Value {
    let response = app
        .anon(Method::GET, "/api-docs/openapi.json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The schema of parameter `name` of an operation.
fn parameter<'a>(doc: &'a Value, path: &str, method: &str, name: &str) -> &'a Value {
    let params = doc["paths"][path][method]["parameters"].as_array();
    let params = params.unwrap_or_else(|| panic!("{method} {path} has no parameters"));
    let param = params.iter().find(|p| p["name"] == name);
    &param.unwrap_or_else(|| panic!("{method} {path} lacks {name}"))["schema"]
}

#[tokio::test]
async fn the_document_states_every_constraint_the_server_enforces() {
    let app = spawn_app().await;
    let doc = document(&app).await;

    let mut ids = HashSet::new();
    for (path, method, id) in OPERATION_IDS {
        assert_eq!(
            doc["paths"][path][method]["operationId"], id,
            "{method} {path}"
        );
        assert!(ids.insert(id), "operationId {id} twice");
    }

    let schemas = &doc["components"]["schemas"];
    let create = &schemas["CreateBody"]["properties"];
    let patch = &schemas["PatchBody"]["properties"];
    let statuses = json!([301, 302, 307, 308]);
    assert_eq!(
        create["redirect_status"]["enum"],
        json!([301, 302, 307, 308, null])
    );
    assert_eq!(patch["redirect_status"]["enum"], statuses);
    assert_eq!(patch["redirect_status"]["type"], "integer", "not nullable");
    assert_eq!(
        schemas["LinkView"]["properties"]["redirect_status"]["enum"],
        statuses
    );
    for url in [&create["url"], &patch["url"]] {
        assert_eq!(url["type"], "string", "never null");
        let pattern = url["pattern"].as_str().unwrap();
        assert!(
            pattern.starts_with("^[Hh][Tt][Tt][Pp][Ss]?://"),
            "{pattern}"
        );
        assert_eq!(url["maxLength"], 2048);
        assert_eq!(url["then"]["maxLength"], 2047, "an empty path gains a /");
        let own = url["not"]["pattern"].as_str().unwrap();
        assert!(own.contains("[Ss][Hh][Oo]\\.[Rr][Tt]"), "{own}");
    }
    assert_eq!(create["url"]["pattern"], patch["url"]["pattern"]);
    assert_eq!(schemas["CreateBody"]["required"], json!(["url"]));
    assert_eq!(create["alias"]["pattern"], "^[A-Za-z0-9_-]{3,64}$");
    let reserved = create["alias"]["not"]["pattern"].as_str().unwrap();
    assert!(
        reserved.contains("[Aa][Pp][Ii]-[Dd][Oo][Cc][Ss]"),
        "{reserved}"
    );
    assert_eq!(create["expires_at"]["format"], "date-time");
    assert_eq!(create["ttl"]["minimum"], 1);
    assert_eq!(create["ttl"]["maximum"], 100_i64 * 366 * 24 * 3600);
    assert_eq!(create["max_clicks"]["minimum"], 1);
    assert_eq!(
        schemas["CreateBody"]["not"]["required"],
        json!(["ttl", "expires_at"]),
        "ttl and expires_at exclude each other"
    );
    assert_eq!(patch["expires_at"]["type"], json!(["string", "null"]));
    assert_eq!(patch["max_clicks"]["type"], json!(["integer", "null"]));
    assert_eq!(patch["max_clicks"]["minimum"], 1);

    let limit = parameter(&doc, "/api/v1/links", "get", "limit");
    assert_eq!(
        (&limit["minimum"], &limit["maximum"]),
        (&json!(1), &json!(1000))
    );
    let cursor = parameter(&doc, "/api/v1/links", "get", "cursor");
    assert!(cursor["pattern"].as_str().unwrap().starts_with("^djE6"));
    for (path, method) in [
        ("/{code}", "get"),
        ("/{code}", "head"),
        ("/api/v1/links/{code}", "get"),
        ("/api/v1/links/{code}", "patch"),
        ("/api/v1/links/{code}", "delete"),
    ] {
        let code = parameter(&doc, path, method, "code");
        assert_eq!(code["pattern"], "^[A-Za-z0-9_-]{1,64}$", "{method} {path}");
    }

    // Batch items are answered one by one, so any value is a valid item.
    let batch = &doc["paths"]["/api/v1/links/batch"]["post"];
    let body = &batch["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(
        (&body["type"], &body["maxItems"]),
        (&json!("array"), &json!(1000))
    );
    let item = &body["items"]["anyOf"];
    assert_eq!(item[0]["$ref"], "#/components/schemas/CreateBody");
    assert!(item[1].get("type").is_none(), "any other value: {item}");
    let results = &schemas["BatchItem"]["oneOf"];
    assert_eq!(results[0]["properties"]["status"]["const"], 201);
    let failed = results[1]["properties"]["status"]["enum"]
        .as_array()
        .unwrap();
    for status in [400, 409, 422] {
        assert!(failed.contains(&json!(status)), "item status {status}");
    }

    // A created link leads to the operations on it.
    let links = &doc["paths"]["/api/v1/links"]["post"]["responses"]["201"]["links"];
    for id in ["show", "update", "remove", "follow", "follow_head"] {
        assert_eq!(links[id]["operationId"], id);
        assert_eq!(links[id]["parameters"]["code"], "$response.body#/code");
    }
    // Every link names an operation that exists.
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for response in op["responses"]
                .as_object()
                .into_iter()
                .flat_map(|r| r.values())
            {
                for link in response["links"]
                    .as_object()
                    .into_iter()
                    .flat_map(|l| l.values())
                {
                    let id = link["operationId"].as_str().unwrap();
                    assert!(ids.contains(id), "link to unknown operation {id}");
                }
            }
        }
    }
}

/// `count` strings matching `pattern` (anchored at both ends), always the
/// same ones.
fn samples(pattern: &str, count: usize) -> Vec<String> {
    let inner = pattern.strip_prefix('^').and_then(|p| p.strip_suffix('$'));
    let strategy = proptest::string::string_regex(inner.expect("an anchored pattern")).unwrap();
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    (0..count)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

#[tokio::test]
async fn what_the_patterns_admit_the_server_accepts() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let url = &doc["components"]["schemas"]["CreateBody"]["properties"]["url"];
    for url in samples(url["pattern"].as_str().unwrap(), 200) {
        if url.to_ascii_lowercase().contains("//sho.rt") {
            continue; // the service itself (the `not` of the schema)
        }
        let response = app
            .admin(Method::POST, "/api/v1/links")
            .json(&json!({ "url": url }))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{url:?}: {body}");
    }

    let cursor = parameter(&doc, "/api/v1/links", "get", "cursor");
    for cursor in samples(cursor["pattern"].as_str().unwrap(), 200) {
        let page = format!("/api/v1/links?limit=1&cursor={cursor}");
        let response = app.admin(Method::GET, &page).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{cursor}");
    }
    // The cursors the server issues have the form the pattern spells out
    // (`v1:` and at most 18 digits, base64url without padding), and no
    // other value is a cursor.
    let page: Value = app
        .admin(Method::GET, "/api/v1/links?limit=1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let issued = page["next_cursor"].as_str().expect("more than one page");
    let decoded = String::from_utf8(URL_SAFE_NO_PAD.decode(issued).unwrap()).unwrap();
    let id = decoded
        .strip_prefix("v1:")
        .unwrap_or_else(|| panic!("{decoded}"));
    assert!(
        id.len() <= 18 && id.bytes().all(|b| b.is_ascii_digit()),
        "{decoded}"
    );
    for bad in ["", "djE6", "djE6MB", "v1:5"] {
        let page = format!("/api/v1/links?cursor={bad}");
        let response = app.admin(Method::GET, &page).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad:?}");
    }
}

#[tokio::test]
async fn the_documented_url_limit_is_the_configured_one() {
    let app = spawn_app_with(|c| c.max_url_length = Some(100)).await;
    let doc = document(&app).await;
    let url = &doc["components"]["schemas"]["PatchBody"]["properties"]["url"];
    assert_eq!(
        (&url["maxLength"], &url["then"]["maxLength"]),
        (&json!(100), &json!(99))
    );
    let create = |url: String| {
        app.admin(Method::POST, "/api/v1/links")
            .json(&json!({ "url": url }))
            .send()
    };
    let longest = format!("https://example.com/{}", "a".repeat(80));
    assert_eq!(
        create(longest.clone()).await.unwrap().status(),
        StatusCode::CREATED
    );
    let over = format!("{longest}a");
    assert_eq!(
        create(over).await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let pathless = format!("https://{}.com", "a".repeat(88));
    assert_eq!(pathless.len(), 100);
    let status = create(pathless).await.unwrap().status();
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "101 bytes once normalized"
    );
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
