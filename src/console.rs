//! The security team's console (SPEC §10): the queue, an incident with its
//! runs and timeline, and the holders' requests waiting for a decision, as
//! HTML pages served under `/console/`.
//!
//! Every page is a handler that loads what it shows through the functions
//! the JSON API calls ([`crate::incidents`], [`crate::runs::agent_actions`],
//! [`crate::unfreeze::review`], [`crate::auth`]), a pure view ([`views`]),
//! and the words of each language (`locales/<lang>/console.ftl`, read
//! through [`crate::edge::l10n`]). Every action goes through the
//! same rules as the API: roles, step-up, four eyes, the audit log.
//!
//! Pages work without JavaScript. The one script, `console.js` (served by
//! Holdfast, a few kilobytes, no third party), only adds the live queue,
//! the SLA countdowns and keyboard shortcuts. The CSP allows scripts from
//! Holdfast's own origin only, and no inline script or style.
//!
//! To add a page: a handler in its own file here, a view in `views/`, its
//! words in `locales/*/console.ftl`, and a route below.

use std::collections::HashMap;

use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};

use crate::edge::http::Routes;
use crate::edge::l10n::Text;
use crate::edge::web::Lang;
use crate::state::AppState;

pub mod campaigns;
pub mod guard;
pub mod incident;
pub mod overview;
pub mod queue;
pub mod reviews;
pub mod rules;
pub mod signin;
pub mod views;

pub fn routes(state: AppState) -> Routes {
    let pages = Routes::new()
        .get("/console", || async { Redirect::permanent("/console/") })
        .get("/console/", queue::page)
        .get("/console/queue.json", queue::poll)
        .post("/console/next", queue::take_next)
        .get("/console/login", signin::form)
        .post("/console/login", signin::submit)
        .post("/console/logout", signin::sign_out)
        .get("/console/incidents/{id}", incident::page)
        .post("/console/incidents/{id}/acknowledge", incident::acknowledge)
        .post("/console/incidents/{id}/resolve", incident::resolve)
        .post("/console/incidents/{id}/dismiss", incident::dismiss)
        .post("/console/incidents/{id}/runs", incident::start_run)
        .post("/console/incidents/{id}/runs/{run_id}/approve", incident::approve)
        .post("/console/incidents/{id}/runs/{run_id}/resume", incident::resume)
        .post("/console/incidents/{id}/messages", incident::message)
        .get("/console/campaigns", campaigns::list)
        .get("/console/campaigns/{id}", campaigns::page)
        .post("/console/campaigns/{id}/contain", campaigns::contain)
        .get("/console/reviews", reviews::page)
        .get("/console/overview", overview::page)
        .get("/console/rules", rules::page)
        .post("/console/reviews/{id}/unfreeze", reviews::unfreeze)
        .post("/console/reviews/{id}/reject", reviews::reject)
        .layer(middleware::from_fn_with_state(state, guard::security_headers));
    Routes::new()
        .get("/console/assets/console.css", stylesheet)
        .get("/console/assets/console.js", script)
        .merge(pages)
}

/// Static files: the same for everyone, so they may be cached for an hour.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", include_str!("console/assets/console.css"))
}

async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("console/assets/console.js"),
    )
}

/// What an action did, said on the page it redirects to (`?done=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Done {
    Claimed,
    NothingWaiting,
    Acknowledged,
    Resolved,
    Dismissed,
    RunStarted,
    Approved,
    Resumed,
    UnfreezeStarted,
    Rejected,
    CampaignContained,
    MessageSent,
}

impl Done {
    const ALL: [Done; 12] = [
        Done::Claimed,
        Done::NothingWaiting,
        Done::Acknowledged,
        Done::Resolved,
        Done::Dismissed,
        Done::RunStarted,
        Done::Approved,
        Done::Resumed,
        Done::UnfreezeStarted,
        Done::Rejected,
        Done::CampaignContained,
        Done::MessageSent,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Done::Claimed => "claimed",
            Done::NothingWaiting => "nothing_waiting",
            Done::Acknowledged => "acknowledged",
            Done::Resolved => "resolved",
            Done::Dismissed => "dismissed",
            Done::RunStarted => "run_started",
            Done::Approved => "approved",
            Done::Resumed => "resumed",
            Done::UnfreezeStarted => "unfreeze_started",
            Done::Rejected => "rejected",
            Done::CampaignContained => "campaign_contained",
            Done::MessageSent => "message_sent",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|done| done.code() == code)
    }

    /// The notice a page shows for what its `?done=` says was just done,
    /// in `lang`; none for a code it does not know.
    pub fn notice(query: &HashMap<String, String>, lang: Lang) -> Option<&'static str> {
        query
            .get("done")
            .and_then(|code| Self::parse(code))
            .map(|done| done.message(lang))
    }

    pub fn message(self, lang: Lang) -> &'static str {
        let t = Text::of(lang);
        match self {
            Done::Claimed => t.get("done-claimed"),
            Done::NothingWaiting => t.get("done-nothing-waiting"),
            Done::Acknowledged => t.get("done-acknowledged"),
            Done::Resolved => t.get("done-resolved"),
            Done::Dismissed => t.get("done-dismissed"),
            Done::RunStarted => t.get("done-run-started"),
            Done::Approved => t.get("done-approved"),
            Done::Resumed => t.get("done-resumed"),
            Done::UnfreezeStarted => t.get("done-unfreeze-started"),
            Done::Rejected => t.get("done-rejected"),
            Done::CampaignContained => t.get("done-campaign-contained"),
            Done::MessageSent => t.get("done-message-sent"),
        }
    }
}
