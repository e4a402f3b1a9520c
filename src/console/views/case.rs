//! The holder's side of an incident, on its page: how each case link was
//! issued, what the holder said (unverified), a report, the thread with the
//! holder and the form to answer, the holder's rating.

use maud::{Markup, html};

use super::{Viewer, field_error, time};
use crate::domain::agent::Permission;
use crate::edge::l10n::Text;
use crate::edge::web::Lang;
use crate::holder::case::ForAgents;

pub fn section(lang: Lang, viewer: &Viewer, incident_id: &str, case: &ForAgents, error: Option<&str>) -> Markup {
    let t = Text::of(lang);
    html! {
        section id="holder" aria-labelledby="holder-heading" {
            h2 id="holder-heading" { (t.get("case-heading")) }
            @if case.opened_by_report { p class="badge" id="holder-report" { (t.get("case-reported")) } }
            dl class="facts" {
                dt { (t.get("case-links")) }
                dd id="case-links" {
                    @if case.links.is_empty() { (t.get("case-no-links")) }
                    @for (index, (issued_as, at)) in case.links.iter().enumerate() {
                        @if index > 0 { ", " }
                        code { (issued_as.as_str()) } " " (time(*at))
                    }
                }
                dt { (t.get("case-holder-said")) }
                dd id="holder-said" {
                    @match case.answer {
                        Some((answer, at)) => { code { (answer.as_str()) } " " (time(at)) " " span class="muted" { (t.get("case-unverified")) } }
                        None => { (t.get("case-nothing-said")) }
                    }
                }
                @if let Some(score) = case.satisfaction {
                    dt { (t.get("case-rating")) } dd id="case-rating" { (score) " / 5" }
                }
            }
            h3 { (t.get("case-thread-heading")) }
            @if case.messages.is_empty() { p class="muted" { (t.get("case-no-messages")) } }
            ol id="case-thread" class="thread" {
                @for message in &case.messages {
                    li class=(if message.from_holder { "from-holder" } else { "from-team" }) {
                        p class="help" {
                            strong {
                                @if message.from_holder { (t.get("case-the-holder")) }
                                @else { (message.agent.as_deref().unwrap_or("")) }
                            }
                            " · " (time(message.at))
                        }
                        p class="message-body" { (message.body) }
                    }
                }
            }
            @if !case.ended && viewer.can(Permission::ClaimIncidents) {
                form method="post" action={ "/console/incidents/" (incident_id) "/messages" } {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    label for="reply" { (t.get("case-reply-label")) }
                    p class="help" { (t.get("case-reply-help")) }
                    (field_error(error))
                    textarea id="reply" name="body" rows="4" maxlength="2000" required {}
                    button id="send-reply" type="submit" { (t.get("case-reply-button")) }
                }
            }
        }
    }
}
