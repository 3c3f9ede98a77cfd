//! Label values. Every one comes from a fixed set, whatever a client
//! sends: an invented method is `other`, an unknown path is `unmatched`,
//! a status shorty never sends is its class. So no request can add series.

use axum::http::Method;

/// The route label of redirects (`GET`/`HEAD /{code}`).
pub const REDIRECT_ROUTE: &str = "/{code}";

/// The route label for requests that matched no route (404s): raw paths
/// never become labels, so scanners cannot grow the series count.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// How a redirect request ended, as counted by `shorty_redirects_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectOutcome {
    Found,
    NotFound,
    Gone,
}

/// Which rate limit refused a request, as counted by
/// `shorty_rate_limited_total{rule}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimitRule {
    Create,
    Api,
    Redirect,
    /// Failed authentications per client.
    Auth,
}

impl LimitRule {
    /// Every rule, in the order of their counters.
    pub const ALL: [LimitRule; 4] = [
        LimitRule::Create,
        LimitRule::Api,
        LimitRule::Redirect,
        LimitRule::Auth,
    ];

    /// The label value and the rule's name in logs and headers.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitRule::Create => "create",
            LimitRule::Api => "api",
            LimitRule::Redirect => "redirect",
            LimitRule::Auth => "auth",
        }
    }
}

/// The `method` label: the standard methods by name, anything else `other`.
pub fn method_label(method: &Method) -> &'static str {
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::TRACE, "TRACE"),
        (Method::CONNECT, "CONNECT"),
    ];
    KNOWN
        .iter()
        .find(|(known, _)| known == method)
        .map_or("other", |(_, label)| label)
}

/// The `status` label: the statuses shorty answers with by number, any
/// other by its class (`5xx`), so the set of values is fixed.
pub fn status_label(status: u16) -> &'static str {
    const SENT: [(u16, &str); 23] = [
        (200, "200"),
        (201, "201"),
        (204, "204"),
        (301, "301"),
        (302, "302"),
        (307, "307"),
        (308, "308"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (408, "408"),
        (409, "409"),
        (410, "410"),
        (413, "413"),
        (415, "415"),
        (422, "422"),
        (429, "429"),
        (431, "431"),
        (500, "500"),
        (501, "501"),
        (503, "503"),
    ];
    if let Some((_, label)) = SENT.iter().find(|(sent, _)| *sent == status) {
        return label;
    }
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_fixed_sets() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        for invented in ["FOO0", "get", "PROPFIND", "X"] {
            let method = Method::from_bytes(invented.as_bytes()).unwrap();
            assert_eq!(method_label(&method), "other", "{invented}");
        }
        assert_eq!(status_label(302), "302");
        assert_eq!(status_label(429), "429");
        assert_eq!(status_label(418), "4xx");
        assert_eq!(status_label(599), "5xx");
        assert_eq!(status_label(102), "1xx");
    }
}
