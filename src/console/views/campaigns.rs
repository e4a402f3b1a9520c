//! Campaigns: the list, and one campaign with its incidents and the form
//! that contains them all.

use maud::{Markup, html};

use super::{Section, Viewer, field_error, layout, notice, priority, status, step_up_field, time};
use crate::campaigns::CampaignView;
use crate::domain::campaign::SignalKind;
use crate::domain::incident::IncidentStatus;
use crate::domain::playbook::Playbook;
use crate::edge::l10n::Text;
use crate::edge::web::Lang;

/// The signal kind in words.
pub fn kind_name(t: Text, kind: SignalKind) -> &'static str {
    match kind {
        SignalKind::Ip => t.get("signal-ip"),
        SignalKind::Device => t.get("signal-device"),
        SignalKind::Destination => t.get("signal-destination"),
    }
}

/// The badge linking an incident to its campaign (queue rows, incident page).
pub fn badge(lang: Lang, campaign_id: &str) -> Markup {
    let t = Text::of(lang);
    html! { a class="badge campaign" href={ "/console/campaigns/" (campaign_id) } { (t.get("campaign-badge")) } }
}

fn value(t: Text, view: &CampaignView) -> Markup {
    html! {
        code { (view.shown_value()) }
        @if view.campaign.value.is_none() { " " span class="muted" { (t.get("campaign-masked")) } }
    }
}

pub fn list(lang: Lang, viewer: &Viewer, campaigns: &[CampaignView]) -> Markup {
    let t = Text::of(lang);
    let body = html! {
        h1 { (t.get("campaigns-heading")) }
        p { (t.get("campaigns-intro")) }
        @if campaigns.is_empty() {
            p class="muted" { (t.get("campaigns-empty")) }
        } @else {
            table class="campaigns" {
                thead {
                    tr {
                        th scope="col" { (t.get("col-signal")) }
                        th scope="col" { (t.get("col-value")) }
                        th scope="col" { (t.get("col-accounts")) }
                        th scope="col" { (t.get("col-incidents")) }
                        th scope="col" { (t.get("col-first-seen")) }
                        th scope="col" { (t.get("col-last-seen")) }
                    }
                }
                tbody {
                    @for view in campaigns {
                        @let c = &view.campaign;
                        tr {
                            td { a href={ "/console/campaigns/" (c.id) } { (kind_name(t, c.kind)) } }
                            td { (value(t, view)) }
                            td { (c.accounts) }
                            td {
                                ul class="members" {
                                    @for member in &view.incidents {
                                        li {
                                            a href={ "/console/incidents/" (member.incident_id) } { (member.account_id) }
                                            " " (status(member.status))
                                        }
                                    }
                                }
                            }
                            td { (time(c.first_seen)) }
                            td { (time(c.last_seen)) }
                        }
                    }
                }
            }
        }
    };
    layout(lang, t.get("campaigns-heading"), Section::Campaigns, Some(viewer), body)
}

pub fn page(
    lang: Lang,
    viewer: &Viewer,
    view: &CampaignView,
    playbooks: &[&Playbook],
    done: Option<&str>,
    refusal: Option<&str>,
) -> Markup {
    let t = Text::of(lang);
    let c = &view.campaign;
    let open = view
        .incidents
        .iter()
        .filter(|m| matches!(m.status, IncidentStatus::Open | IncidentStatus::Acknowledged))
        .count();
    let may_contain = playbooks.iter().any(|p| viewer.can(p.kind.permission()));
    let body = html! {
        h1 { (t.get("campaign-heading")) ": " (kind_name(t, c.kind)) " " (value(t, view)) }
        (notice(done, false))
        @if let Some(message) = refusal { (notice(Some(message), true)) }
        dl class="facts" {
            dt { (t.get("col-accounts")) } dd { (c.accounts) }
            dt { (t.get("col-first-seen")) } dd { (time(c.first_seen)) }
            dt { (t.get("col-last-seen")) } dd { (time(c.last_seen)) }
        }
        h2 { (t.get("col-incidents")) }
        table class="campaign-incidents" {
            thead {
                tr {
                    th scope="col" { (t.get("col-priority")) }
                    th scope="col" { (t.get("col-account")) }
                    th scope="col" { (t.get("col-status")) }
                    th scope="col" { (t.get("campaign-joined")) }
                }
            }
            tbody {
                @for member in &view.incidents {
                    tr {
                        td { (priority(member.priority)) }
                        td { a href={ "/console/incidents/" (member.incident_id) } { (member.account_id) } }
                        td { (status(member.status)) }
                        td { (time(member.joined_at)) }
                    }
                }
            }
        }
        @if may_contain {
            h2 { (t.get("contain-all")) }
            form method="post" action={ "/console/campaigns/" (c.id) "/contain" } class="action" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                p class="help" { (t.with("contain-all-help", [("open", open.into())])) }
                label for="campaign-playbook" { (t.get("playbook-label")) }
                select id="campaign-playbook" name="playbook_id" required {
                    @for playbook in playbooks {
                        option value=(playbook.id) { (playbook.id) " — " (playbook.title) }
                    }
                }
                (step_up_field(lang, "otp-campaign", viewer))
                button type="submit" { (t.get("contain-all")) }
                (field_error(refusal))
            }
        }
    };
    layout(lang, t.get("campaign-heading"), Section::Campaigns, Some(viewer), body)
}
