//! A link as the pages show it: its short link, where it goes (when that
//! may be shown), its state in words, and its settings.

use super::format;
use crate::links::view::now_ms;
use crate::links::LinkService;
use crate::store::LinkRecord;

/// See the module doc.
#[derive(Clone, Debug)]
pub struct LinkInfo {
    pub code: String,
    pub short_url: String,
    /// The target; `None` on a preview of a link protected by a password or
    /// limited in clicks, whose target only following it may reveal.
    pub url: Option<String>,
    /// `Active`, `Expired` or `Used up`.
    pub state: &'static str,
    /// Whether it still redirects.
    pub live: bool,
    pub created: String,
    pub expires: Option<String>,
    pub max_clicks: Option<i64>,
    pub clicks: String,
    pub redirect_status: u16,
    pub tags: Vec<String>,
    pub has_password: bool,
    pub owner: Option<String>,
}

impl LinkInfo {
    /// The full picture, for the link's owner or the admin; `clicks`
    /// includes the ones not yet written.
    pub fn of(links: &LinkService, record: &LinkRecord, clicks: i64) -> LinkInfo {
        let expired = record.expires_at.is_some_and(|at| at <= now_ms());
        let used_up = record.max_clicks.is_some_and(|max| clicks >= max);
        let state = match (expired, used_up) {
            (true, _) => "Expired",
            (_, true) => "Used up",
            _ => "Active",
        };
        LinkInfo {
            code: record.code.clone(),
            short_url: links.short_url(&record.code),
            url: Some(record.url.clone()),
            state,
            live: !expired && !used_up,
            created: format::time(record.created_at),
            expires: record.expires_at.map(format::time),
            max_clicks: record.max_clicks,
            clicks: format::count(clicks),
            redirect_status: record.redirect_status as u16,
            tags: record.tags.clone(),
            has_password: record.password_hash.is_some(),
            owner: record.owner.clone(),
        }
    }

    /// What anyone may see: no target behind a password or a click limit
    /// (following the link would not show it either), no owner.
    pub fn preview(mut self) -> LinkInfo {
        if self.has_password || self.max_clicks.is_some() {
            self.url = None;
        }
        self.owner = None;
        self
    }
}
