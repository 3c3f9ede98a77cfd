//! `/ui/links/{code}`: a link's page. Its owner (or the admin) sees the
//! short link, QR code and downloads, the target, its settings and its
//! analytics for a chosen range of days, computed by the server from the
//! daily rollups (so a link with millions of clicks renders as fast as
//! one with ten). Anyone else sees a preview: the short link, its QR code
//! and, unless a password or a click limit guards it, where it goes.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::chart;
use super::form::{PageCode, PageQuery};
use super::format;
use super::link_info::LinkInfo;
use super::page::{render, Layout, PageError};
use super::visitor::Visitor;
use crate::analytics::range::{date_of, DayRange};
use crate::analytics::view::{DailyClicks, LinkStats, NameClicks};
use crate::api::AppState;
use crate::domain::Scope;
use crate::links::not_deleted;

/// The range presets offered above the chart, in days.
const PRESETS: [i32; 4] = [7, 30, 90, 365];

/// `?from=&to=` (dates) and `?saved=1` after an edit.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LinkQuery {
    from: String,
    to: String,
    saved: String,
}

/// One entry of a top list.
pub struct TopRow {
    pub name: String,
    pub clicks: String,
    pub bar: String,
}

/// One dimension's top list.
pub struct TopList {
    pub title: &'static str,
    pub rows: Vec<TopRow>,
    /// Said when the list is empty.
    pub empty: &'static str,
}

/// A range preset link.
pub struct Preset {
    pub label: String,
    pub href: String,
    pub current: bool,
}

/// The analytics part of the page.
pub struct StatsView {
    pub total: String,
    pub human: String,
    pub bots: String,
    pub chart: String,
    pub daily: Vec<DailyClicks>,
    pub tops: Vec<TopList>,
}

#[derive(Template)]
#[template(path = "link.html")]
struct LinkPage {
    layout: Layout,
    link: LinkInfo,
    /// The owner or the admin: everything; otherwise a preview.
    full: bool,
    can_edit: bool,
    saved: bool,
    /// Why the analytics are not shown, when they are not.
    stats_note: Option<&'static str>,
    stats: Option<StatsView>,
    from: String,
    to: String,
    range_error: Option<String>,
    presets: Vec<Preset>,
}

fn top_list(title: &'static str, empty: &'static str, items: &[NameClicks]) -> TopList {
    let max = items.iter().map(|i| i.clicks).max().unwrap_or(0);
    TopList {
        title,
        empty,
        rows: items
            .iter()
            .map(|i| TopRow {
                name: i.name.clone(),
                clicks: format::count(i.clicks),
                bar: chart::share_svg(i.clicks, max),
            })
            .collect(),
    }
}

fn stats_view(stats: &LinkStats) -> StatsView {
    let referrers: Vec<NameClicks> = stats
        .referrers
        .iter()
        .map(|r| NameClicks {
            name: r.host.clone(),
            clicks: r.clicks,
        })
        .collect();
    StatsView {
        total: format::count(stats.total),
        human: format::count(stats.human),
        bots: format::count(stats.bots),
        chart: chart::daily_svg(&stats.daily, "chart-title"),
        daily: stats.daily.clone(),
        tops: vec![
            top_list("Referrers", "No visits came with a referrer.", &referrers),
            top_list("Browsers", "No visits yet.", &stats.browsers),
            top_list("Operating systems", "No visits yet.", &stats.os),
            top_list("Devices", "No visits yet.", &stats.devices),
            top_list(
                "Countries",
                "No countries: the server has no GeoIP database.",
                &stats.countries,
            ),
        ],
    }
}

fn presets(code: &str, today: i32, range: DayRange) -> Vec<Preset> {
    PRESETS
        .iter()
        .map(|&days| Preset {
            label: if days == 365 {
                "1 year".to_owned()
            } else {
                format!("{days} days")
            },
            href: format!(
                "/ui/links/{code}?from={}&to={}",
                date_of(today - (days - 1)),
                date_of(today)
            ),
            current: range.to == today && range.to - range.from == days - 1,
        })
        .collect()
}

/// `GET /ui/links/{code}`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    visitor: Visitor,
    PageCode(code): PageCode,
    PageQuery(query): PageQuery<LinkQuery>,
) -> Result<Response, PageError> {
    let record = not_deleted(state.links.get_any(code.as_str()).await?)?;
    let caller = visitor.caller();
    let owns = |scope| {
        caller
            .require(scope)
            .is_ok_and(|who| who.owns(record.owner.as_deref()))
    };
    let (full, can_edit, can_read_stats) = (
        owns(Scope::LinksRead),
        owns(Scope::LinksWrite),
        owns(Scope::StatsRead),
    );
    let clicks = state.links.view(&record).clicks;
    let mut link = LinkInfo::of(&state.links, &record, clicks);
    if !full {
        link = link.preview();
    }
    let today = state.analytics.clock().today();
    let from = (!query.from.is_empty()).then_some(query.from.as_str());
    let to = (!query.to.is_empty()).then_some(query.to.as_str());
    let (range, range_error) = match state.analytics.range(from, to) {
        Ok(range) => (range, None),
        Err(e) => (state.analytics.range(None, None)?, Some(e.to_string())),
    };
    let stats_note = match (visitor.session.is_some(), full, can_read_stats) {
        (false, _, _) => Some("Sign in as its owner to see who clicked it."),
        (true, false, _) => Some("This link belongs to someone else, so its analytics are theirs."),
        (true, true, false) => {
            Some("Your key lacks the stats:read scope, so analytics are hidden.")
        }
        (true, true, true) => None,
    };
    let stats = if stats_note.is_none() {
        Some(stats_view(
            &state.analytics.link_stats(record.id, range).await?,
        ))
    } else {
        None
    };
    let title = format!("/{}", record.code);
    let page = LinkPage {
        layout: visitor.layout(title, if full { "links" } else { "" }),
        presets: presets(&record.code, today, range),
        link,
        full,
        can_edit,
        saved: query.saved == "1",
        stats_note,
        stats,
        from: date_of(range.from),
        to: date_of(range.to),
        range_error,
    };
    let status = if page.range_error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(render(&page, status))
}
