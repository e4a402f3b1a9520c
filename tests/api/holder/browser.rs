//! The holder's line in a real browser (headless Chromium through
//! ChromeDriver), in English and in Korean: a risk notice's not-me link →
//! the button → the account is frozen → the holder writes → a lead answers
//! in the console → the case is resolved → the holder rates it. Screenshots
//! land in `target/tmp/artifacts/`; the case pages are also copied to
//! `docs/` for the README when `HOLDFAST_UPDATE_DOCS=1`.

use std::path::Path;
use std::time::Duration;

use fantoccini::{Client, Locator};
use holdfast::domain::agent::Role;

use crate::browser::{Driver, artifacts};
use crate::console::seed;
use crate::helpers::{Backend, eventually, p1_withdrawal, spawn_app};
use crate::holder::EVERY_SCOPE;

async fn shot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    std::fs::write(artifacts().join(name), &png).unwrap();
    if std::env::var("HOLDFAST_UPDATE_DOCS").as_deref() == Ok("1") {
        std::fs::write(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join(name), &png).unwrap();
    }
}

async fn click(browser: &Client, css: &str) {
    browser
        .wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn fill(browser: &Client, id: &str, text: &str) {
    browser
        .wait()
        .for_element(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_holder_stops_a_thief_talks_to_the_team_and_rates_the_case_in_a_real_browser_in_english() {
    holder_case_end_to_end("en-US", "en").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_holder_stops_a_thief_talks_to_the_team_and_rates_the_case_in_a_real_browser_in_korean() {
    holder_case_end_to_end("ko-KR", "ko").await;
}

async fn holder_case_end_to_end(locale: &str, lang: &str) {
    let app = spawn_app(Backend::Sqlite).await;
    let account = "acct-7731";
    let incident = app.ingest_incident(&p1_withdrawal("re-1", account)).await;
    let notice = app.exchange.wait_for_notification(account, "risk_notice").await;
    let not_me_url = notice.body["data"]["not_me_url"].as_str().unwrap().to_owned();
    let case_url = notice.body["data"]["case_url"].as_str().unwrap().to_owned();
    let lee = app.create_agent("lee", Role::Lead).await;

    let driver = Driver::start().await;
    let holder = driver.browser("720,1300", locale).await;

    // The notice's "this was not me" link: one button, pressed.
    holder.goto(&not_me_url).await.unwrap();
    let page_lang = holder
        .find(Locator::Css("html"))
        .await
        .unwrap()
        .attr("lang")
        .await
        .unwrap();
    assert_eq!(page_lang.as_deref(), Some(lang));
    click(&holder, "#not-me").await;
    holder.wait().for_element(Locator::Id("done")).await.unwrap();
    assert_eq!(app.held_scopes(account).await, EVERY_SCOPE, "frozen by the button");
    shot(&holder, &format!("holder-case-frozen-{lang}.png")).await;

    // The holder writes to the team.
    fill(&holder, "body", "I did not make this withdrawal. What happens now?").await;
    click(&holder, "#send").await;
    holder
        .wait()
        .for_element(Locator::Css("#thread li.from-holder"))
        .await
        .unwrap();

    // A lead answers in the console and resolves the case.
    let agents = Driver::start().await;
    let console = agents.browser("1280,1000", "en-US").await;
    console.goto(&app.url("/console/")).await.unwrap();
    fill(&console, "username", "lee").await;
    fill(&console, "password", &lee.password).await;
    fill(&console, "otp", &app.fresh_code(&seed(&lee))).await;
    click(&console, "main form button[type=submit]").await;
    console.wait().for_element(Locator::Css("#queue")).await.unwrap();
    console
        .goto(&app.url(&format!("/console/incidents/{incident}")))
        .await
        .unwrap();
    let thread = text_of(&console, "#case-thread").await;
    assert!(thread.contains("I did not make this withdrawal"), "{thread}");
    fill(
        &console,
        "reply",
        "Your account is locked. We cancelled the withdrawal; you keep your funds.",
    )
    .await;
    click(&console, "#send-reply").await;
    console.wait().for_element(Locator::Css("p.notice.ok")).await.unwrap();
    fill(&console, "resolve-note", "Confirmed with the holder").await;
    click(&console, "form[action$='/resolve'] button[type=submit]").await;
    // The page before the click shows a notice too (the reply's): wait for
    // the resolution itself, not for any notice.
    let resolved = format!("SELECT COUNT(*) FROM incidents WHERE id = '{incident}' AND status = 'resolved'");
    eventually("the incident resolved", Duration::from_secs(20), || {
        let (app, resolved) = (&app, &resolved);
        async move { (app.db.count(resolved).await == 1).then_some(()) }
    })
    .await;

    // The holder sees the answer, the case closed, and rates it.
    holder.goto(&case_url).await.unwrap();
    let answer = text_of(&holder, "#thread li.from-team").await;
    assert!(answer.contains("We cancelled the withdrawal"), "{answer}");
    let state = holder
        .find(Locator::Id("case-state"))
        .await
        .unwrap()
        .attr("data-state")
        .await
        .unwrap();
    assert_eq!(
        state.as_deref(),
        Some("frozen_to_protect_you"),
        "a confirmed takeover stays frozen"
    );
    click(&holder, "#score-5").await;
    fill(&holder, "comment", "Fast and clear.").await;
    shot(&holder, &format!("holder-case-rate-{lang}.png")).await;
    click(&holder, "#rate").await;
    holder.wait().for_element(Locator::Id("rated")).await.unwrap();
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM holder_cases WHERE satisfaction_score = 5")
            .await,
        1
    );
    holder.close().await.unwrap();
    console.close().await.unwrap();
}
