//! The queue: filters, "take the next one", the incidents most urgent first.

use maud::{Markup, html};

use super::{Section, Viewer, layout, notice, priority, sla, status};
use crate::domain::agent::Permission;
use crate::domain::incident::IncidentStatus;
use crate::domain::priority::Priority;
use crate::domain::time::Timestamp;
use crate::edge::l10n::Text;
use crate::edge::web::Lang;
use crate::storage::QueueRow;

/// Live incidents counted per priority; more show as "1000+".
pub const COUNT_CAP: i64 = 1000;

/// Whose incidents the agent asked to see.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClaimedChoice {
    #[default]
    Anyone,
    Mine,
    Unclaimed,
}

impl ClaimedChoice {
    pub fn code(self) -> &'static str {
        match self {
            ClaimedChoice::Anyone => "",
            ClaimedChoice::Mine => "mine",
            ClaimedChoice::Unclaimed => "unclaimed",
        }
    }
}

/// The queue's filters and page, as the query string gives them. Values
/// that do not parse are left out (the unfiltered first page), so an old
/// bookmark never breaks the queue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Choice {
    pub status: Option<IncidentStatus>,
    pub priority: Option<Priority>,
    pub claimed: ClaimedChoice,
    pub cursor: Option<String>,
}

impl Choice {
    /// The query string of these filters (without the page), for links.
    pub fn filters_query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(status) = self.status {
            parts.push(format!("status={status}"));
        }
        if let Some(priority) = self.priority {
            parts.push(format!("priority={priority}"));
        }
        if self.claimed != ClaimedChoice::Anyone {
            parts.push(format!("claimed={}", self.claimed.code()));
        }
        parts.join("&")
    }
}

/// One page of the queue as the view shows it.
pub struct QueuePage {
    pub rows: Vec<QueueRow>,
    /// The cursor of the next page, when there is one.
    pub next_cursor: Option<String>,
    /// Live incidents of each priority (up to [`COUNT_CAP`]), whatever the filters.
    pub counts: Vec<(Priority, i64)>,
    /// The campaign of each incident shown that belongs to one.
    pub campaigns: std::collections::HashMap<crate::domain::ids::IncidentId, crate::domain::ids::CampaignId>,
    pub now: Timestamp,
}

pub fn page(
    lang: Lang,
    viewer: &Viewer,
    choice: &Choice,
    page: &QueuePage,
    done: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let t = Text::of(lang);
    let filters = choice.filters_query();
    let first_page = choice.cursor.is_none();
    let body = html! {
        div class="queue-head" {
            h1 { (t.get("queue-heading")) }
            div id="queue-counts" { (counts(lang, &page.counts)) }
            @if viewer.can(Permission::ClaimIncidents) {
                form method="post" action="/console/next" class="take-next" {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    button type="submit" id="take-next" aria-keyshortcuts="n" { (t.get("take-next")) }
                }
            }
        }
        (notice(done, false))
        (notice(error, true))
        form method="get" action="/console/" class="filters" aria-label=(t.get("filters")) {
            div {
                label for="status" { (t.get("filter-status")) }
                select id="status" name="status" {
                    option value="" { (t.get("filter-any")) }
                    @for s in IncidentStatus::ALL.into_iter().filter(|s| !s.is_closed()) {
                        option value=(s.as_str()) selected[choice.status == Some(s)] { (s.as_str()) }
                    }
                }
            }
            div {
                label for="priority" { (t.get("filter-priority")) }
                select id="priority" name="priority" {
                    option value="" { (t.get("filter-any")) }
                    @for p in Priority::ALL {
                        option value=(p.as_str()) selected[choice.priority == Some(p)] { (p.as_str()) }
                    }
                }
            }
            div {
                label for="claimed" { (t.get("filter-claimed")) }
                select id="claimed" name="claimed" {
                    option value="" { (t.get("filter-anyone")) }
                    option value="mine" selected[choice.claimed == ClaimedChoice::Mine] { (t.get("filter-mine")) }
                    option value="unclaimed" selected[choice.claimed == ClaimedChoice::Unclaimed] { (t.get("filter-unclaimed")) }
                }
            }
            button type="submit" { (t.get("filter-apply")) }
        }
        p id="queue-news" class="visually-hidden" role="status" aria-live="polite" data-new=(t.get("queue-news")) {}
        table class="queue" id="queue"
            data-poll=[first_page.then(|| format!("/console/queue.json?{filters}"))] {
            caption class="visually-hidden" { (t.get("queue-caption")) }
            thead {
                tr {
                    th scope="col" { (t.get("col-priority")) }
                    th scope="col" { (t.get("col-account")) }
                    th scope="col" { (t.get("col-what")) }
                    th scope="col" { (t.get("col-status")) }
                    th scope="col" { (t.get("col-sla")) }
                    th scope="col" { (t.get("col-claimed")) }
                }
            }
            tbody id="queue-rows" { (rows(lang, page)) }
        }
        nav class="pages" aria-label=(t.get("pages")) {
            @if !first_page {
                a href={ "/console/?" (filters) } { (t.get("first-page")) }
            }
            @if let Some(cursor) = &page.next_cursor {
                a href={ "/console/?" (filters) @if !filters.is_empty() { "&" } "cursor=" (cursor) } rel="next" { (t.get("next-page")) }
            }
        }
        p class="help" { (t.get("shortcuts")) }
    };
    layout(lang, t.get("queue-heading"), Section::Queue, Some(viewer), body)
}

/// The rows of a queue page (also what the poll sends `console.js`).
pub fn rows(lang: Lang, page: &QueuePage) -> Markup {
    let t = Text::of(lang);
    html! {
        @for row in &page.rows {
            @let incident = &row.incident;
            tr data-id=(incident.id) {
                td { (priority(incident.priority)) }
                td {
                    a href={ "/console/incidents/" (incident.id) } { (incident.account_id) }
                    @if incident.is_drill() { " " (super::drill_badge(lang)) }
                    @if let Some(campaign) = page.campaigns.get(&incident.id) { " " (super::campaigns::badge(lang, campaign.as_str())) }
                    @if row.unanswered_since.is_some() { " " span class="badge unanswered" title=(t.get("queue-unanswered")) { "✉ " (t.get("queue-unanswered")) } }
                }
                td { @match &row.latest_alert { Some(alert) => (alert.summary()), None => "—" } }
                td { (status(incident.status)) }
                td { (sla(lang, incident, page.now)) }
                td { @match &incident.assignee { Some(who) => (who), None => span class="muted" { (t.get("nobody")) } } }
            }
        }
        @if page.rows.is_empty() {
            tr { td colspan="6" class="empty" { (t.get("queue-empty")) } }
        }
    }
}

/// How many live incidents of each priority there are (counted up to
/// [`COUNT_CAP`] each, shown as `1000+` beyond).
pub fn counts(lang: Lang, counts: &[(Priority, i64)]) -> Markup {
    let t = Text::of(lang);
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    let more = |n: i64| if n >= COUNT_CAP { "+" } else { "" };
    let any_more = counts.iter().any(|(_, n)| *n >= COUNT_CAP);
    html! {
        p class="counts" {
            strong { (total) @if any_more { "+" } } " " (t.with("live-incidents", [("count", total.into())]))
            @for (p, n) in counts.iter().filter(|(_, n)| *n > 0) { " · " (priority(*p)) " " (n) (more(*n)) }
        }
    }
}
