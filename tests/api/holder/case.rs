//! The case behind a case link, as JSON and as a page.

use std::time::Duration;

use holdfast::domain::agent::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, on_both_backends, p1_withdrawal, spawn_app};
use crate::holder::notice_token;

on_both_backends!(the_case_says_what_happened_what_was_done_and_where_it_stands);

async fn the_case_says_what_happened_what_was_done_and_where_it_stands(backend: Backend) {
    let app = spawn_app(backend).await;
    app.ingest(&p1_withdrawal("re-1", "acct-c1")).await;
    let token = notice_token(&app, "acct-c1").await;

    let case = app.case_json(&token).await;

    assert_eq!(case["state"], "frozen_to_protect_you");
    assert!(case["next_step"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(case["what_happened"][0]["kind"], "large_withdrawal");
    assert!(case["what_happened"][0]["destination"].as_str().unwrap().contains('…'));
    assert!(case["what_we_did"].as_array().unwrap().len() >= 2);
    assert!(case["queue_position"].is_null() && case["estimated_wait_seconds"].is_null());
    assert_eq!(case["messages"], json!([]));
    assert_eq!(case["satisfaction"], json!({"asked": false, "answered": false}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unknown_or_expired_case_token_is_a_404_like_any_unknown_path() {
    let app = spawn_app(Backend::Sqlite).await;
    let incident = app.ingest_incident(&p1_withdrawal("re-1", "acct-c2")).await;
    let token = notice_token(&app, "acct-c2").await;
    let unknown_path: Value = app
        .client
        .get(app.url("/v1/no-such-thing"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let unknown = app.case("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let unknown: Value = unknown.json().await.unwrap();
    assert_eq!(unknown, unknown_path, "no different from an unknown path");
    assert!(!unknown.to_string().contains("AAAAAAAA"));

    let lead = app.agent("lead", Role::Lead).await;
    let resolved = app
        .post_as(&lead, &format!("/v1/incidents/{incident}/resolve"))
        .json(&json!({"resolution": "false_positive", "note": "the holder's own withdrawal"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), StatusCode::OK);
    assert_eq!(
        app.case(&token).await.status(),
        StatusCode::OK,
        "covered for 30 days after the end"
    );
    app.clock.advance(Duration::from_secs(31 * 24 * 3600));
    let expired = app.case(&token).await;
    assert_eq!(expired.status(), StatusCode::NOT_FOUND);
    let page = app
        .client
        .get(app.url(&format!("/holder/cases/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_case_page_speaks_english_and_korean_and_sends_no_referrer() {
    let app = spawn_app(Backend::Sqlite).await;
    app.ingest(&p1_withdrawal("re-1", "acct-c3")).await;
    let token = notice_token(&app, "acct-c3").await;

    let english = app
        .client
        .get(app.url(&format!("/holder/cases/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(english.status(), StatusCode::OK);
    assert_eq!(english.headers()["referrer-policy"], "no-referrer");
    assert!(
        english.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let english = english.text().await.unwrap();
    assert!(english.contains("lang=\"en\""));
    assert!(english.contains("Your account is frozen to protect you"), "{english}");
    assert!(english.contains("Withdrawals frozen"));
    assert!(!english.contains("<script"));

    let korean = app
        .client
        .get(app.url(&format!("/holder/cases/{token}")))
        .header("accept-language", "ko-KR,ko;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(korean.contains("lang=\"ko\""));
    assert!(
        korean.contains("회원님을 보호하기 위해 계정을 동결했습니다"),
        "{korean}"
    );
    let chosen = app
        .client
        .get(app.url(&format!("/holder/cases/{token}?lang=en")))
        .header("accept-language", "ko")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(chosen.contains("lang=\"en\""), "?lang= wins over Accept-Language");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_unfreeze_page_links_to_the_case_and_the_case_to_the_unfreeze_request() {
    let app = spawn_app(Backend::Sqlite).await;
    app.ingest(&p1_withdrawal("re-1", "acct-c4")).await;
    let token = notice_token(&app, "acct-c4").await;
    app.request_unfreeze("acct-c4").await;
    let flow = app.unfreeze_token("acct-c4").await;

    let flow_page = app
        .client
        .get(app.url(&format!("/unfreeze/{flow}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let link = format!("/holder/flows/{flow}/case");
    assert!(flow_page.contains(&link), "the flow page links to the case");
    let followed = app
        .client
        .get(app.url(&format!("{link}?lang=ko")))
        .send()
        .await
        .unwrap();
    assert_eq!(followed.status(), StatusCode::SEE_OTHER);
    let case_page = followed.headers()["location"].to_str().unwrap().to_owned();
    assert!(case_page.starts_with("/holder/cases/"), "{case_page}");
    let page = app.client.get(app.url(&case_page)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text().await.unwrap().contains("/unfreeze?lang=ko"),
        "the case links to the unfreeze request"
    );
    assert_eq!(
        app.case_json(&token).await["state"],
        "waiting_for_you",
        "a live flow waits for the holder"
    );
}
