//! What utoipa's annotations cannot say, written into the generated
//! document: constraints the server enforces that need `enum`, `not`,
//! `if`/`then` or the configuration, the per-item batch contract, links
//! between operations and fixed operation ids.

use serde_json::{json, Value};

use super::patterns::{CURSOR_PATTERN, LABELS, PATHLESS_URL, URL_PATTERN, URL_SCHEME};
use crate::api::links;
use crate::domain::alias::RESERVED;
use crate::domain::code::MAX_CODE_LEN;
use crate::domain::link::MAX_TTL_SECONDS;
use crate::domain::tag::{MAX_TAGS, TAG_PATTERN};
use crate::domain::{OwnHost, UrlPolicy};

/// Every operation's `operationId`, fixed here so that renaming a handler
/// cannot change them (clients generated from the document name their
/// methods after them). GET and HEAD of `/{code}` share a handler, and
/// operation ids must be unique.
const OPERATION_IDS: [(&str, &str, &str); 14] = [
    ("/{code}", "get", "follow"),
    ("/{code}", "head", "follow_head"),
    ("/api/v1/links", "post", "create"),
    ("/api/v1/links", "get", "list"),
    ("/api/v1/links/batch", "post", "create_batch"),
    ("/api/v1/links/{code}", "get", "show"),
    ("/api/v1/links/{code}", "patch", "update"),
    ("/api/v1/links/{code}", "delete", "remove"),
    ("/_health", "get", "health"),
    ("/healthz", "get", "healthz"),
    ("/readyz", "get", "ready"),
    ("/metrics", "get", "scrape"),
    ("/docs", "get", "docs_page"),
    ("/api-docs/openapi.json", "get", "openapi_json"),
];

/// What a link may be asked to redirect with.
const REDIRECT_STATUSES: [u16; 4] = [301, 302, 307, 308];

/// What utoipa's annotations cannot say, written into the generated
/// document: the constraints the server enforces that need `enum`, `not`,
/// `if`/`then` or the configuration, the per-item batch contract, the
/// links from a created link to the operations on it, and fixed
/// operation ids.
pub(super) fn apply_contract(doc: &mut Value, policy: &UrlPolicy) {
    for (path, method, id) in OPERATION_IDS {
        merge(doc, &operation(path, method), json!({ "operationId": id }));
    }
    request_bodies(doc, policy);
    responses(doc);
    parameters(doc);
    link_operations(doc);
}

fn request_bodies(doc: &mut Value, policy: &UrlPolicy) {
    let url = url_schema(policy);
    let reserved = RESERVED
        .iter()
        .map(|word| any_case(word))
        .collect::<Vec<_>>()
        .join("|");
    let create = "/components/schemas/CreateBody";
    merge_url(doc, &format!("{create}/properties/url"), url.clone());
    merge(
        doc,
        &format!("{create}/properties/alias"),
        json!({
            "minLength": 3,
            "maxLength": 64,
            "not": {"type": "string", "pattern": format!("^(?:{reserved})$")},
        }),
    );
    merge(
        doc,
        &format!("{create}/properties/ttl"),
        json!({ "minimum": 1, "maximum": MAX_TTL_SECONDS }),
    );
    merge(
        doc,
        &format!("{create}/properties/max_clicks"),
        json!({ "minimum": 1, "maximum": i64::MAX }),
    );
    let mut nullable_statuses: Vec<Value> = REDIRECT_STATUSES.iter().map(|s| json!(s)).collect();
    nullable_statuses.push(Value::Null);
    merge(
        doc,
        &format!("{create}/properties/redirect_status"),
        json!({ "enum": nullable_statuses }),
    );
    // `ttl` and `expires_at` exclude each other; `null` counts as absent.
    merge(
        doc,
        create,
        json!({
            "not": {
                "required": ["ttl", "expires_at"],
                "properties": {"ttl": {"type": "integer"}, "expires_at": {"type": "string"}},
            },
        }),
    );

    let tag = json!({ "type": "string", "pattern": TAG_PATTERN });
    merge(
        doc,
        &format!("{create}/properties/tags"),
        json!({ "maxItems": MAX_TAGS, "items": tag.clone() }),
    );

    let patch = "/components/schemas/PatchBody";
    merge_url(doc, &format!("{patch}/properties/url"), url);
    merge(
        doc,
        &format!("{patch}/properties/tags"),
        json!({ "maxItems": MAX_TAGS, "items": tag }),
    );
    merge(
        doc,
        &format!("{patch}/properties/max_clicks"),
        json!({ "minimum": 1, "maximum": i64::MAX }),
    );
    merge(
        doc,
        &format!("{patch}/properties/redirect_status"),
        json!({ "enum": REDIRECT_STATUSES }),
    );

    // Batch items are read one by one, so any JSON value is a valid item:
    // one that is not a valid create body gets its own 400 or 422 in the
    // response, and the other items are still created.
    merge(
        doc,
        &format!(
            "{}/requestBody/content/application~1json/schema",
            operation("/api/v1/links/batch", "post")
        ),
        json!({
            "type": "array",
            "maxItems": links::MAX_BATCH,
            "items": {
                "description": "A create body. Each item is validated on its own: \
                    an item that is not a valid create body (not an object, an \
                    unknown field, a wrong type, an invalid value) is answered in \
                    its own result with 400 or 422, and the other items are still \
                    created.",
                "anyOf": [
                    {"$ref": "#/components/schemas/CreateBody"},
                    {"description": "Any other JSON value: answered in its own result"},
                ],
            },
        }),
    );
}

