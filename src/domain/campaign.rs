//! Campaigns: incidents of different accounts that share an attacker signal
//! (the same sign-in IP, device or withdrawal destination) within a window.
//!
//! What is plain rules lives here: which signals an alert carries, the
//! thresholds (`[campaigns]` in `priority.toml`, validated at start with the
//! line of a mistake named), when a set of sightings forms a campaign, the
//! priority floor and the reason every incident of a campaign gets, and how
//! a value is masked once its retention period is over. Storage and the
//! intake batch are `crate::campaigns`.

use std::collections::BTreeSet;
use std::time::Duration;

use super::alert::{Alert, AlertId, Signals};
use super::ids::{AccountId, IncidentId};
use super::priority::{Assessment, Reason};
use super::time::Timestamp;

pub use super::priority::campaigns::{CampaignRule, CampaignRules, CampaignsSpec, MAX_WINDOW, SignalKind};

/// The rule id of the priority reason every incident of a campaign lists.
pub const REASON_RULE: &str = "campaign";

/// One attacker signal value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Signal {
    pub kind: SignalKind,
    pub value: String,
}

/// The longest signal value recorded; longer ones are not attacker signals
/// Holdfast can match (and would only bloat the index).
pub const MAX_VALUE_CHARS: usize = 200;

/// What a drill alert's signal values are prefixed with, so that a drill's
/// incidents only ever meet other drills' in a campaign (SPEC §14).
pub const DRILL_SIGNAL_PREFIX: &str = "drill:";

/// The attacker signals an alert carries: absent or blank fields carry none.
/// A drill account's signals are set apart by [`DRILL_SIGNAL_PREFIX`].
pub fn signals_of(alert: &Alert) -> Vec<Signal> {
    let drill = super::drill::is_drill_account(&alert.account_id);
    let mut found = Vec::new();
    let mut add = |kind, value: Option<&String>| {
        if let Some(value) = value
            .map(|v| v.trim())
            .filter(|v| !v.is_empty() && v.chars().count() <= MAX_VALUE_CHARS)
        {
            let value = match drill {
                true => format!("{DRILL_SIGNAL_PREFIX}{value}"),
                false => value.to_owned(),
            };
            found.push(Signal { kind, value });
        }
    };
    match &alert.signals {
        Signals::Login(login) => {
            add(SignalKind::Ip, login.ip.as_ref());
            add(SignalKind::Device, login.device_id.as_ref());
        }
        Signals::Withdrawal(withdrawal) => add(SignalKind::Destination, withdrawal.destination.as_ref()),
    }
    found
}

/// One time a signal value was seen: on which account, incident and alert.
#[derive(Clone, Debug, PartialEq)]
pub struct Sighting {
    pub account_id: AccountId,
    pub incident_id: IncidentId,
    pub alert_id: AlertId,
    pub seen_at: Timestamp,
}

/// The span of the sightings that form a campaign, if they do: a window of
/// `rule.within` holding at least `rule.accounts` distinct accounts and at
/// least one sighting `fresh` says is new (an alert of this batch: what was
/// stored before did not form one, or it would be known already). The span
/// covers every such window, so the campaign gets every sighting in them.
pub fn forming_span(
    sightings: &[Sighting],
    fresh: impl Fn(&Sighting) -> bool,
    rule: CampaignRule,
) -> Option<(Timestamp, Timestamp)> {
    let mut sorted: Vec<&Sighting> = sightings.iter().collect();
    sorted.sort_by_key(|s| s.seen_at);
    let mut span: Option<(Timestamp, Timestamp)> = None;
    for (i, first) in sorted.iter().enumerate() {
        let end = first.seen_at.plus(rule.within);
        let window: Vec<&Sighting> = sorted[i..].iter().copied().take_while(|s| s.seen_at <= end).collect();
        let accounts: BTreeSet<&str> = window.iter().map(|s| s.account_id.as_str()).collect();
        if accounts.len() >= rule.accounts && window.iter().any(|s| fresh(s)) {
            let last = window.last().map_or(first.seen_at, |s| s.seen_at);
            span = Some(match span {
                None => (first.seen_at, last),
                Some((start, until)) => (start.min(first.seen_at), until.max(last)),
            });
        }
    }
    span
}

/// Whether a sighting at `at` belongs to a campaign seen from `first_seen`
/// to `last_seen`: it is within the window of it.
pub fn is_live(first_seen: Timestamp, last_seen: Timestamp, at: Timestamp, within: Duration) -> bool {
    at >= first_seen.minus(within) && at <= last_seen.plus(within)
}

