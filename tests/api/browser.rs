//! `Browser`: what the page tests need of a browser without running one
//! (tests/ui drives real Chromium): a cookie jar fed by `Set-Cookie`, the
//! CSRF token of the last form, and form posts.

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, COOKIE, SET_COOKIE};
use reqwest::StatusCode;

use crate::helpers::TestApp;

/// One answer: status, headers, body.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// The value of the first `name="csrf"` field.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("a csrf field") + marker.len();
        let end = self.body[start..].find('"').expect("end of the csrf value");
        self.body[start..start + end].to_owned()
    }

    /// The `Location` header.
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `Set-Cookie` header for `name`, whole (attributes included).
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }
}

/// See the module doc.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookies: BTreeMap<String, String>,
    /// Extra headers for every request (a forged `Sec-Fetch-Site`, say).
    pub extra: Vec<(&'static str, String)>,
}

impl<'a> Browser<'a> {
    /// A browser with no cookies yet.
    pub fn new(app: &'a TestApp) -> Browser<'a> {
        Browser {
            app,
            cookies: BTreeMap::new(),
            extra: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let mut request = request.header(COOKIE, self.cookie_header());
        for (name, value) in &self.extra {
            request = request.header(*name, value);
        }
        let response = request.send().await.expect("page request");
        let status = response.status();
        let headers = response.headers().clone();
        for value in headers.get_all(SET_COOKIE) {
            let text = value.to_str().expect("ascii cookie");
            let pair = text.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').expect("name=value");
            if value.is_empty() || text.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = response.text().await.expect("page body");
        Page {
            status,
            headers,
            body,
        }
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.app.anon(reqwest::Method::GET, path);
        self.send(request).await
    }

    /// `POST path` with the form `fields` (urlencoded).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let request = self.app.anon(reqwest::Method::POST, path).form(fields);
        self.send(request).await
    }

    /// `POST path` as a multipart form: `fields`, then `file` (name, bytes)
    /// as the part named `file`.
    pub async fn upload(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, Vec<u8>),
    ) -> Page {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        let part = reqwest::multipart::Part::bytes(file.1).file_name(file.0.to_owned());
        form = form.part("file", part);
        let request = self.app.anon(reqwest::Method::POST, path).multipart(form);
        self.send(request).await
    }

    /// Loads `form_page`, then posts `fields` to `action` with its token.
    pub async fn submit(&mut self, form_page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.get(form_page).await.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    /// Signs in with `token`; returns the answer to the sign-in form.
    pub async fn sign_in(&mut self, token: &str) -> Page {
        self.submit("/ui/login", "/ui/login", &[("token", token)])
            .await
    }
}
