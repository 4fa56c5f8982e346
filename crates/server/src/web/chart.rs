//! The key health chart: deliveries per hour by outcome as stacked bars, drawn on the server
//! as SVG (no JavaScript). Its viewBox scales it to any width; its `<title>` and `<desc>` say
//! what it shows to a screen reader, and each bar's own `<title>` its count.

use maud::{html, Markup};
use trailspark_store::{HourBar, Outcome};

/// The drawing's own units; the page scales them to its width.
const WIDTH: f64 = 480.0;
const HEIGHT: f64 = 230.0;
/// Room for the legend above, the y labels left, the hour labels below.
const TOP: f64 = 34.0;
const LEFT: f64 = 42.0;
const RIGHT: f64 = 6.0;
const BOTTOM: f64 = 26.0;

/// Bottom to top: what went in first, what went wrong on top where it is seen.
const STACK: [Outcome; 4] = [
    Outcome::Applied,
    Outcome::Unchanged,
    Outcome::Duplicate,
    Outcome::Refused,
];

/// The colour of an outcome's bars and legend.
fn colour(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Applied => "#2e7d32",
        Outcome::Unchanged => "#8a94a6",
        Outcome::Duplicate => "#3f6fd1",
        Outcome::Refused => "#c0392b",
    }
}

/// The chart of `hours` (oldest first). `id` is the svg's id and the start of its title's and
/// description's (`{id}-title`, `{id}-desc`): each page that draws a chart names its own.
pub(super) fn hourly_chart(id: &str, hours: &[HourBar]) -> Markup {
    let top = scale_top(hours.iter().map(HourBar::total).max().unwrap_or(0));
    let plot_height = HEIGHT - TOP - BOTTOM;
    let slot = (WIDTH - LEFT - RIGHT) / hours.len().max(1) as f64;
    let y = |count: u64| round(TOP + plot_height * (1.0 - count as f64 / top as f64));
    html! {
        svg id=(id) xmlns="http://www.w3.org/2000/svg" role="img"
            viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } preserveAspectRatio="xMidYMid meet"
            aria-labelledby={ (id) "-title " (id) "-desc" } font-family="system-ui,sans-serif" {
            title id={ (id) "-title" } { "Deliveries per hour by outcome, last 24 hours (UTC)" }
            desc id={ (id) "-desc" } { (description(hours)) }
            (legend())
            @for tick in [0, top / 2, top] {
                line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(y(tick)) y2=(y(tick)) stroke="#e3e6eb" {}
                text x=(LEFT - 4.0) y=(y(tick) + 5.0) text-anchor="end" font-size="14" fill="#5b6577" { (tick) }
            }
            @for (n, hour) in hours.iter().enumerate() {
                (bar(hour, LEFT + slot * n as f64, slot, &y))
                @if n % 3 == 0 {
                    text x=(round(LEFT + slot * (n as f64 + 0.5))) y=(HEIGHT - 8.0) text-anchor="middle"
                        font-size="14" fill="#5b6577" { (hour.hour.format("%H")) }
                }
            }
        }
    }
}

/// One hour's stacked bar: a rect per outcome it has.
fn bar(hour: &HourBar, x: f64, slot: f64, y: &impl Fn(u64) -> f64) -> Markup {
    let width = (slot * 0.7).max(1.0);
    let x = x + (slot - width) / 2.0;
    let mut below = 0;
    let mut rects = Vec::new();
    for outcome in STACK {
        let count = hour.of(outcome);
        if count == 0 {
            continue;
        }
        let (bottom, top) = (y(below), y(below + count));
        below += count;
        rects.push(html! {
            rect class={ "bar " (outcome.as_str()) } data-outcome=(outcome.as_str())
                data-count=(count) x=(round(x)) y=(top) width=(round(width))
                height=(round(bottom - top)) fill=(colour(outcome)) {
                title { (hour.hour.format("%H:00")) " UTC: " (count) " " (outcome.as_str()) }
            }
        });
    }
    html! { @for rect in rects { (rect) } }
}

