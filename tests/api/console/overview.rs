//! The leads' overview page: the same figures as `GET /v1/overview`, in
//! English and Korean.

use holdfast::domain::agent::Role;

use crate::helpers::{Backend, on_both_backends, p1_withdrawal, p3_login, spawn_app};

on_both_backends!(the_overview_page_shows_the_open_incidents_and_response_times_in_both_languages);

/// The rest of the table row whose header cell says `label`, as HTML.
fn row<'a>(html: &'a str, label: &str) -> &'a str {
    let start = html
        .find(&format!(">{label}<"))
        .unwrap_or_else(|| panic!("a row for {label} in {html}"));
    let end = html[start..].find("</tr>").expect("the row ends") + start;
    &html[start..end]
}

async fn the_overview_page_shows_the_open_incidents_and_response_times_in_both_languages(backend: Backend) {
    let app = spawn_app(backend).await;
    app.ingest(&p1_withdrawal("re-1", "acct-1")).await;
    app.ingest(&p3_login("re-2", "acct-2")).await;
    app.ingest(&p3_login("re-3", "acct-3")).await;
    let console = app.console("lead", Role::Lead).await;

    let html = console.page("/console/overview").await;
    assert!(html.contains("<h1>Overview</h1>"), "{html}");
    assert!(
        html.contains("href=\"/console/overview\" aria-current=\"page\""),
        "the nav marks the page"
    );
    let p1 = row(&html, "P1");
    assert!(p1.ends_with("<td>1</td>"), "one P1 open: {p1}");
    let p3 = row(&html, "P3");
    assert!(p3.ends_with("<td>2</td>"), "two P3 open: {p3}");
    // The P1 was contained at intake: one containment in the last 24 hours.
    let contained = row(&html, "Time to contain · last 24 hours");
    assert!(contained.contains("<td>1</td>"), "{contained}");
    assert!(html.contains("id=\"reviews-waiting\">0<"), "nobody waits for a review");

    let korean = console.page("/console/overview?lang=ko").await;
    assert!(korean.contains("<h1>현황</h1>"), "{korean}");
    assert!(korean.contains("진행 중인 사건"));
    assert!(row(&korean, "P1").ends_with("<td>1</td>"));
}
