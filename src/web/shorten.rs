//! `/`: the shorten page. Paste a URL, optionally an alias, an expiry, a
//! click cap and a password; get the short link with a copy button, its
//! QR code and a link to its page. Works without JavaScript (a plain
//! form post); the script only adds the copy button.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::form::{field_errors, filled, whole_number, PageForm};
use super::page::{copy_limit_headers, render, Choice, Errors, Layout, PageError};
use super::visitor::Visitor;
use crate::api::extract::Caller;
use crate::api::AppState;
use crate::domain::Scope;
use crate::error::AppError;
use crate::links::input::CreateBody;
use crate::links::view::now_ms;
use crate::ratelimit::LimitKey;
use crate::store::LinkRecord;
use crate::telemetry::metrics::LimitRule;

/// The expiry choices, as (form value, label, seconds).
pub const EXPIRIES: [(&str, &str, i64); 6] = [
    ("", "Never", 0),
    ("1h", "In an hour", 3600),
    ("1d", "In a day", 86_400),
    ("7d", "In a week", 7 * 86_400),
    ("30d", "In 30 days", 30 * 86_400),
    ("1y", "In a year", 365 * 86_400),
];

/// What the shorten form sends (and shows again after an error).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ShortenForm {
    csrf: String,
    pub url: String,
    pub alias: String,
    pub expires: String,
    pub max_clicks: String,
    password: String,
}

/// The link just made, as the result shows it.
pub struct Created {
    pub code: String,
    pub short_url: String,
    pub url: String,
    pub max_clicks: Option<i64>,
    pub expires_at: Option<String>,
    pub has_password: bool,
}

#[derive(Template)]
#[template(path = "shorten.html")]
struct ShortenPage {
    layout: Layout,
    /// Whether this visitor may create links (anonymous creation on, or
    /// signed in).
    can_create: bool,
    form: ShortenForm,
    errors: Errors,
    /// A message about the whole form (rate limited, not allowed).
    notice: Option<String>,
    created: Option<Created>,
    expiries: Vec<Choice>,
}

impl ShortenPage {
    fn new(visitor: &Visitor, state: &AppState) -> ShortenPage {
        ShortenPage {
            layout: visitor.layout("Shorten a link", "shorten"),
            can_create: state.allow_anonymous || visitor.session.is_some(),
            form: ShortenForm::default(),
            errors: Errors::default(),
            notice: None,
            created: None,
            expiries: expiry_choices(""),
        }
    }
}

fn expiry_choices(current: &str) -> Vec<Choice> {
    let options: Vec<_> = EXPIRIES.iter().map(|&(v, l, _)| (v, l)).collect();
    Choice::list(&options, current)
}

/// `GET /`: the empty form.
pub async fn page(State(state): State<Arc<AppState>>, visitor: Visitor) -> Response {
    let page = ShortenPage::new(&visitor, &state);
    render(&page, StatusCode::OK)
}

/// `POST /`: creates the link and shows it, or the form again with every
/// problem next to its field.
pub async fn create(
    State(state): State<Arc<AppState>>,
    visitor: Visitor,
    headers: HeaderMap,
    PageForm(form): PageForm<ShortenForm>,
) -> Result<Response, PageError> {
    visitor.check_csrf(&form.csrf, &headers)?;
    let mut page = ShortenPage::new(&visitor, &state);
    let mut limited = None;
    let (status, page) = match attempt(&state, &visitor, &form, &mut page).await {
        Ok(record) => {
            page.created = Some(Created {
                short_url: state.links.short_url(&record.code),
                code: record.code,
                url: record.url,
                max_clicks: record.max_clicks,
                expires_at: record.expires_at.map(super::format::time),
                has_password: record.password_hash.is_some(),
            });
            (StatusCode::CREATED, page)
        }
        Err(error) => {
            page.expiries = expiry_choices(&form.expires);
            page.form = form;
            page.form.password.clear();
            let status = error.status();
            if let Err(other) = field_errors(error, &mut page.errors) {
                match other {
                    AppError::Conflict(_) => page.errors.push("alias", "that alias is taken"),
                    AppError::Unavailable(_) | AppError::Internal(_) => {
                        return Err(other.into());
                    }
                    AppError::RateLimited(decision) => {
                        page.notice = Some(format!(
                            "You are creating links too quickly. Try again in {} s.",
                            decision.retry_after_secs
                        ));
                        limited = Some(AppError::RateLimited(decision));
                    }
                    other => page.notice = Some(other.to_string()),
                }
            }
            (status, page)
        }
    };
    let mut response = render(&page, status);
    if let Some(limited) = limited {
        copy_limit_headers(limited, &mut response);
    }
    Ok(response)
}

async fn attempt(
    state: &AppState,
    visitor: &Visitor,
    form: &ShortenForm,
    page: &mut ShortenPage,
) -> Result<LinkRecord, AppError> {
    let caller = visitor.caller();
    let owner = match &caller {
        Caller::Anonymous if state.allow_anonymous => None,
        Caller::Anonymous => {
            return Err(AppError::Unauthorized("sign in to create links".to_owned()))
        }
        caller => caller.require(Scope::LinksWrite)?.owner(),
    };
    if caller != Caller::Admin {
        let decision = state
            .limits
            .check(LimitRule::Create, &LimitKey::client(visitor.ip))
            .await;
        if !decision.allowed {
            if let Some(metrics) = &state.metrics {
                metrics.record_rate_limited(LimitRule::Create);
            }
            return Err(AppError::RateLimited(decision));
        }
    }
    let ttl = match EXPIRIES.iter().find(|(value, _, _)| *value == form.expires) {
        Some(&(_, _, seconds)) => seconds,
        None => {
            page.errors.push("expires", "choose one of the options");
            0
        }
    };
    let max_clicks = whole_number("max_clicks", &form.max_clicks, &mut page.errors);
    let body = CreateBody {
        url: filled(&form.url),
        alias: filled(&form.alias),
        ttl: (ttl > 0).then_some(ttl),
        max_clicks,
        password: (!form.password.is_empty()).then(|| form.password.clone()),
        ..CreateBody::default()
    };
    let spec = match body.validate(state.links.rules(), now_ms()) {
        Ok(spec) if !page.errors.any() => spec,
        Ok(_) => return Err(AppError::Validation(Vec::new())),
        Err(e) => return Err(e),
    };
    let record = state.links.create(spec, owner).await?;
    if let Some(metrics) = &state.metrics {
        metrics.record_links_created(1);
    }
    Ok(record)
}
