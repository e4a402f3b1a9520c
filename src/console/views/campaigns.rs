//! Campaigns: the list, and one campaign with its incidents and the form
//! that contains them all.

use maud::{Markup, html};

use super::{Section, Viewer, field_error, layout, notice, priority, status, step_up_field, time};
use crate::campaigns::CampaignView;
use crate::console::text::{self, Texts};
use crate::domain::campaign::SignalKind;
use crate::domain::incident::IncidentStatus;
use crate::domain::playbook::Playbook;
use crate::web::Lang;

/// The signal kind in words.
pub fn kind_name(t: &Texts, kind: SignalKind) -> &'static str {
    match kind {
        SignalKind::Ip => t.signal_ip,
        SignalKind::Device => t.signal_device,
        SignalKind::Destination => t.signal_destination,
    }
}

/// The badge linking an incident to its campaign (queue rows, incident page).
pub fn badge(lang: Lang, campaign_id: &str) -> Markup {
    let t = text::of(lang);
    html! { a class="badge campaign" href={ "/console/campaigns/" (campaign_id) } { (t.campaign_badge) } }
}

fn value(t: &Texts, view: &CampaignView) -> Markup {
    html! {
        code { (view.shown_value()) }
        @if view.campaign.value.is_none() { " " span class="muted" { (t.campaign_masked) } }
    }
}

pub fn list(lang: Lang, viewer: &Viewer, campaigns: &[CampaignView]) -> Markup {
    let t = text::of(lang);
    let body = html! {
        h1 { (t.campaigns_heading) }
        p { (t.campaigns_intro) }
        @if campaigns.is_empty() {
            p class="muted" { (t.campaigns_empty) }
        } @else {
            table class="campaigns" {
                thead {
                    tr {
                        th scope="col" { (t.col_signal) }
                        th scope="col" { (t.col_value) }
                        th scope="col" { (t.col_accounts) }
                        th scope="col" { (t.col_incidents) }
                        th scope="col" { (t.col_first_seen) }
                        th scope="col" { (t.col_last_seen) }
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
    layout(lang, t.campaigns_heading, Section::Campaigns, Some(viewer), body)
}

pub fn page(
    lang: Lang,
    viewer: &Viewer,
    view: &CampaignView,
    playbooks: &[&Playbook],
    done: Option<&str>,
    refusal: Option<&str>,
) -> Markup {
    let t = text::of(lang);
    let c = &view.campaign;
    let open = view
        .incidents
        .iter()
        .filter(|m| matches!(m.status, IncidentStatus::Open | IncidentStatus::Acknowledged))
        .count();
    let may_contain = playbooks.iter().any(|p| viewer.can(p.kind.permission()));
    let body = html! {
        h1 { (t.campaign_heading) ": " (kind_name(t, c.kind)) " " (value(t, view)) }
        (notice(done, false))
        @if let Some(message) = refusal { (notice(Some(message), true)) }
        dl class="facts" {
            dt { (t.col_accounts) } dd { (c.accounts) }
            dt { (t.col_first_seen) } dd { (time(c.first_seen)) }
            dt { (t.col_last_seen) } dd { (time(c.last_seen)) }
        }
        h2 { (t.col_incidents) }
        table class="campaign-incidents" {
            thead {
                tr {
                    th scope="col" { (t.col_priority) }
                    th scope="col" { (t.col_account) }
                    th scope="col" { (t.col_status) }
                    th scope="col" { (t.campaign_joined) }
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
            h2 { (t.contain_all) }
            form method="post" action={ "/console/campaigns/" (c.id) "/contain" } class="action" {
                input type="hidden" name="csrf" value=(viewer.csrf);
                p class="help" { (t.contain_all_help) " (" (open) ")" }
                label for="campaign-playbook" { (t.playbook_label) }
                select id="campaign-playbook" name="playbook_id" required {
                    @for playbook in playbooks {
                        option value=(playbook.id) { (playbook.id) " — " (playbook.title) }
                    }
                }
                (step_up_field(lang, "otp-campaign", viewer))
                button type="submit" { (t.contain_all) }
                (field_error(refusal))
            }
        }
    };
    layout(lang, t.campaign_heading, Section::Campaigns, Some(viewer), body)
}
