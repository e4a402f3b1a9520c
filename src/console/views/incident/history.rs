//! The incident page's history: the holder's requests with their answers, and
//! the whole timeline, each audit action said in words.

use maud::{Markup, html};
use serde_json::{Map, Value};

use super::super::time;
use crate::domain::unfreeze::Flow;
use crate::edge::l10n::Text;
use crate::edge::web::Lang;
use crate::incidents::Dossier;

pub(super) fn flows(lang: Lang, dossier: &Dossier) -> Markup {
    let t = Text::of(lang);
    html! {
        section aria-labelledby="flows-heading" {
            h2 id="flows-heading" { (t.get("flows-heading")) }
            @for flow in &dossier.flows {
                div class="flow" {
                    p { strong { (flow.state.as_str()) } " · " (t.get("flow-requested")) " " (time(flow.created_at)) }
                    (answers(lang, dossier, flow))
                    @if let Some(reason) = &flow.decision_reason { p { (t.get("flow-reason")) ": " (reason) } }
                }
            }
        }
    }
}

/// The holder's answer about each flagged activity, in plain language.
pub fn answers(lang: Lang, dossier: &Dossier, flow: &Flow) -> Markup {
    let t = Text::of(lang);
    html! {
        @if let Some(answers) = &flow.answers {
            ul class="answers" {
                @for answer in answers {
                    @let what = dossier.alerts.iter().find(|row| row.alert.alert_id.as_str() == answer.alert_id)
                        .map(|row| row.alert.summary()).unwrap_or_else(|| answer.alert_id.clone());
                    li class=(if answer.mine { "mine" } else { "not-mine" }) {
                        (what) " — " strong { @if answer.mine { (t.get("answer-mine")) } @else { (t.get("answer-not-mine")) } }
                    }
                }
            }
        }
    }
}

/// An audit action in words (`event-<action>`, its dots and underscores as
/// dashes), or as the log spells it when it has none.
fn event(t: Text, action: &str) -> &str {
    t.find(&format!("event-{}", action.replace(['.', '_'], "-")))
        .unwrap_or(action)
}

pub(super) fn timeline(lang: Lang, dossier: &Dossier) -> Markup {
    let t = Text::of(lang);
    html! {
        section aria-labelledby="timeline-heading" {
            h2 id="timeline-heading" { (t.get("timeline-heading")) }
            ol class="timeline" {
                @for entry in &dossier.timeline {
                    li {
                        (time(entry.at)) " "
                        strong { (entry.actor) } " "
                        span class="event" { (event(t, &entry.action)) }
                        (detail(&entry.detail_value()))
                    }
                }
            }
        }
    }
}

/// The members of a JSON object that `shown` keeps, as readable `(key,
/// value)` pairs: underscores in keys become spaces, strings lose their quotes.
pub(super) fn readable_pairs(
    map: Option<&Map<String, Value>>,
    shown: impl Fn(&Value) -> bool,
) -> Vec<(String, String)> {
    map.map(|map| {
        map.iter()
            .filter(|(_, v)| shown(v))
            .map(|(k, v)| {
                (
                    k.replace('_', " "),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
            .collect()
    })
    .unwrap_or_default()
}

/// An audit entry's detail, as short `key: value` pairs.
fn detail(value: &Value) -> Markup {
    let pairs = readable_pairs(value.as_object(), |v| !v.is_null());
    html! {
        @if !pairs.is_empty() {
            span class="detail" {
                @for (i, (key, value)) in pairs.iter().enumerate() {
                    @if i > 0 { "; " }
                    (key) ": " (value)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audit_action_is_said_in_words_or_as_the_log_spells_it() {
        assert_eq!(event(Text::of(Lang::Ko), "incident.acknowledged"), "확인");
        assert_eq!(event(Text::of(Lang::En), "incident.priority_raised"), "priority raised");
        assert_eq!(event(Text::of(Lang::En), "something.new"), "something.new");
    }
}
