//! What Holdfast sends to the exchange goes to the configured endpoints only.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{Backend, MESSAGES, eventually, p1_withdrawal, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redirect_from_the_exchange_is_a_failed_delivery_and_is_never_followed() {
    for status in [StatusCode::FOUND, StatusCode::TEMPORARY_REDIRECT] {
        let app = spawn_app_with(Backend::Sqlite, |settings| {
            settings.set("HOLDFAST_OUTBOUND_MAX_ATTEMPTS", "2");
        })
        .await;
        app.exchange.redirect_account_control(status);

        app.ingest(&p1_withdrawal("re-1", "acct-1")).await;

        eventually("the containment pushes to give up", Duration::from_secs(15), || async {
            let unfinished = app
                .db
                .count(&format!(
                    "SELECT COUNT(*) FROM {MESSAGES} WHERE destination = 'account_control' AND status <> 'failed'"
                ))
                .await;
            (unfinished == 0).then_some(())
        })
        .await;
        let attempts = app
            .exchange
            .received()
            .iter()
            .filter(|r| r.endpoint == "account_control")
            .count();
        assert!(attempts >= 2, "{status}: each push was tried: {attempts} requests");
        assert_eq!(
            app.db
                .count("SELECT COUNT(*) FROM outbox_delivered WHERE destination = 'account_control'")
                .await,
            0,
            "{status}: nothing confirmed"
        );
        assert_eq!(app.exchange.redirected(), 0, "{status}: the redirect was not followed");
    }
}
