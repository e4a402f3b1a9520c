//! `[campaigns]` of the rules file: when incidents sharing an attacker
//! signal form a campaign, per signal kind, validated at start with the line
//! of a mistake named. The rest of the campaign rules is `domain::campaign`.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Priority;
use crate::domain::time::parse_duration;

/// Which attacker signal a campaign shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "The shared signal: `login.ip`, `login.device_id` or `withdrawal.destination`.")]
pub enum SignalKind {
    /// `login.ip`
    Ip,
    /// `login.device_id`
    Device,
    /// `withdrawal.destination`
    Destination,
}

impl SignalKind {
    pub const ALL: [SignalKind; 3] = [SignalKind::Ip, SignalKind::Device, SignalKind::Destination];

    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::Ip => "ip",
            SignalKind::Device => "device",
            SignalKind::Destination => "destination",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The signal in a few words, for a priority reason.
    pub fn label(self) -> &'static str {
        match self {
            SignalKind::Ip => "sign-in IP address",
            SignalKind::Device => "sign-in device",
            SignalKind::Destination => "withdrawal destination",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When one signal value makes a campaign, and how urgent its incidents become.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CampaignRule {
    /// How many distinct accounts must share the value.
    pub accounts: usize,
    /// Within how long a span of time.
    pub within: Duration,
    /// The priority every incident of the campaign rises to at least.
    pub priority: Priority,
}

impl Default for CampaignRule {
    fn default() -> Self {
        Self {
            accounts: 3,
            within: Duration::from_secs(3600),
            priority: Priority::P2,
        }
    }
}

/// `[campaigns]` of the rules file, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CampaignRules {
    /// `false` turns recognition off (to measure intake without it).
    pub enabled: bool,
    rules: [CampaignRule; 3],
}

impl Default for CampaignRules {
    fn default() -> Self {
        Self {
            enabled: true,
            rules: [CampaignRule::default(); 3],
        }
    }
}

impl CampaignRules {
    pub fn rule(&self, kind: SignalKind) -> CampaignRule {
        self.rules[kind.index()]
    }

    /// The longest window of any signal kind.
    pub fn longest_window(&self) -> Duration {
        self.rules.iter().map(|r| r.within).max().unwrap_or(Duration::ZERO)
    }
}

/// `[campaigns]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignsSpec {
    enabled: Option<bool>,
    ip: Option<KindSpec>,
    device: Option<KindSpec>,
    destination: Option<KindSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KindSpec {
    accounts: Option<toml::Spanned<i64>>,
    within: Option<toml::Spanned<String>>,
    priority: Option<toml::Spanned<String>>,
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

impl CampaignsSpec {
    /// Validates the section; `text` is the whole file, to name lines.
    pub fn validate(self, text: &str) -> Result<CampaignRules, String> {
        let mut rules = CampaignRules {
            enabled: self.enabled.unwrap_or(true),
            ..CampaignRules::default()
        };
        for (kind, spec) in [
            (SignalKind::Ip, self.ip),
            (SignalKind::Device, self.device),
            (SignalKind::Destination, self.destination),
        ] {
            if let Some(spec) = spec {
                rules.rules[kind.index()] = spec.validate(kind, text)?;
            }
        }
        Ok(rules)
    }
}

impl KindSpec {
    fn validate(self, kind: SignalKind, text: &str) -> Result<CampaignRule, String> {
        let mut rule = CampaignRule::default();
        let at = |span: std::ops::Range<usize>, field: &str, message: String| {
            format!(
                "line {}: [campaigns.{kind}].{field}: {message}",
                line_of(text, span.start)
            )
        };
        if let Some(accounts) = self.accounts {
            let n = *accounts.get_ref();
            if !(2..=100_000).contains(&n) {
                return Err(at(
                    accounts.span(),
                    "accounts",
                    format!("{n} is not a number of accounts from 2 to 100000 (one account alone is no campaign)"),
                ));
            }
            rule.accounts = n as usize;
        }
        if let Some(within) = self.within {
            let duration = parse_duration(within.get_ref()).map_err(|e| at(within.span(), "within", e))?;
            if duration.is_zero() || duration > MAX_WINDOW {
                return Err(at(
                    within.span(),
                    "within",
                    "must be longer than nothing and at most 7d".into(),
                ));
            }
            rule.within = duration;
        }
        if let Some(priority) = self.priority {
            rule.priority = match Priority::parse(priority.get_ref()) {
                Some(p @ (Priority::P1 | Priority::P2)) => p,
                _ => {
                    return Err(at(
                        priority.span(),
                        "priority",
                        format!(
                            "`{}` is not P1 or P2 (a campaign's incidents are at least P2)",
                            priority.get_ref()
                        ),
                    ));
                }
            }
        }
        Ok(rule)
    }
}

/// The longest window a rules file may set.
pub const MAX_WINDOW: Duration = Duration::from_secs(7 * 86_400);
