//! Rule quality: which rules fire mostly on false positives, which caught
//! confirmed takeovers, and every rule's and alert kind's counts. Every
//! figure is a count; none is a share without its count.

use maud::{Markup, html};

use super::{Section, Viewer, layout, time};
use crate::domain::rule_quality::WINDOWS;
use crate::edge::l10n::Text;
use crate::edge::web::Lang;
use crate::rule_quality::{Line, RuleQuality};

fn table(lang: Lang, id: &str, heading: &str, lines: &[Line]) -> Markup {
    let t = Text::of(lang);
    html! {
        section aria-labelledby=(id) {
            h2 id=(id) { (heading) }
            @if lines.is_empty() {
                p class="empty" { (t.get("rules-none")) }
            } @else {
                table class="overview rules" {
                    thead { tr {
                        th scope="col" { (t.get("rules-name")) }
                        th scope="col" { (t.get("rules-fired")) }
                        th scope="col" { (t.get("rules-confirmed-takeover")) }
                        th scope="col" { (t.get("rules-false-positive")) }
                        th scope="col" { (t.get("rules-user-error")) }
                        th scope="col" { (t.get("rules-dismissed")) }
                        th scope="col" { (t.get("rules-open")) }
                    } }
                    tbody {
                        @for line in lines {
                            tr {
                                th scope="row" { code { (line.name) } }
                                td { (line.fired) }
                                td { (line.confirmed_takeover) }
                                td { (line.false_positive) }
                                td { (line.user_error) }
                                td { (line.dismissed) }
                                td { (line.open) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A rule named in a verdict, with the counts behind it.
fn named(lang: Lang, quality: &RuleQuality, name: &str) -> Markup {
    let t = Text::of(lang);
    let line = quality.rules.iter().find(|line| line.name == name);
    html! {
        li {
            code { (name) }
            @if let Some(line) = line {
                " — " (t.with("rules-verdict-counts", [
                    ("fired", line.fired.into()),
                    ("takeovers", line.confirmed_takeover.into()),
                    ("noise", line.outcomes().noise().into()),
                ]))
            }
        }
    }
}

pub fn page(lang: Lang, viewer: &Viewer, quality: &RuleQuality) -> Markup {
    let t = Text::of(lang);
    let body = html! {
        h1 { (t.get("rules-heading")) }
        p class="help" { (t.with("rules-intro", [("days", quality.days.into())])) " " (time(quality.since)) }
        nav class="filters" aria-label=(t.get("rules-window")) {
            @for days in WINDOWS {
                a href={ "/console/rules?days=" (days) } aria-current=[(days == quality.days).then_some("page")] {
                    (t.with("rules-days", [("days", days.into())]))
                }
                " "
            }
        }
        section aria-labelledby="noisy-heading" {
            h2 id="noisy-heading" { (t.get("rules-mostly-false-positives")) }
            @if quality.mostly_false_positives.is_empty() { p class="empty" { (t.get("rules-none")) } }
            ul { @for name in &quality.mostly_false_positives { (named(lang, quality, name)) } }
        }
        section aria-labelledby="caught-heading" {
            h2 id="caught-heading" { (t.get("rules-caught-takeovers")) }
            @if quality.caught_confirmed_takeovers.is_empty() { p class="empty" { (t.get("rules-none")) } }
            ul { @for name in &quality.caught_confirmed_takeovers { (named(lang, quality, name)) } }
        }
        (table(lang, "rules-table", t.get("rules-by-rule"), &quality.rules))
        (table(lang, "kinds-table", t.get("rules-by-kind"), &quality.kinds))
    };
    layout(lang, t.get("rules-heading"), Section::Rules, Some(viewer), body)
}
