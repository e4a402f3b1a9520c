//! The console in a real browser (headless Chromium through ChromeDriver):
//! a lead signs in with a TOTP code, takes the most urgent incident,
//! contains it with a step-up; a holder's P1 request waits for review, the
//! lead starts the unfreeze and a second lead approves it. Then one page in
//! Korean. Screenshots land in `target/tmp/artifacts/`; the queue and the
//! incident are also copied to `docs/` for the README when
//! `HOLDFAST_UPDATE_DOCS=1`.

use std::path::Path;
use std::time::Duration;

use fantoccini::{Client, Locator};
use holdfast::domain::agent::Role;
use reqwest::StatusCode;

use super::seed;
use crate::browser::{Driver, artifacts};
use crate::helpers::{Backend, TestApp, eventually, p1_withdrawal, p3_login, p4_withdrawal, spawn_app};
use crate::unfreeze::{answers_all, frozen_flow, verify_holder};

async fn shot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    std::fs::write(artifacts().join(name), &png).unwrap();
    let in_readme = ["console-queue.png", "console-incident.png"].contains(&name);
    if in_readme && std::env::var("HOLDFAST_UPDATE_DOCS").as_deref() == Ok("1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
        std::fs::write(docs.join(name), &png).unwrap();
    }
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

/// Signs in through the form with a fresh code from the agent's app.
async fn sign_in(app: &TestApp, browser: &Client, username: &str, password: &str, secret: &[u8]) {
    browser.goto(&app.url("/console/")).await.unwrap();
    fill(browser, "username", username).await;
    fill(browser, "password", password).await;
    fill(browser, "otp", &app.fresh_code(secret)).await;
    click(browser, "main form button[type=submit]").await;
    browser.wait().for_element(Locator::Css("#queue")).await.unwrap();
}

/// Types a fresh code into a step-up field when the form shows one.
async fn step_up_if_asked(app: &TestApp, browser: &Client, field: &str, secret: &[u8]) {
    if browser.find(Locator::Id(field)).await.is_ok() {
        fill(browser, field, &app.fresh_code(secret)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_leads_work_the_queue_contain_an_incident_and_unfreeze_a_holder_in_a_real_browser() {
    let app = spawn_app(Backend::Sqlite).await;
    let lee = app.create_agent("lee", Role::Lead).await;
    let max = app.create_agent("max", Role::Lead).await;
    // A P1 account whose holder has verified and waits for the agents,
    // already claimed by the analyst on call.
    app.exchange.set_second_factor(None);
    let token = frozen_flow(&app, p1_withdrawal("re-100", "acct-5521"), "acct-5521").await;
    verify_holder(&app, &token, "acct-5521").await;
    let status = app.flow_status(&token).await;
    app.flow_post(&token, "activity", answers_all(&status, true)).await;
    let analyst = app.agent("ana", Role::Analyst).await;
    app.settle().await;
    let claimed = app.post_as(&analyst, "/v1/incidents/next").send().await.unwrap();
    assert_eq!(claimed.status(), StatusCode::OK);
    // The rest of the queue: the most urgent unclaimed one is a P3 sign-in.
    app.ingest(&p4_withdrawal("re-101", "acct-1207")).await;
    app.ingest(&p3_login("re-102", "acct-8842")).await;
    app.ingest(&p4_withdrawal("re-103", "acct-3310")).await;

    let driver = Driver::start().await;
    let browser = driver.browser("1280,900", "en-US").await;

    // Lee signs in with a TOTP code and lands on the queue.
    sign_in(&app, &browser, "lee", &lee.password, &seed(&lee)).await;
    let heading = text_of(&browser, "main h1").await;
    assert_eq!(heading, "Queue");
    let first = text_of(&browser, "#queue-rows tr:first-child").await;
    assert!(
        first.contains("acct-5521") && first.contains("P1") && first.contains("ana"),
        "{first}"
    );
    shot(&browser, "console-queue.png").await;

    // Lee takes the next one: the P3, and contains it with a step-up.
    click(&browser, "#take-next").await;
    let notice = text_of(&browser, "p.notice.ok").await;
    assert_eq!(notice, "You took this incident.");
    assert!(text_of(&browser, "main h1").await.contains("acct-8842"));
    fill(&browser, "otp-contain-suspicious-login", &app.fresh_code(&seed(&lee))).await;
    click(&browser, "#run-contain-suspicious-login").await;
    browser.wait().for_element(Locator::Css("article.run")).await.unwrap();
    eventually("the account to be frozen", Duration::from_secs(15), || async {
        (app.holds("acct-8842").await["frozen"] == true).then_some(())
    })
    .await;
    app.settle().await;
    browser.refresh().await.unwrap();
    let run = text_of(&browser, "article.run h3").await;
    assert!(
        run.contains("contain-suspicious-login") && run.contains("succeeded"),
        "{run}"
    );
    assert!(text_of(&browser, "main h1").await.contains("contained"));
    shot(&browser, "console-incident.png").await;

    // The holder of acct-5521 waits for review: Lee starts the unfreeze.
    click(&browser, "nav a[href='/console/reviews']").await;
    let review = text_of(&browser, "li.review").await;
    assert!(
        review.contains("acct-5521") && review.contains("this was them"),
        "{review}"
    );
    let incident = app.incident_of(&analyst, "acct-5521").await;
    step_up_if_asked(&app, &browser, &format!("otp-unfreeze-{incident}"), &seed(&lee)).await;
    click(
        &browser,
        &format!("form[action='/console/reviews/{incident}/unfreeze'] button"),
    )
    .await;
    let waiting = text_of(&browser, "article.run:last-of-type ol.steps").await;
    assert!(waiting.contains("waiting for a second lead"), "{waiting}");
    shot(&browser, "console-unfreeze-waiting.png").await;
    click(&browser, "header form button").await;
    browser.wait().for_element(Locator::Id("username")).await.unwrap();

    // Max, a second lead, approves it with his own step-up.
    sign_in(&app, &browser, "max", &max.password, &seed(&max)).await;
    browser
        .goto(&app.url(&format!("/console/incidents/{incident}")))
        .await
        .unwrap();
    let approve = "form[action$='/approve'] button";
    browser.wait().for_element(Locator::Css(approve)).await.unwrap();
    let field = browser
        .find(Locator::Css("form[action$='/approve'] input[name=otp]"))
        .await
        .unwrap();
    field.send_keys(&app.fresh_code(&seed(&max))).await.unwrap();
    click(&browser, approve).await;
    assert_eq!(text_of(&browser, "p.notice.ok").await, "Your approval is recorded.");
    eventually("the freeze to be lifted", Duration::from_secs(15), || async {
        (app.holds("acct-5521").await["frozen"] == false).then_some(())
    })
    .await;
    // The holder is told "unfrozen" once the whole run is done.
    eventually("the holder's flow to be unfrozen", Duration::from_secs(15), || async {
        (app.flow_status(&token).await["state"] == "unfrozen").then_some(())
    })
    .await;
    browser.refresh().await.unwrap();
    shot(&browser, "console-unfrozen.png").await;

    // One page in Korean, with a Korean font.
    browser.goto(&app.url("/console/?lang=ko")).await.unwrap();
    let korean = text_of(&browser, "#take-next").await;
    assert_eq!(korean, "다음 사건 맡기");
    assert_eq!(text_of(&browser, "main h1").await, "대기열");
    shot(&browser, "console-queue-ko.png").await;
    browser.close().await.unwrap();
}