/// Merges the `url` schema, its description after the field's own.
fn merge_url(doc: &mut Value, pointer: &str, mut url: Value) {
    let own = doc
        .pointer(&format!("{pointer}/description"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let rules = url["description"].as_str().unwrap_or_default();
    url["description"] = json!(format!("{own} {rules}").trim().to_owned());
    merge(doc, pointer, url);
}

/// The `url` of create and patch bodies under `policy`.
fn url_schema(policy: &UrlPolicy) -> Value {
    // The pattern admits domain names only (no address literals), so of
    // the names that would loop only these can match it.
    let own_names: Vec<&str> = policy
        .own_hosts
        .iter()
        .filter_map(|host| match host {
            OwnHost::Name(name) => Some(name.as_str()),
            OwnHost::Ip(_) => None,
        })
        .collect();
    let mut description = format!(
        "Absolute http or https URL with a host and no user name or password, \
         at most {} bytes as sent and once normalized (a URL with an empty \
         path gains a `/`, so it may have {} at most); not on the blocklist, \
         and not pointing at this service under any name it answers to: \
         `localhost` and names under it, loopback and unspecified addresses",
        policy.max_len,
        policy.max_len.saturating_sub(1),
    );
    for name in &own_names {
        description.push_str(&format!(", {name}"));
    }
    description.push_str(
        ". The pattern is the ASCII form (RFC 3986), which the server stores as \
         sent (scheme and host lower-cased); the server also takes IDN hosts, \
         non-ASCII or other characters it percent-encodes (`'` in the query, \
         for one) and some malformed forms URL parsers repair (a `\\` for a \
         `/`), and checks the length of what it stores.",
    );
    let own = own_names
        .iter()
        .map(|name| any_case(name))
        .chain([format!("{LABELS}{}", any_case("localhost"))])
        .collect::<Vec<_>>()
        .join("|");
    json!({
        "description": description,
        "pattern": URL_PATTERN,
        "maxLength": policy.max_len,
        "if": {"pattern": PATHLESS_URL},
        "then": {"maxLength": policy.max_len.saturating_sub(1)},
        "not": {"pattern": format!("^{URL_SCHEME}(?:{own})\\.*(?:[:/?#]|$)")},
    })
}

fn responses(doc: &mut Value) {
    let view = "/components/schemas/LinkView/properties";
    merge(
        doc,
        &format!("{view}/code"),
        json!({ "pattern": code_pattern() }),
    );
    merge(doc, &format!("{view}/clicks"), json!({ "minimum": 0 }));
    merge(
        doc,
        &format!("{view}/redirect_status"),
        json!({ "enum": REDIRECT_STATUSES }),
    );
    let item = "/components/schemas/BatchItem/oneOf";
    merge(
        doc,
        &format!("{item}/0/properties/status"),
        json!({ "const": 201, "description": "Created" }),
    );
    merge(
        doc,
        &format!("{item}/1/properties/status"),
        json!({
            "enum": [400, 409, 422, 500, 503],
            "description": "400: the item is not a create body (not an object, an \
                unknown field, a wrong type); 409: the alias is taken; 422: an \
                invalid value; 500: an internal error; 503: the store is \
                unreachable",
        }),
    );
}

/// What a code looks like; anything else cannot name a link (404).
fn code_pattern() -> String {
    format!("^[A-Za-z0-9_-]{{1,{MAX_CODE_LEN}}}$")
}

fn parameters(doc: &mut Value) {
    // Concrete paths match before templated ones (OpenAPI 3.1, "Path
    // Templating"), so `/docs`, `/readyz`, ... and `/api/v1/links/batch`
    // are those operations, not these.
    let code = json!({ "type": "string", "pattern": code_pattern() });
    for (path, methods) in [
        ("/{code}", &["get", "head", "post"][..]),
        ("/{code}/qr", &["get"][..]),
        ("/api/v1/links/{code}", &["get", "patch", "delete"][..]),
    ] {
        for method in methods {
            set_parameter(doc, path, method, "code", code.clone());
        }
    }
    let list = operation("/api/v1/links", "get");
    if let Some(Value::Array(params)) = doc.pointer_mut(&format!("{list}/parameters")) {
        for param in params {
            if param["name"] == "cursor" {
                param["description"] = json!(
                    "Opaque: the `next_cursor` of the previous page. The pattern \
                     describes the cursors this server issues; any other value \
                     (the empty string included) is a 400."
                );
                param["schema"] = json!({ "type": "string", "pattern": CURSOR_PATTERN });
            }
        }
    }
}

/// Replaces the schema of parameter `name` of an operation, keeping its
/// description.
fn set_parameter(doc: &mut Value, path: &str, method: &str, name: &str, schema: Value) {
    let pointer = format!("{}/parameters", operation(path, method));
    if let Some(Value::Array(params)) = doc.pointer_mut(&pointer) {
        for param in params.iter_mut().filter(|p| p["name"] == name) {
            param["schema"] = schema.clone();
        }
    }
}

/// OpenAPI links from every response that carries a link object to the
/// operations on that link, so clients (and the fuzzer's stateful phase)
/// can follow a created link to showing, changing, deleting and following
/// it.
fn link_operations(doc: &mut Value) {
    let code = json!({ "code": "$response.body#/code" });
    let targets = [
        ("show", "The link"),
        ("update", "Change the link"),
        ("remove", "Delete the link"),
        ("follow", "Follow the short link (GET counts a click)"),
        ("follow_head", "Check the short link (HEAD counts nothing)"),
    ];
    let mut links = serde_json::Map::new();
    for (operation_id, description) in targets {
        links.insert(
            operation_id.to_owned(),
            json!({
                "operationId": operation_id,
                "parameters": code,
                "description": description,
            }),
        );
    }
    let links = Value::Object(links);
    for (path, method, status) in [
        ("/api/v1/links", "post", "201"),
        ("/api/v1/links/{code}", "get", "200"),
        ("/api/v1/links/{code}", "patch", "200"),
    ] {
        let response = format!("{}/responses/{status}", operation(path, method));
        merge(doc, &response, json!({ "links": links }));
    }
    merge(
        doc,
        &format!("{}/responses/200", operation("/api/v1/links", "get")),
        json!({
            "links": {
                "next_page": {
                    "operationId": "list",
                    "parameters": {"cursor": "$response.body#/next_cursor"},
                    "description": "The next page, while `next_cursor` is not null",
                },
            },
        }),
    );
}

/// The JSON pointer of an operation.
fn operation(path: &str, method: &str) -> String {
    format!(
        "/paths/{}/{method}",
        path.replace('~', "~0").replace('/', "~1")
    )
}

/// Adds (or replaces) the keys of `patch` in the object at `pointer`. A
/// pointer that names nothing is left alone; tests/api/docs.rs checks
/// that every change arrived.
fn merge(doc: &mut Value, pointer: &str, patch: Value) {
    if let (Some(Value::Object(target)), Value::Object(patch)) = (doc.pointer_mut(pointer), patch) {
        target.extend(patch);
    }
}

/// A regex matching `text` literally, letters in either case.
fn any_case(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
            } else if "^$\\.*+?()[]{}|/".contains(c) {
                // ECMA-262 syntax characters; escaping anything else is an
                // error in Unicode mode.
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}