/// The priority reason of an incident in a campaign of `kind` shared by
/// `accounts` accounts, for the alert that carried the signal.
pub fn reason(kind: SignalKind, accounts: i64, rule: CampaignRule, alert_id: &AlertId) -> Reason {
    Reason {
        rule: REASON_RULE.to_owned(),
        description: format!(
            "Campaign: {accounts} accounts share this {} within {}",
            kind.label(),
            short_duration(rule.within)
        ),
        points: 0,
        alert_id: alert_id.clone(),
    }
}

/// What joining a campaign does to an incident's priority: at least the
/// rule's priority, with the campaign reason. Given to `Incident::reassess`,
/// so priorities only rise and deadlines only tighten.
pub fn floor(rule: CampaignRule, reason: Reason) -> Assessment {
    Assessment {
        priority: rule.priority,
        score: 0,
        reasons: vec![reason],
    }
}

/// "1h", "90m", "2d": a window as a rules file writes it.
pub fn short_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// A value with most of it hidden, kept once the full value is forgotten:
/// an IPv4 address keeps its first three octets, an IPv6 address its first
/// three groups, anything else its first and last four characters.
pub fn mask(kind: SignalKind, value: &str) -> String {
    if kind == SignalKind::Ip
        && let Ok(ip) = value.parse::<std::net::IpAddr>()
    {
        return match ip {
            std::net::IpAddr::V4(v4) => {
                let [a, b, c, _] = v4.octets();
                format!("{a}.{b}.{c}.*")
            }
            std::net::IpAddr::V6(v6) => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:*", s[0], s[1], s[2])
            }
        };
    }
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 8 {
        let keep: String = chars.iter().take(2).collect();
        return format!("{keep}…");
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::priority::{Priority, PriorityRules};

    fn at(minutes: i64) -> Timestamp {
        let start = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").unwrap();
        let offset = Duration::from_secs(minutes.unsigned_abs() * 60);
        if minutes < 0 {
            start.minus(offset)
        } else {
            start.plus(offset)
        }
    }

    fn sighting(account: &str, minutes: i64) -> Sighting {
        Sighting {
            account_id: AccountId::parse(account).unwrap(),
            incident_id: IncidentId::from(format!("i-{account}")),
            alert_id: AlertId::parse(&format!("a-{account}-{minutes}")).unwrap(),
            seen_at: at(minutes),
        }
    }

    /// The shipped rules without their `[campaigns]` section.
    fn base() -> &'static str {
        PriorityRules::BUILT_IN.split("# --- Campaigns").next().unwrap()
    }

    fn rules_with(section: &str) -> Result<PriorityRules, String> {
        let text = format!("{}\n{section}", base());
        PriorityRules::parse("test.toml", &text)
    }

    #[test]
    fn three_accounts_within_the_hour_form_a_campaign() {
        let s = [sighting("a", 0), sighting("b", 20), sighting("c", 50)];
        let span = forming_span(&s, |x| x.account_id.as_str() == "c", CampaignRule::default());
        assert_eq!(span, Some((at(0), at(50))));
    }

    #[test]
    fn three_accounts_spread_over_more_than_the_window_form_none() {
        let s = [sighting("a", 0), sighting("b", 40), sighting("c", 90)];
        assert_eq!(forming_span(&s, |_| true, CampaignRule::default()), None);
    }

    #[test]
    fn one_account_seen_three_times_is_no_campaign() {
        let s = [sighting("a", 0), sighting("a", 1), sighting("a", 2), sighting("b", 3)];
        assert_eq!(forming_span(&s, |_| true, CampaignRule::default()), None);
    }

    #[test]
    fn sightings_that_formed_nothing_before_form_nothing_without_a_fresh_one() {
        let s = [sighting("a", 0), sighting("b", 1), sighting("c", 2), sighting("d", 200)];
        let span = forming_span(&s, |x| x.account_id.as_str() == "d", CampaignRule::default());
        assert_eq!(span, None);
    }

    #[test]
    fn a_campaign_stays_live_for_a_window_after_its_last_sighting() {
        let hour = Duration::from_secs(3600);
        assert!(is_live(at(0), at(30), at(90), hour));
        assert!(!is_live(at(0), at(30), at(91), hour));
        assert!(is_live(at(0), at(30), at(-60), hour));
    }

    #[test]
    fn signals_come_from_the_login_and_the_withdrawal() {
        let login = Alert::parse(
            &serde_json::json!({"alert_id": "x", "kind": "suspicious_login", "account_id": "a",
                "occurred_at": "2026-11-23T04:00:00Z", "login": {"ip": "203.0.113.9", "device_id": " "}}),
            at(0),
        )
        .unwrap();
        assert_eq!(
            signals_of(&login),
            vec![Signal {
                kind: SignalKind::Ip,
                value: "203.0.113.9".into()
            }]
        );
        let withdrawal = Alert::parse(
            &serde_json::json!({"alert_id": "y", "kind": "large_withdrawal", "account_id": "a",
                "occurred_at": "2026-11-23T04:00:00Z", "withdrawal": {"usd_value": "10", "destination": "bc1qmule"}}),
            at(0),
        )
        .unwrap();
        assert_eq!(signals_of(&withdrawal)[0].kind, SignalKind::Destination);
    }

    #[test]
    fn a_drill_accounts_signals_never_equal_a_real_accounts() {
        let alert = |account: &str| {
            Alert::parse(
                &serde_json::json!({"alert_id": "x", "kind": "suspicious_login", "account_id": account,
                    "occurred_at": "2026-11-23T04:00:00Z", "login": {"ip": "203.0.113.9"}}),
                at(0),
            )
            .unwrap()
        };
        let real = signals_of(&alert("acct-1"));
        let drill = signals_of(&alert("drill-abc-1"));
        assert_eq!(real[0].value, "203.0.113.9");
        assert_eq!(drill[0].value, "drill:203.0.113.9");
    }

    #[test]
    fn values_are_masked_by_kind() {
        assert_eq!(mask(SignalKind::Ip, "203.0.113.9"), "203.0.113.*");
        assert_eq!(mask(SignalKind::Ip, "2001:db8:1:2::5"), "2001:db8:1:*");
        assert_eq!(mask(SignalKind::Destination, "bc1qxy2kgdygjrsqtzq2n0yrf"), "bc1q…0yrf");
        assert_eq!(mask(SignalKind::Device, "d-77"), "d-…");
    }

    #[test]
    fn the_shipped_rules_use_the_documented_defaults() {
        let rules = PriorityRules::built_in();
        let campaigns = rules.campaigns();
        assert!(campaigns.enabled);
        for kind in SignalKind::ALL {
            assert_eq!(campaigns.rule(kind), CampaignRule::default(), "{kind}");
        }
    }

    #[test]
    fn a_kind_may_be_made_stronger_and_recognition_turned_off() {
        let rules = rules_with(
            "[campaigns]\nenabled = false\n[campaigns.destination]\naccounts = 2\nwithin = \"2h\"\npriority = \"P1\"\n",
        )
        .unwrap();
        let campaigns = rules.campaigns();
        assert!(!campaigns.enabled);
        assert_eq!(
            campaigns.rule(SignalKind::Destination),
            CampaignRule {
                accounts: 2,
                within: Duration::from_secs(7200),
                priority: Priority::P1
            }
        );
        assert_eq!(campaigns.rule(SignalKind::Ip), CampaignRule::default());
    }

    fn line_count() -> usize {
        base().lines().count()
    }

    #[test]
    fn too_few_accounts_are_refused_naming_the_line() {
        let error = rules_with("[campaigns.ip]\naccounts = 1\n").unwrap_err();
        let line = line_count() + 3;
        assert!(error.contains(&format!("line {line}")), "{error}");
        assert!(error.contains("[campaigns.ip].accounts"), "{error}");
    }

    #[test]
    fn a_bad_duration_is_refused_naming_the_line() {
        let error = rules_with("[campaigns.device]\nwithin = \"an hour\"\n").unwrap_err();
        let line = line_count() + 3;
        assert!(error.contains(&format!("line {line}")), "{error}");
        assert!(error.contains("[campaigns.device].within"), "{error}");
    }

    #[test]
    fn a_priority_below_p2_is_refused_naming_the_line() {
        let error = rules_with("[campaigns.ip]\npriority = \"P3\"\n").unwrap_err();
        assert!(error.contains(&format!("line {}", line_count() + 3)), "{error}");
    }

    #[test]
    fn an_unknown_key_is_refused_naming_the_line() {
        let error = rules_with("[campaigns.ip]\naccounts = 3\nwindow = \"1h\"\n").unwrap_err();
        assert!(error.contains(&format!("line {}", line_count() + 4)), "{error}");
        assert!(error.contains("window"), "{error}");
    }

    #[test]
    fn an_unknown_signal_kind_is_refused_naming_the_line() {
        let error = rules_with("[campaigns.email]\naccounts = 3\n").unwrap_err();
        assert!(error.contains(&format!("line {}", line_count() + 2)), "{error}");
        assert!(error.contains("email"), "{error}");
    }

    #[test]
    fn the_reason_names_the_signal_and_the_accounts() {
        let alert = AlertId::parse("re-1").unwrap();
        let reason = reason(SignalKind::Ip, 4, CampaignRule::default(), &alert);
        assert_eq!(reason.rule, "campaign");
        assert_eq!(
            reason.description,
            "Campaign: 4 accounts share this sign-in IP address within 1h"
        );
    }
}
