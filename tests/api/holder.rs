//! The holder's line (SPEC §13): risk notices, the case, "not me" and "was
//! me", reports of theft and the app's lock, the thread, the rating.

use reqwest::Response;
use serde_json::Value;

use crate::fake_exchange::Received;
use crate::helpers::TestApp;

mod browser;
mod case;
mod lifts;
pub mod messages;
mod not_me;
mod notices;
mod report;
mod satisfaction;

/// The notifications of `template` sent for `account`, oldest first.
pub fn sent(app: &TestApp, account: &str, template: &str) -> Vec<Received> {
    app.exchange
        .received()
        .into_iter()
        .filter(|r| r.endpoint == "notify" && r.field("account_id") == account && r.field("template") == template)
        .collect()
}

/// The case token in a notice's `case_url`.
pub fn case_token(notice: &Received) -> String {
    let url = notice.body["data"]["case_url"].as_str().expect("a case_url");
    url.rsplit_once("/holder/cases/").expect("a case link").1.to_owned()
}

/// The token of the newest risk notice sent for `account`.
pub async fn notice_token(app: &TestApp, account: &str) -> String {
    case_token(&app.exchange.wait_for_notification(account, "risk_notice").await)
}

impl TestApp {
    pub async fn case(&self, token: &str) -> Response {
        self.client
            .get(self.url(&format!("/v1/holder/cases/{token}")))
            .send()
            .await
            .unwrap()
    }

    pub async fn case_json(&self, token: &str) -> Value {
        let response = self.case(token).await;
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        response.json().await.unwrap()
    }

    /// A holder's `POST /v1/holder/cases/{token}/{step}`.
    pub async fn case_post(&self, token: &str, step: &str, body: Value) -> Response {
        self.client
            .post(self.url(&format!("/v1/holder/cases/{token}/{step}")))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// The scopes the account's holds check answers.
    pub async fn held_scopes(&self, account: &str) -> Vec<String> {
        let mut scopes: Vec<String> = self.holds(account).await["holds"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|hold| hold["expires_at"].is_null())
            .map(|hold| hold["scope"].as_str().unwrap().to_owned())
            .collect();
        scopes.sort();
        scopes.dedup();
        scopes
    }
}

pub const EVERY_SCOPE: [&str; 4] = ["api", "login", "trading", "withdrawal"];
