//! The leads' overview: open incidents, today's SLA breaches, response times
//! (acknowledge, contain, resolve), the holders' satisfaction and the
//! holders waiting for a review.

use std::time::Duration;

use maud::{Markup, html};

use super::{Section, Viewer, layout, priority, span, status, time};
use crate::edge::l10n::Text;
use crate::edge::web::Lang;
use crate::overview::{Overview, Percentiles};

fn seconds(lang: Lang, value: Option<f64>) -> String {
    match value {
        Some(s) => span(lang, Duration::from_secs_f64(s.max(0.0))),
        None => "—".to_owned(),
    }
}

fn row(lang: Lang, label: &str, figures: &Percentiles) -> Markup {
    html! {
        tr {
            th scope="row" { (label) }
            td { (figures.count) }
            td { (seconds(lang, figures.median_seconds)) }
            td { (seconds(lang, figures.p90_seconds)) }
        }
    }
}

pub fn page(lang: Lang, viewer: &Viewer, overview: &Overview) -> Markup {
    let t = Text::of(lang);
    let statuses: Vec<_> = overview
        .open_incidents
        .first()
        .map(|first| first.by_status.iter().map(|s| s.status).collect())
        .unwrap_or_default();
    let body = html! {
        h1 { (t.get("overview-heading")) }
        p class="help" { (t.get("overview-as-of")) " " (time(overview.at)) }
        section aria-labelledby="open-heading" {
            h2 id="open-heading" { (t.get("overview-open")) }
            table class="overview" {
                thead { tr {
                    th scope="col" { (t.get("overview-priority")) }
                    @for s in &statuses { th scope="col" { (status(*s)) } }
                    th scope="col" { (t.get("overview-total")) }
                } }
                tbody {
                    @for entry in &overview.open_incidents {
                        tr {
                            th scope="row" { (priority(entry.priority)) }
                            @for s in &entry.by_status { td { (s.count) } }
                            td { (entry.total) }
                        }
                    }
                }
            }
        }
        section aria-labelledby="breaches-heading" {
            h2 id="breaches-heading" { (t.get("overview-breaches-today")) }
            dl class="figures" {
                dt { (t.get("overview-acknowledge-missed")) } dd id="breaches-acknowledge" { (overview.sla_breaches_today.acknowledge) }
                dt { (t.get("overview-contain-missed")) } dd id="breaches-contain" { (overview.sla_breaches_today.contain) }
            }
        }
        section aria-labelledby="times-heading" {
            h2 id="times-heading" { (t.get("overview-response-times")) }
            table class="overview" {
                thead { tr {
                    th scope="col" { "" }
                    th scope="col" { (t.get("overview-count")) }
                    th scope="col" { (t.get("overview-median")) }
                    th scope="col" { (t.get("overview-p90")) }
                } }
                tbody {
                    (row(lang, t.get("overview-acknowledge-24h"), &overview.time_to_acknowledge.last_24h))
                    (row(lang, t.get("overview-acknowledge-7d"), &overview.time_to_acknowledge.last_7d))
                    (row(lang, t.get("overview-contain-24h"), &overview.time_to_contain.last_24h))
                    (row(lang, t.get("overview-contain-7d"), &overview.time_to_contain.last_7d))
                    (row(lang, t.get("overview-resolve-24h"), &overview.time_to_resolve.last_24h))
                    (row(lang, t.get("overview-resolve-7d"), &overview.time_to_resolve.last_7d))
                }
            }
        }
        section id="satisfaction" aria-labelledby="satisfaction-heading" {
            h2 id="satisfaction-heading" { (t.get("overview-satisfaction")) }
            dl class="figures" {
                @for (label, ratings) in [(t.get("overview-satisfaction-7d"), &overview.satisfaction.last_7d), (t.get("overview-satisfaction-30d"), &overview.satisfaction.last_30d)] {
                    dt { (label) }
                    dd {
                        @match ratings.mean { Some(mean) => { (format!("{mean:.1}")) " / 5" }, None => "—" }
                        " " span class="muted" { "(" (t.with("overview-answers", [("count", ratings.answers.into())])) ")" }
                    }
                }
            }
        }
        section aria-labelledby="reviews-heading" {
            h2 id="reviews-heading" { (t.get("nav-reviews")) }
            dl class="figures" {
                dt { (t.get("overview-waiting")) } dd id="reviews-waiting" { (overview.reviews.waiting) }
                dt { (t.get("overview-estimated-wait")) }
                dd id="reviews-wait" { (span(lang, Duration::from_secs(overview.reviews.estimated_wait_seconds))) }
            }
        }
    };
    layout(lang, t.get("overview-heading"), Section::Overview, Some(viewer), body)
}
