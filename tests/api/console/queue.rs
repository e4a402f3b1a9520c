//! The queue: live incidents most urgent first, each with its SLA and who
//! claimed it; filters; keyset pages; the poll; "take the next one".

use std::time::Duration;

use holdfast::domain::agent::Role;
use reqwest::StatusCode;
use serde_json::Value;

use super::location;
use crate::helpers::{Backend, on_both_backends, p1_withdrawal, p3_login, p4_withdrawal, spawn_app};

on_both_backends!(
    the_queue_shows_live_incidents_most_urgent_first_with_their_sla_and_claim,
    an_incident_past_its_deadline_shows_how_long_it_is_overdue,
    the_filters_narrow_the_queue,
    the_queue_is_paged_with_a_cursor,
    the_poll_sends_the_first_page_and_new_incidents_appear_in_it,
    taking_the_next_one_claims_the_most_urgent_incident,
);

/// Where `needle` first appears in `html` (it must).
fn at(html: &str, needle: &str) -> usize {
    html.find(needle)
        .unwrap_or_else(|| panic!("{needle} is not on the page"))
}

async fn the_queue_shows_live_incidents_most_urgent_first_with_their_sla_and_claim(backend: Backend) {
    let app = spawn_app(backend).await;
    app.ingest(&p4_withdrawal("re-4", "acct-four")).await;
    app.ingest(&p3_login("re-3", "acct-three")).await;
    app.ingest(&p1_withdrawal("re-1", "acct-one")).await;
    let closed = app.ingest_incident(&p3_login("re-x", "acct-closed")).await;
    let console = app.console("alice", Role::Lead).await;
    let dismissed = console
        .post(&format!("/console/incidents/{closed}/dismiss"), &[("note", "a test")])
        .await;
    assert_eq!(dismissed.status(), StatusCode::SEE_OTHER);

    let html = console.page("/console/").await;

    assert!(at(&html, "acct-one") < at(&html, "acct-three"));
    assert!(at(&html, "acct-three") < at(&html, "acct-four"));
    assert!(!html.contains("acct-closed"), "dismissed incidents leave the queue");
    for text in [
        "P1",
        "P3",
        "P4",
        ">contained<",
        ">open<",
        "Withdrawal of 2.5 BTC",
        "Sign-in from a new device in Brazil",
    ] {
        assert!(html.contains(text), "the queue shows {text}");
    }
    assert!(html.contains(" left"), "time left to the SLA deadline");
    assert!(html.contains("3</strong> live incidents"));
    app.settle().await;
    let claimed = console.post("/console/next", &[]).await;
    assert_eq!(claimed.status(), StatusCode::SEE_OTHER);
    let row = console.page("/console/").await;
    let one = &row[at(&row, "acct-one")..];
    let one = &one[..at(one, "</tr>")];
    assert!(one.contains("alice"), "who claimed it: {one}");
}

async fn an_incident_past_its_deadline_shows_how_long_it_is_overdue(backend: Backend) {
    let app = spawn_app(backend).await;
    app.ingest(&p3_login("re-3", "acct-late")).await;

    app.clock.advance(Duration::from_secs(4 * 3600 + 5 * 60));
    let console = app.console("alice", Role::Analyst).await;
    let html = console.page("/console/").await;

    assert!(html.contains("sla overdue"), "overdue is marked");
    assert!(html.contains("overdue by"), "and said in words, not by colour alone");
}

