//! The rows a click flush writes and the stats read back: daily counts per
//! link, daily counts per link and dimension value, and daily requests for
//! unknown codes. Never one row per click, and never an address, a raw
//! user agent or a whole referrer URL.

/// A dimension of the click analytics, stored as a small integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    Referrer = 1,
    Browser = 2,
    Os = 3,
    Device = 4,
    Country = 5,
}

impl Dimension {
    /// Every dimension, in stored order.
    pub const ALL: [Dimension; 5] = [
        Dimension::Referrer,
        Dimension::Browser,
        Dimension::Os,
        Dimension::Device,
        Dimension::Country,
    ];

    /// The stored number.
    pub fn id(self) -> i16 {
        self as i16
    }

    /// The dimension stored as `id`, if any.
    pub fn from_id(id: i64) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| i64::from(d.id()) == id)
    }
}

/// Visits to one link on one UTC day (days since 1970-01-01).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DayRow {
    pub link_id: i64,
    pub day: i32,
    pub human: i64,
    pub bots: i64,
}

/// Visits to one link on one day with one value of a dimension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueRow {
    pub link_id: i64,
    pub day: i32,
    pub dim: Dimension,
    pub value: String,
    pub clicks: i64,
}

/// One flush: an id that stays the same when the flush is retried, so it
/// is never written twice, and its rows, each list sorted by key (rows are
/// then locked in one order, and SQLite pages are touched once).
#[derive(Clone, Copy, Debug)]
pub struct ClickBatch<'a> {
    pub id: i64,
    /// Human clicks to add to each link's `clicks`, by link id.
    pub link_clicks: &'a [(i64, i64)],
    pub days: &'a [DayRow],
    pub values: &'a [ValueRow],
    /// Requests for unknown codes, by day.
    pub unknown: &'a [(i32, i64)],
    /// When it is written, in Unix milliseconds.
    pub now: i64,
}

/// One link's analytics over a range of days, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkStatsRows {
    /// Days with visits, in order; days without are absent.
    pub days: Vec<DayRow>,
    /// The top values of each dimension over the range, most clicks first.
    pub top: Vec<(Dimension, String, i64)>,
}

impl LinkStatsRows {
    /// Builds the rows from `(day, human, bots)` and `(dim, value, clicks)`
    /// tuples as both backends read them.
    pub fn from_tuples(
        link_id: i64,
        days: Vec<(i32, i64, i64)>,
        top: Vec<(i64, String, i64)>,
    ) -> LinkStatsRows {
        LinkStatsRows {
            days: days
                .into_iter()
                .map(|(day, human, bots)| DayRow {
                    link_id,
                    day,
                    human,
                    bots,
                })
                .collect(),
            top: top
                .into_iter()
                .filter_map(|(dim, value, n)| Some((Dimension::from_id(dim)?, value, n)))
                .collect(),
        }
    }
}

impl OwnerStatsRows {
    /// Builds the rows from `(day, human, bots)` sums and the top links.
    pub fn from_tuples(
        days: Vec<(i32, i64, i64)>,
        top_links: Vec<(String, i64, i64)>,
    ) -> OwnerStatsRows {
        OwnerStatsRows {
            human: days.iter().map(|d| d.1).sum(),
            bots: days.iter().map(|d| d.2).sum(),
            days: days
                .into_iter()
                .map(|(day, human, bots)| DayRow {
                    link_id: 0,
                    day,
                    human,
                    bots,
                })
                .collect(),
            top_links,
        }
    }
}

/// Totals over the links of one owner, or of everyone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnerStatsRows {
    pub human: i64,
    pub bots: i64,
    /// Days with visits, in order (`link_id` is 0).
    pub days: Vec<DayRow>,
    /// The links with most visits over the range: code, human, bots.
    pub top_links: Vec<(String, i64, i64)>,
}

/// Which links an owner query covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner<'a> {
    Everyone,
    User(&'a str),
}

/// The tables of daily analytics rows, which retention purges by `day`.
pub const STATS_TABLES: [&str; 3] = ["click_days", "click_values", "unknown_days"];

/// Top values kept per dimension, and top links per owner.
pub const TOP: u32 = 10;
