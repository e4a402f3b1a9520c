//! Drills (SPEC §14): synthetic waves sent through the real intake on
//! accounts named `drill-…`, so the team can rehearse without a real wave.
//!
//! An account is a drill account by its name alone, and only a key of scope
//! `drill` may name one: whatever concerns such an account (its incidents,
//! their pushes, notifications and feedback) stays inside Holdfast. A drill's
//! accounts are `drill-<drill id>-<n>`, so its incidents are found by name.

use std::fmt;
use std::time::Duration;

use serde_json::{Value, json};

use super::ids::AccountId;
use super::time::Timestamp;

/// Every drill account's id starts with this.
pub const ACCOUNT_PREFIX: &str = "drill-";

/// How long a drill's incidents live before they close by themselves.
pub const LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Whether `account_id` names a drill account.
pub fn is_drill_account(account_id: &AccountId) -> bool {
    account_id.as_str().starts_with(ACCOUNT_PREFIX)
}

/// A drill's id: 4 to 32 lowercase letters and digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrillId(String);

impl DrillId {
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let valid =
            (4..=32).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        valid.then(|| DrillId(text.to_owned()))
    }

    /// A drill id from random bytes: ten letters and digits.
    pub fn from_random(bytes: [u8; 10]) -> Self {
        const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
        DrillId(
            bytes
                .iter()
                .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
                .collect(),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `n`-th account of this drill (from 1).
    pub fn account(&self, n: u32) -> String {
        format!("{ACCOUNT_PREFIX}{}-{n:04}", self.0)
    }

    /// What every account of this drill starts with.
    pub fn account_prefix(&self) -> String {
        format!("{ACCOUNT_PREFIX}{}-", self.0)
    }
}

impl fmt::Display for DrillId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a drill rehearses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// One source signs in to many accounts (a campaign by address).
    CredentialStuffing,
    /// Withdrawals from many accounts to one new destination (a campaign by destination).
    MuleDestination,
    /// One account: an impossible sign-in, then a large withdrawal (a P1, contained at once).
    SingleTakeover,
}

impl Scenario {
    pub const ALL: [Scenario; 3] = [
        Scenario::CredentialStuffing,
        Scenario::MuleDestination,
        Scenario::SingleTakeover,
    ];

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::CredentialStuffing => "credential-stuffing",
            Scenario::MuleDestination => "mule-destination",
            Scenario::SingleTakeover => "single-takeover",
        }
    }

    /// How many accounts the wave reaches unless told otherwise.
    pub fn default_accounts(self) -> u32 {
        match self {
            Scenario::CredentialStuffing => 12,
            Scenario::MuleDestination => 5,
            Scenario::SingleTakeover => 1,
        }
    }

    /// The wave's alerts, in the order they are sent, all occurring at `at`.
    /// The attacker's address and destination are the drill's own.
    pub fn alerts(self, drill: &DrillId, accounts: u32, at: Timestamp) -> Vec<Value> {
        let occurred_at = at.to_rfc3339();
        let seed = drill
            .as_str()
            .bytes()
            .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
        let attacker_ip = format!("198.51.100.{}", 1 + seed % 254);
        let mule = format!("bc1qdrill{}mule", drill.as_str());
        let login = |n: u32, account: &str, impossible: bool, failed: u32| {
            json!({
                "alert_id": format!("{account}-login"),
                "kind": "suspicious_login",
                "account_id": account,
                "occurred_at": occurred_at,
                "risk_score": 0.7,
                "login": {"ip": attacker_ip, "country": "NL", "device_id": format!("d-{}-{n}", drill.as_str()),
                          "new_device": true, "new_country": true, "impossible_travel": impossible,
                          "failed_mfa_attempts": failed}
            })
        };
        let withdrawal = |account: &str| {
            json!({
                "alert_id": format!("{account}-withdrawal"),
                "kind": "large_withdrawal",
                "account_id": account,
                "occurred_at": occurred_at,
                "risk_score": 0.8,
                "withdrawal": {"withdrawal_id": format!("w-{account}"), "asset": "BTC", "amount": "0.3",
                               "usd_value": "20000.00", "destination": mule, "new_destination": true}
            })
        };
        match self {
            Scenario::CredentialStuffing => (1..=accounts.max(1))
                .map(|n| login(n, &drill.account(n), false, 1))
                .collect(),
            Scenario::MuleDestination => (1..=accounts.max(1)).map(|n| withdrawal(&drill.account(n))).collect(),
            Scenario::SingleTakeover => {
                let account = drill.account(1);
                vec![login(1, &account, true, 3), withdrawal(&account)]
            }
        }
    }
}

/// The median of `values` (the lower middle of an even count); `None` when empty.
pub fn median(values: &[Duration]) -> Option<Duration> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    match sorted.len() {
        0 => None,
        n => Some(sorted[(n - 1) / 2]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(text: &str) -> AccountId {
        AccountId::parse(text).unwrap()
    }

    #[test]
    fn only_accounts_named_drill_dash_are_drill_accounts() {
        assert!(is_drill_account(&account("drill-0001-7")));
        assert!(!is_drill_account(&account("acct-drill-1")));
        assert!(!is_drill_account(&account("drill")));
        assert!(!is_drill_account(&account("Drill-1")));
    }

    #[test]
    fn drill_ids_are_short_lowercase_words() {
        let id = DrillId::from_random([0, 1, 2, 31, 32, 255, 7, 8, 9, 10]);
        assert_eq!(id.as_str().len(), 10);
        assert_eq!(DrillId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(id.account(3), format!("drill-{id}-0003"));
        assert!(is_drill_account(&account(&id.account(1))));
        for bad in ["", "abc", "ABCDE", "abc-de", "abcd%", &"a".repeat(33)] {
            assert_eq!(DrillId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_scenario_names_only_its_drills_accounts() {
        let id = DrillId::parse("abcd1234").unwrap();
        let at = Timestamp::from_unix_seconds(1_795_000_000).unwrap();
        for scenario in Scenario::ALL {
            assert_eq!(Scenario::parse(scenario.as_str()), Some(scenario));
            let alerts = scenario.alerts(&id, scenario.default_accounts(), at);
            assert!(!alerts.is_empty());
            for alert in &alerts {
                assert!(alert["account_id"].as_str().unwrap().starts_with("drill-abcd1234-"));
            }
        }
        assert_eq!(Scenario::CredentialStuffing.alerts(&id, 3, at).len(), 3);
        assert_eq!(Scenario::SingleTakeover.alerts(&id, 9, at).len(), 2);
    }

    #[test]
    fn the_median_is_the_lower_middle() {
        let s = Duration::from_secs;
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[s(5)]), Some(s(5)));
        assert_eq!(median(&[s(9), s(1), s(5)]), Some(s(5)));
        assert_eq!(median(&[s(4), s(1), s(3), s(2)]), Some(s(2)));
    }
}
