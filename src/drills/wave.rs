//! `holdfast drill run`: sends a scenario's wave through the real signed
//! intake (`POST /v1/alerts`), as the risk engine would, with a key of scope
//! `drill`.

use anyhow::Context;

use crate::domain::drill::{DrillId, Scenario};
use crate::platform::clock::Clock;
use crate::platform::signing::SigningKey;

/// A wave to send.
pub struct Wave {
    pub scenario: Scenario,
    /// How many accounts it reaches.
    pub accounts: u32,
    /// Holdfast's base URL (`http://host:port`).
    pub base_url: String,
    /// A key of scope `drill`.
    pub key: SigningKey,
}

/// What the wave did.
pub struct Sent {
    pub drill: DrillId,
    pub alerts: usize,
    /// Incidents the intake answered with, in the order they were first named.
    pub incidents: Vec<String>,
}

/// A new drill id.
pub fn new_drill_id() -> anyhow::Result<DrillId> {
    Ok(DrillId::from_random(crate::platform::crypto::random_bytes::<10>()?))
}

/// Sends every alert of the wave, one after another; fails on the first
/// alert the intake does not accept.
pub async fn send(wave: &Wave, drill: &DrillId, clock: &Clock) -> anyhow::Result<Sent> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let url = format!("{}/v1/alerts", wave.base_url.trim_end_matches('/'));
    let alerts = wave.scenario.alerts(drill, wave.accounts, clock.now());
    let mut incidents: Vec<String> = Vec::new();
    for alert in &alerts {
        let body = alert.to_string();
        let mut request = client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone());
        for (name, value) in wave.key.headers(clock.now(), body.as_bytes()) {
            request = request.header(name, value);
        }
        let response = request.send().await.with_context(|| format!("Failed to reach {url}"))?;
        let status = response.status();
        let answer: serde_json::Value = response.json().await.unwrap_or_default();
        if !status.is_success() {
            anyhow::bail!(
                "the intake refused alert {}: HTTP {status} {}",
                alert["alert_id"],
                answer.get("detail").and_then(|d| d.as_str()).unwrap_or("")
            );
        }
        if let Some(incident) = answer.get("incident_id").and_then(|i| i.as_str())
            && !incidents.iter().any(|known| known == incident)
        {
            incidents.push(incident.to_owned());
        }
    }
    Ok(Sent {
        drill: drill.clone(),
        alerts: alerts.len(),
        incidents,
    })
}
