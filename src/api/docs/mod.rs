//! The OpenAPI 3.1 document, generated from the handlers' annotations and
//! completed by `contract::apply_contract` with what annotations cannot say, and
//! Swagger UI served from assets compiled into the binary (no CDN).

use std::sync::{Arc, LazyLock};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde_json::Value;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

mod contract;
mod patterns;

use super::{health, link_list, links, password, prometheus, qr, redirect, stats, users, AppState};
use crate::analytics::view::{
    DailyClicks, HostClicks, LinkStats, NameClicks, OwnerStats, TopLink, UnknownDay,
};
use crate::domain::{OwnHost, Scope, UrlPolicy};
use crate::error::{AppError, FieldError, Problem};
use crate::links::input::{CreateBody, PatchBody};
use crate::links::view::LinkView;
use crate::users::input::{KeyBody, UserBody};
use crate::users::view::{IssuedKeyView, KeyList, KeyView, UserPage, UserView};
use contract::apply_contract;

/// The API description every client and the fuzzer in CI work from.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "shorty",
        description = "A fast, self-contained URL shortener. Errors are RFC 9457 \
                       problem documents (application/problem+json)."
    ),
    paths(
        redirect::follow,
        password::unlock,
        qr::qr,
        links::create,
        links::create_batch,
        link_list::list,
        links::show,
        links::update,
        links::remove,
        stats::link_stats,
        stats::caller_stats,
        users::put_user,
        users::show_user,
        users::list_users,
        users::delete_user,
        users::issue_key,
        users::list_keys,
        users::revoke_key,
        health::health,
        health::healthz,
        health::ready,
        prometheus::scrape,
        docs_page,
        openapi_json,
    ),
    components(schemas(
        CreateBody,
        PatchBody,
        LinkView,
        links::LinkPage,
        links::BatchItem,
        links::BatchPage,
        Problem,
        FieldError,
        UserBody,
        KeyBody,
        Scope,
        UserView,
        UserPage,
        KeyView,
        IssuedKeyView,
        KeyList,
        LinkStats,
        OwnerStats,
        DailyClicks,
        NameClicks,
        HostClicks,
        TopLink,
        UnknownDay,
    )),
    modifiers(&BearerAuth, &ProblemResponses),
    tags(
        (name = "redirect", description = "Following short links"),
        (name = "links", description = "Creating and managing links"),
        (name = "users", description = "Users and their API keys"),
        (name = "stats", description = "Click analytics"),
        (name = "operations", description = "Probes, metrics and these docs"),
    )
)]
pub struct ApiDoc;

/// The document as served: utoipa's output with `contract::apply_contract` on top.
/// It depends on the configuration only through the URL rules (the length
/// limit and the service's own hosts), so it is rendered once per rules.
fn document(policy: &UrlPolicy) -> Bytes {
    static GENERATED: LazyLock<Value> =
        LazyLock::new(|| serde_json::to_value(ApiDoc::openapi()).unwrap_or_default());
    type Rendered = (usize, Vec<OwnHost>, Bytes);
    static RENDERED: Mutex<Option<Rendered>> = Mutex::new(None);
    let mut rendered = RENDERED.lock();
    if let Some((max_len, own_hosts, json)) = rendered.as_ref() {
        if *max_len == policy.max_len && *own_hosts == policy.own_hosts {
            return json.clone();
        }
    }
    let mut doc = GENERATED.clone();
    apply_contract(&mut doc, policy);
    let json = Bytes::from(serde_json::to_vec_pretty(&doc).unwrap_or_else(|_| b"{}".to_vec()));
    *rendered = Some((policy.max_len, policy.own_hosts.clone(), json.clone()));
    json
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The admin token (admin_token) or an API key"))
                    .build(),
            ),
        );
    }
}

