//! Who is looking at a page: their session (from its cookie, checked
//! against the store on every request), the CSRF token their forms must
//! carry, and their address.
//!
//! Signed-in forms carry the session's own token. Before sign-in (the
//! sign-in form, an anonymous shorten) the token is a random value the
//! browser also holds in a `SameSite=Strict` cookie, and the two must
//! match. Either way, a form posted from another site (`Sec-Fetch-Site`)
//! is refused too.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use cookie::{Cookie, SameSite};
use parking_lot::Mutex;

use super::page::{Layout, PageError, SignedIn};
use crate::api::extract::Caller;
use crate::api::AppState;
use crate::client_ip::ClientIp;
use crate::domain::session::{looks_like_token, random_token, tokens_match};
use crate::domain::{Principal, Scope};
use crate::error::AppError;
use crate::ratelimit::LimitKey;
use crate::users::sessions::{Session, SessionActor, SESSION_TTL};

/// The cookie holding the session's secret.
pub const SESSION_COOKIE: &str = "shorty_session";
/// The cookie holding the CSRF token of a visitor not signed in.
pub const CSRF_COOKIE: &str = "shorty_csrf";
/// Longest `Cookie` header looked at; anything longer is ignored whole.
const MAX_COOKIE_HEADER: usize = 8 * 1024;

/// See the module doc.
pub struct Visitor {
    pub session: Option<Session>,
    /// The session cookie's secret, for signing out.
    session_secret: Option<String>,
    /// The token of the CSRF cookie, or a new one (being set).
    cookie_csrf: String,
    /// Whether that token is new: no form can carry it yet.
    fresh_csrf: bool,
    pub ip: IpAddr,
    secure: bool,
}

/// Cookies a request's visitor wants set, added to whatever response the
/// handler gives (an error page included) by [`with_cookies`].
#[derive(Clone, Default)]
pub struct PendingCookies(Arc<Mutex<Vec<Cookie<'static>>>>);

/// Middleware of every page: lets [`Visitor`] set cookies.
pub async fn with_cookies(mut req: Request, next: Next) -> Response {
    let pending = PendingCookies::default();
    req.extensions_mut().insert(pending.clone());
    let mut response = next.run(req).await;
    for cookie in pending.0.lock().drain(..) {
        append_cookie(&mut response, &cookie);
    }
    response
}

/// The session secret and CSRF token the `Cookie` headers hold.
fn read_cookies(headers: &HeaderMap) -> (Option<String>, Option<String>) {
    let (mut session, mut csrf) = (None, None);
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        if text.len() > MAX_COOKIE_HEADER {
            continue;
        }
        for cookie in Cookie::split_parse(text).flatten() {
            match cookie.name() {
                SESSION_COOKIE => session = Some(cookie.value().to_owned()),
                CSRF_COOKIE if looks_like_token(cookie.value()) => {
                    csrf = Some(cookie.value().to_owned())
                }
                _ => {}
            }
        }
    }
    (session, csrf)
}

impl FromRequestParts<Arc<AppState>> for Visitor {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Visitor, PageError> {
        let ip = parts
            .extensions
            .get::<ClientIp>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0);
        let (session_secret, csrf) = read_cookies(&parts.headers);
        let mut session = None;
        let mut clear_session = false;
        if let Some(secret) = &session_secret {
            // A session cookie is a credential: limited like a bearer token.
            let client = LimitKey::client(ip);
            if let Some(refused) = state.limits.auth_blocked(&client).await {
                return Err(AppError::RateLimited(refused).into());
            }
            session = state
                .users
                .session(secret, state.admin_token.as_ref())
                .await?;
            if session.is_none() {
                clear_session = true;
                state.limits.auth_failed(&client).await;
            }
        }
        let fresh_csrf = session.is_none() && csrf.is_none();
        let visitor = Visitor {
            session,
            session_secret,
            cookie_csrf: csrf.unwrap_or_else(random_token),
            fresh_csrf,
            ip,
            secure: state.secure_cookies,
        };
        if let Some(pending) = parts.extensions.get::<PendingCookies>() {
            let mut cookies = pending.0.lock();
            if fresh_csrf {
                let token = visitor.cookie_csrf.clone();
                cookies.push(visitor.cookie(CSRF_COOKIE, token, SESSION_TTL));
            }
            if clear_session {
                cookies.push(visitor.removal(SESSION_COOKIE));
            }
        }
        Ok(visitor)
    }
}

impl Visitor {
    /// The token this visitor's forms carry.
    pub fn csrf(&self) -> &str {
        match &self.session {
            Some(session) => &session.csrf,
            None => &self.cookie_csrf,
        }
    }

    /// Refuses a form without this visitor's token, or posted from another
    /// site.
    pub fn check_csrf(&self, presented: &str, headers: &HeaderMap) -> Result<(), PageError> {
        let cross_site = headers
            .get("sec-fetch-site")
            .is_some_and(|v| v != "same-origin" && v != "none");
        if cross_site || self.fresh_csrf || !tokens_match(presented, self.csrf()) {
            return Err(AppError::Forbidden(
                "this form has expired or came from another site; reload the page and send it again"
                    .to_owned(),
            )
            .into());
        }
        Ok(())
    }

    /// Who the visitor acts as, in the API's terms.
    pub fn caller(&self) -> Caller {
        match self.session.as_ref().map(|s| &s.actor) {
            Some(SessionActor::Admin) => Caller::Admin,
            Some(SessionActor::Key(grant)) => Caller::Key(Arc::clone(grant)),
            None => Caller::Anonymous,
        }
    }

    /// The principal of a signed-in visitor whose key carries `scope`; a
    /// visitor not signed in is sent to sign in and come back to `here`.
    pub fn require(&self, scope: Scope, here: &str) -> Result<Principal, PageError> {
        if self.session.is_none() {
            return Err(PageError::SignIn {
                next: here.to_owned(),
            });
        }
        Ok(self.caller().require(scope)?)
    }

    /// Refuses anyone but the admin (sending visitors not signed in to
    /// sign in first).
    pub fn require_admin(&self, here: &str) -> Result<(), PageError> {
        if self.session.is_none() {
            return Err(PageError::SignIn {
                next: here.to_owned(),
            });
        }
        Ok(self.caller().require_admin()?)
    }

    /// The layout's data for a page titled `title`.
    pub fn layout(&self, title: impl Into<String>, current: &'static str) -> Layout {
        let user = self.session.as_ref().map(|s| match &s.actor {
            SessionActor::Admin => SignedIn {
                label: "admin".to_owned(),
                admin: true,
            },
            SessionActor::Key(grant) => SignedIn {
                label: grant.user_id.clone(),
                admin: false,
            },
        });
        Layout {
            title: title.into(),
            current,
            user,
            csrf: self.csrf().to_owned(),
        }
    }

    /// The session cookie's secret, for signing out.
    pub fn session_secret(&self) -> Option<&str> {
        self.session_secret.as_deref()
    }

    /// A cookie as every cookie of these pages is: `HttpOnly`,
    /// `SameSite=Strict`, for the whole site, `Secure` over https.
    pub fn cookie(&self, name: &'static str, value: String, lasts: Duration) -> Cookie<'static> {
        Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.secure)
            .max_age(cookie::time::Duration::seconds(lasts.as_secs() as i64))
            .build()
    }

    /// A cookie that removes `name`.
    pub fn removal(&self, name: &'static str) -> Cookie<'static> {
        self.cookie(name, String::new(), Duration::ZERO)
    }
}

/// Adds a `Set-Cookie` header.
pub fn append_cookie(response: &mut Response, cookie: &Cookie<'_>) {
    if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
