//! Clicks per day as an SVG bar chart, drawn on the server: no chart
//! library, no script, and a link with millions of clicks costs the same
//! as one with ten (one bar per day of the range, at most 366). People
//! and bots are stacked; each bar has a `<title>` for a tooltip, and the
//! page lists the same numbers in a table for screen readers.
//!
//! Only numbers and dates this module formats go into the markup, so it
//! needs no escaping; colours come from the stylesheet's classes.

use std::fmt::Write as _;

use crate::analytics::view::DailyClicks;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
/// Room for the count labels on the left and the dates below.
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 30.0;
/// Room above the plot for the top count label.
const TOP: f64 = 20.0;
/// Half the width of a date label (`MM-DD`), to keep labels inside.
const HALF_LABEL: f64 = 24.0;

/// The smallest "nice" number (1, 2 or 5 times a power of ten) at least
/// `max`, so the axis reads 0, half and the top in round figures.
fn nice_ceiling(max: i64) -> i64 {
    if max <= 4 {
        return 4;
    }
    let mut step = 1i64;
    loop {
        for m in [1, 2, 5] {
            if let Some(top) = step.checked_mul(m) {
                if top >= max {
                    return top;
                }
            }
        }
        match step.checked_mul(10) {
            Some(next) => step = next,
            None => return max,
        }
    }
}

/// The chart of `days` (in order), `title_id` naming its title element.
pub fn daily_svg(days: &[DailyClicks], title_id: &str) -> String {
    let max = days.iter().map(|d| d.human + d.bots).max().unwrap_or(0);
    let top = nice_ceiling(max);
    let plot_w = WIDTH - LEFT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let mut svg = String::with_capacity(256 + days.len() * 220);
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-labelledby=\"{title_id}\" preserveAspectRatio=\"xMidYMid meet\">\
         <title id=\"{title_id}\">Clicks per day, {} to {}: {} in all</title>",
        days.first().map_or("", |d| d.date.as_str()),
        days.last().map_or("", |d| d.date.as_str()),
        days.iter().map(|d| d.human + d.bots).sum::<i64>(),
    );
    for i in 0..=2 {
        let value = top * i / 2;
        let y = TOP + plot_h - plot_h * value as f64 / top as f64;
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{WIDTH}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{value}</text>",
            LEFT - 6.0,
            y + 4.0
        );
    }
    let n = days.len().max(1) as f64;
    let slot = plot_w / n;
    let bar = (slot * 0.72).max(1.0);
    for (i, day) in days.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        let human_h = plot_h * day.human as f64 / top as f64;
        let bots_h = plot_h * day.bots as f64 / top as f64;
        let base = TOP + plot_h;
        let _ = write!(
            svg,
            "<g><title>{}: {} clicks ({} people, {} bots)</title>",
            day.date,
            day.human + day.bots,
            day.human,
            day.bots
        );
        if day.human > 0 {
            let _ = write!(
                svg,
                "<rect class=\"human\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{human_h:.1}\"/>",
                base - human_h
            );
        }
        if day.bots > 0 {
            let _ = write!(
                svg,
                "<rect class=\"bots\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{bots_h:.1}\"/>",
                base - human_h - bots_h
            );
        }
        // An invisible full-height target, so the tooltip shows on empty days too.
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{TOP}\" width=\"{slot:.1}\" height=\"{plot_h:.1}\" fill=\"transparent\"/></g>",
            LEFT + slot * i as f64
        );
    }
    for i in label_days(days.len()) {
        let x = (LEFT + slot * i as f64 + slot / 2.0).clamp(LEFT + HALF_LABEL, WIDTH - HALF_LABEL);
        let _ = write!(
            svg,
            "<text class=\"axis\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            HEIGHT - 6.0,
            &days[i].date[5..]
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Which days get a date under the axis: the first, the last, and a few
/// evenly spaced between (at most 7 in all).
fn label_days(n: usize) -> Vec<usize> {
    match n {
        0 => Vec::new(),
        1 => vec![0],
        n => {
            let gaps = (n - 1).min(6);
            (0..=gaps).map(|k| k * (n - 1) / gaps).collect()
        }
    }
}

/// A horizontal bar of `value` out of `max`, for the top lists.
pub fn share_svg(value: i64, max: i64) -> String {
    let pct = if max > 0 {
        (value as f64 * 100.0 / max as f64).clamp(0.0, 100.0)
    } else {
        0.0
    };
    format!(
        "<svg viewBox=\"0 0 100 8\" preserveAspectRatio=\"none\" aria-hidden=\"true\" focusable=\"false\">\
         <rect width=\"{pct:.1}\" height=\"8\" rx=\"2\"/></svg>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(date: &str, human: i64, bots: i64) -> DailyClicks {
        DailyClicks {
            date: date.to_owned(),
            clicks: human + bots,
            human,
            bots,
        }
    }

    #[test]
    fn axis_tops_are_round() {
        for (max, top) in [
            (0, 4),
            (3, 4),
            (5, 5),
            (7, 10),
            (11, 20),
            (21, 50),
            (99, 100),
            (101, 200),
        ] {
            assert_eq!(nice_ceiling(max), top, "{max}");
        }
        assert_eq!(nice_ceiling(i64::MAX), i64::MAX);
    }

    #[test]
    fn one_bar_group_per_day_with_its_numbers() {
        let days = [
            day("2026-11-30", 3, 1),
            day("2026-12-01", 0, 0),
            day("2026-12-02", 10, 0),
        ];
        let svg = daily_svg(&days, "t");
        assert_eq!(svg.matches("<g>").count(), 3);
        assert!(svg.contains("2026-11-30: 4 clicks (3 people, 1 bots)"));
        assert!(svg.contains("in all"));
        assert_eq!(svg.matches("class=\"human\"").count(), 2);
        assert_eq!(svg.matches("class=\"bots\"").count(), 1);
        // The tallest bar reaches the top: 10 of a top of 10.
        assert!(svg.contains(">10</text>"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn a_year_of_days_gets_few_labels() {
        assert_eq!(label_days(0), Vec::<usize>::new());
        assert_eq!(label_days(1), [0]);
        assert_eq!(label_days(2), [0, 1]);
        let year = label_days(366);
        assert_eq!(year.len(), 7);
        assert_eq!((year[0], year[6]), (0, 365));
    }

    #[test]
    fn shares_are_bounded() {
        assert!(share_svg(5, 10).contains("width=\"50.0\""));
        assert!(share_svg(5, 0).contains("width=\"0.0\""));
        assert!(share_svg(20, 10).contains("width=\"100.0\""));
    }
}