/// The legend, in one row above the bars.
fn legend() -> Markup {
    html! {
        g.legend {
            @for (n, outcome) in STACK.iter().enumerate() {
                rect x=(LEFT + 110.0 * n as f64) y="7" width="14" height="14" fill=(colour(*outcome)) {}
                text x=(LEFT + 110.0 * n as f64 + 19.0) y="19" font-size="15" fill="#1d2433" { (outcome.as_str()) }
            }
        }
    }
}

/// What the chart shows, in words.
fn description(hours: &[HourBar]) -> String {
    let (Some(first), Some(last)) = (hours.first(), hours.last()) else {
        return "No hours to show.".to_owned();
    };
    let counts: Vec<String> = STACK
        .iter()
        .map(|o| {
            format!(
                "{} {}",
                hours.iter().map(|h| h.of(*o)).sum::<u64>(),
                o.as_str()
            )
        })
        .collect();
    let busiest = hours
        .iter()
        .max_by_key(|h| h.total())
        .filter(|h| h.total() > 0);
    let mut text = format!(
        "Stacked bars, one per hour from {} to {} UTC: {}.",
        first.hour.format("%Y-%m-%d %H:00"),
        last.hour.format("%Y-%m-%d %H:00"),
        counts.join(", ")
    );
    if let Some(hour) = busiest {
        text += &format!(
            " The busiest hour, {} UTC, had {}.",
            hour.hour.format("%H:00"),
            hour.total()
        );
    }
    text
}

/// The top of the y axis: the largest count rounded up to an even number (so that its half
/// is a whole number too), at least 2.
fn scale_top(largest: u64) -> u64 {
    largest.max(2).next_multiple_of(2)
}

/// A coordinate to a tenth of a unit: enough for a drawing, and a short attribute.
fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::*;

    fn hours() -> Vec<HourBar> {
        let start = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        (0..24)
            .map(|n| HourBar {
                hour: start + Duration::hours(n),
                applied: if n == 5 { 3 } else { 0 },
                unchanged: 0,
                duplicate: 0,
                refused: if n == 5 { 1 } else { 0 },
            })
            .collect()
    }

    #[test]
    fn bars_stack_an_hours_outcomes_and_skip_empty_ones() {
        let svg = hourly_chart("health-chart", &hours()).into_string();
        assert_eq!(
            svg.matches("<rect class=\"bar applied\"").count(),
            1,
            "{svg}"
        );
        assert_eq!(
            svg.matches("<rect class=\"bar refused\"").count(),
            1,
            "{svg}"
        );
        assert!(!svg.contains("bar unchanged"), "no bar for a zero count");
        assert!(svg.contains("05:00 UTC: 3 applied"), "{svg}");
        assert!(svg.contains("viewBox=\"0 0 480 230\""), "{svg}");
        assert!(
            svg.starts_with("<svg id=\"health-chart\"")
                && svg.contains("aria-labelledby=\"health-chart-title health-chart-desc\"")
                && svg.contains("<title id=\"health-chart-title\">")
                && svg.contains("<desc id=\"health-chart-desc\">"),
            "the ids start with the id given: {svg}"
        );
        assert!(svg.contains("3 applied, 0 unchanged, 0 duplicate, 1 refused"));
        // The refused part sits on the applied part: its bottom is the applied part's top.
        let attr = |class: &str, name: &str| -> f64 {
            let rect = &svg[svg.find(&format!("class=\"bar {class}\"")).unwrap()..];
            let at = rect.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
            rect[at..rect[at..].find('"').unwrap() + at]
                .parse()
                .unwrap()
        };
        let refused_bottom = attr("refused", "y") + attr("refused", "height");
        assert!((refused_bottom - attr("applied", "y")).abs() < 0.2, "{svg}");
    }

    #[test]
    fn the_scale_is_even_and_never_zero() {
        assert_eq!(
            [0, 1, 2, 3, 10].map(scale_top),
            [2, 2, 2, 4, 10],
            "a quiet day still draws"
        );
    }
}