/// Adds the error responses that follow from each operation's shape, so
/// no operation can forget one: 400/413/415 where a body or query is read,
/// 401 and 403 where credentials are checked, 404 for `{code}`, 429 where a rate
/// limit applies and 503 where the store is used.
struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, doc: &mut Document) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let api = path.starts_with("/api/v1/");
            let store = api || path == "/{code}";
            let operations = [
                item.get.as_mut(),
                item.head.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.patch.as_mut(),
                item.delete.as_mut(),
            ];
            for op in operations.into_iter().flatten() {
                let body = op.request_body.is_some();
                let query = op.parameters.as_ref().is_some_and(|ps| {
                    ps.iter().any(|p| {
                        matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query)
                    })
                });
                let secured = op.security.is_some();
                let rules = [
                    (
                        body || query,
                        "400",
                        "Malformed JSON, an unknown field or a bad query parameter",
                    ),
                    (secured, "401", "Missing or invalid credentials"),
                    (
                        secured && api,
                        "403",
                        "A key without the scope this needs, or someone else's link or user",
                    ),
                    (path.contains("{code}"), "404", "No link has that code"),
                    (body, "413", "The body is over the size limit"),
                    (body, "415", "The body is not application/json"),
                    (
                        api || path == "/{code}",
                        "429",
                        "Rate limited; see Retry-After and RateLimit-*",
                    ),
                    (store, "503", "The store is unreachable; see Retry-After"),
                ];
                for (applies, status, description) in rules {
                    if applies && !op.responses.responses.contains_key(status) {
                        let mut response = problem(description);
                        if status == "429" {
                            response = rate_limit_headers(response);
                        }
                        op.responses
                            .responses
                            .insert(status.to_owned(), RefOr::T(response));
                    }
                }
            }
        }
    }
}

/// A problem+json response with the given description.
pub fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// Documents the headers every 429 carries.
fn rate_limit_headers(mut response: utoipa::openapi::Response) -> utoipa::openapi::Response {
    let headers = [
        ("Retry-After", "Seconds until a retry can succeed"),
        ("RateLimit-Limit", "The bucket size (burst)"),
        ("RateLimit-Remaining", "Requests that would pass now (0)"),
        ("RateLimit-Reset", "Seconds until the bucket is full again"),
    ];
    for (name, description) in headers {
        let header = HeaderBuilder::new()
            .schema(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0)),
            )
            .description(Some(description))
            .build();
        response.headers.insert(name.to_owned(), header);
    }
    response
}

/// The OpenAPI document.
#[utoipa::path(get, path = "/api-docs/openapi.json", tag = "operations",
    responses((status = 200, description = "This OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn openapi_json(State(state): State<Arc<AppState>>) -> Response {
    let json = HeaderValue::from_static("application/json");
    let body = document(&state.links.rules().policy);
    ([(header::CONTENT_TYPE, json)], body).into_response()
}

/// Swagger UI for the document above.
#[utoipa::path(get, path = "/docs", tag = "operations",
    responses((status = 200, description = "Interactive API docs (Swagger UI)", content_type = "text/html", body = String)))]
pub async fn docs_page() -> Response {
    asset("index.html")
}

/// One of Swagger UI's vendored files.
pub async fn docs_asset(Path(file): Path<String>) -> Response {
    asset(&file)
}

fn asset(file: &str) -> Response {
    let (body, content_type): (&'static [u8], &'static str) = match file {
        "index.html" => (
            include_bytes!("../../../assets/swagger-ui/index.html"),
            "text/html; charset=utf-8",
        ),
        "swagger-ui.css" => (
            include_bytes!("../../../assets/swagger-ui/swagger-ui.css"),
            "text/css; charset=utf-8",
        ),
        "swagger-ui-bundle.js" => (
            include_bytes!("../../../assets/swagger-ui/swagger-ui-bundle.js"),
            "text/javascript; charset=utf-8",
        ),
        "swagger-initializer.js" => (
            include_bytes!("../../../assets/swagger-ui/swagger-initializer.js"),
            "text/javascript; charset=utf-8",
        ),
        "favicon-32x32.png" => (
            include_bytes!("../../../assets/swagger-ui/favicon-32x32.png"),
            "image/png",
        ),
        _ => return AppError::NotFound("no such docs file".to_owned()).into_response(),
    };
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; style-src 'self'; \
                 img-src 'self' data:; connect-src 'self'",
            ),
        ),
    ];
    (headers, body).into_response()
}
