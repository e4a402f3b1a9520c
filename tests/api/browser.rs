//! The unfreeze flow in a real browser: headless Chromium driven through
//! ChromeDriver, from the request form to the unfrozen account. Screenshots of
//! each page are saved under `target/tmp/artifacts/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/test` installs
//! them); without them this test fails, saying so.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{Backend, eventually, p3_login, spawn_app, unique_name};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A ChromeDriver of its own for one test, stopped when dropped.
pub(crate) struct Driver {
    child: Child,
    url: String,
    profile: PathBuf,
}

impl Driver {
    pub(crate) async fn start() -> Self {
        for binary in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(binary).exists(),
                "{binary} is missing: install Debian's chromium and chromium-driver (scripts/test does)"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        eventually("chromedriver to start", Duration::from_secs(20), || {
            let request = client.get(format!("{url}/status")).send();
            async move { request.await.ok().filter(|r| r.status().is_success()).map(drop) }
        })
        .await;
        let profile = std::env::temp_dir().join(format!("holdfast-chromium-{}", unique_name()));
        Self { child, url, profile }
    }
}

impl Driver {
    /// A headless Chromium session with a window of `size` (`"w,h"`) whose
    /// preferred language is `lang`.
    pub(crate) async fn browser(&self, size: &str, lang: &str) -> fantoccini::Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    format!("--window-size={size}"), format!("--lang={lang}"),
                    format!("--user-data-dir={}", self.profile.display()),
                ],
                "prefs": {"intl.accept_languages": lang},
            }),
        );
        // ChromeDriver listens on loopback: plain HTTP, no TLS stack needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a browser session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Chromium outlives a killed ChromeDriver (a test that fails before
        // closing its session leaves it running): its profile directory,
        // unique to this driver, names every process it started.
        let _ = Command::new("pkill")
            .arg("-KILL")
            .arg("-f")
            .arg(format!("--user-data-dir={}", self.profile.display()))
            .status();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Where screenshots are kept: `target/tmp/artifacts/`.
pub(crate) fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_holder_unfreezes_their_account_in_a_real_browser() {
    let app = spawn_app(Backend::Sqlite).await;
    app.exchange.set_second_factor(Some("246810"));
    app.ingest(&p3_login("re-1", "acct-8842")).await;
    app.contain_as_analyst("acct-8842").await;
    assert_eq!(app.holds("acct-8842").await["frozen"], true);

    let driver = Driver::start().await;
    let browser = driver.browser("720,1100", "en-US").await;
    let shot = |name: &'static str| {
        let browser = browser.clone();
        async move {
            let png = browser.screenshot().await.unwrap();
            std::fs::write(artifacts().join(name), png).unwrap();
        }
    };

    // The holder asks for a link.
    browser.goto(&app.url("/unfreeze")).await.unwrap();
    browser
        .find(Locator::Id("account_id"))
        .await
        .unwrap()
        .send_keys("acct-8842")
        .await
        .unwrap();
    browser
        .find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let sent = browser
        .wait()
        .for_element(Locator::XPath("//h1[. = 'Check your messages']"))
        .await;
    assert!(sent.is_ok(), "the link-sent page is shown");

    // They open the link they were sent and enter the code.
    let link = app.exchange.wait_for_notification("acct-8842", "unfreeze_link").await;
    let url = link.body["data"]["url"].as_str().unwrap().to_owned();
    let code = app.unfreeze_code("acct-8842").await;
    browser.goto(&url).await.unwrap();
    shot("1-code.png").await;
    browser
        .find(Locator::Id("code"))
        .await
        .unwrap()
        .send_keys(&code)
        .await
        .unwrap();
    browser
        .find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // Their own 2-step code.
    browser
        .wait()
        .for_element(Locator::Id("second_factor"))
        .await
        .unwrap()
        .send_keys("246810")
        .await
        .unwrap();
    shot("2-second-factor.png").await;
    browser
        .find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // "Was this you?"
    let legend = browser
        .wait()
        .for_element(Locator::Css("fieldset legend"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(legend.contains("Brazil"), "{legend}");
    browser
        .wait()
        .for_element(Locator::Id("mine-0"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    shot("3-activity.png").await;
    browser
        .find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // Unfrozen.
    let outcome = browser
        .wait()
        .for_element(Locator::Id("outcome"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    shot("4-unfrozen.png").await;
    assert_eq!(outcome, "Your account is unfrozen");
    let done: Vec<String> = {
        let mut texts = Vec::new();
        for item in browser.find_all(Locator::Css("ol.steps li.done")).await.unwrap() {
            texts.push(item.text().await.unwrap());
        }
        texts
    };
    assert_eq!(done.len(), 4, "every step shows as done: {done:?}");
    let holds = app.holds("acct-8842").await;
    assert_eq!(holds["frozen"], false);
    assert_eq!(holds["holds"][0]["scope"], "withdrawal", "the cool-off stays");
    browser.close().await.unwrap();
}