async fn the_filters_narrow_the_queue(backend: Backend) {
    let app = spawn_app(backend).await;
    app.ingest(&p3_login("re-3", "acct-three")).await;
    app.ingest(&p4_withdrawal("re-4", "acct-four")).await;
    app.ingest(&p1_withdrawal("re-1", "acct-one")).await;
    // The P1's containment settles first: a claim skips incidents locked by work in flight.
    app.settle().await;
    let console = app.console("alice", Role::Lead).await;
    let claimed = console.post("/console/next", &[]).await;
    assert!(location(&claimed).contains("done=claimed"));

    let p3 = console.page("/console/?priority=P3").await;
    let contained = console.page("/console/?status=contained").await;
    let mine = console.page("/console/?claimed=mine").await;
    let unclaimed = console.page("/console/?claimed=unclaimed").await;

    assert!(p3.contains("acct-three") && !p3.contains("acct-four") && !p3.contains("acct-one"));
    assert!(contained.contains("acct-one") && !contained.contains("acct-three"));
    assert!(mine.contains("acct-one") && !mine.contains("acct-three"));
    assert!(!unclaimed.contains("acct-one") && unclaimed.contains("acct-three") && unclaimed.contains("acct-four"));
    assert!(
        p3.contains("<option value=\"P3\" selected>"),
        "the filter is shown as chosen"
    );
}

async fn the_queue_is_paged_with_a_cursor(backend: Backend) {
    let app = spawn_app(backend).await;
    for n in 0..52 {
        app.ingest(&p4_withdrawal(&format!("re-{n}"), &format!("acct-{n:03}")))
            .await;
    }
    let console = app.console("alice", Role::Analyst).await;

    let first = console.page("/console/").await;
    let rows = |html: &str| html.matches("<tr data-id=").count();
    assert_eq!(rows(&first), 50);
    let marker = "rel=\"next\"";
    let link_end = at(&first, marker);
    let href_start = first[..link_end].rfind("href=\"").unwrap() + "href=\"".len();
    let href = first[href_start..].split('"').next().unwrap().replace("&amp;", "&");
    assert!(href.contains("cursor="), "{href}");

    let second = console.page(&href).await;
    assert_eq!(rows(&second), 2);
    assert!(!second.contains(marker), "the last page has no next page");
    assert!(second.contains("acct-051") && !first.contains("acct-051"));
}

async fn the_poll_sends_the_first_page_and_new_incidents_appear_in_it(backend: Backend) {
    let app = spawn_app(backend).await;
    app.ingest(&p3_login("re-3", "acct-three")).await;
    let console = app.console("alice", Role::Analyst).await;

    app.ingest(&p1_withdrawal("re-1", "acct-new")).await;
    app.clock.advance(Duration::from_secs(120));
    let response = console.get("/console/queue.json").await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["ids"].as_array().unwrap().len(), 2);
    let rows = body["rows"].as_str().unwrap();
    assert!(
        rows.find("acct-new").unwrap() < rows.find("acct-three").unwrap(),
        "the new P1 is on top"
    );
    assert!(body["counts"].as_str().unwrap().contains("2</strong>"));
    let untouched = "SELECT COUNT(*) FROM sessions WHERE last_seen_at = created_at";
    assert_eq!(
        app.db.count(untouched).await,
        1,
        "a poll does not keep an idle session alive"
    );
    console.page("/console/").await;
    assert_eq!(app.db.count(untouched).await, 0, "opening a page does");
}

async fn taking_the_next_one_claims_the_most_urgent_incident(backend: Backend) {
    let app = spawn_app(backend).await;
    app.ingest(&p4_withdrawal("re-4", "acct-four")).await;
    let p3 = app.ingest_incident(&p3_login("re-3", "acct-three")).await;
    let console = app.console("alice", Role::Analyst).await;
    let other = app.console("bob", Role::Analyst).await;

    let first = console.post("/console/next", &[]).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&first), format!("/console/incidents/{p3}?done=claimed"));
    let page = console.page(&location(&first)).await;
    assert!(page.contains("You took this incident."));
    let second = other.post("/console/next", &[]).await;
    assert!(!location(&second).contains(&p3), "two agents never get the same one");
    let none = console.post("/console/next", &[]).await;
    assert_eq!(location(&none), "/console/?done=nothing_waiting");
    assert!(
        console
            .page("/console/?done=nothing_waiting")
            .await
            .contains("Nothing is waiting")
    );
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'incident.claimed' AND actor = 'agent:alice'")
            .await,
        1
    );
}
