//! Alerts as the risk engine sends them, parsed into types that cannot be invalid.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::time::Timestamp;
use super::validation::{FieldError, Fields};

/// How far after the server clock an alert's `occurred_at` may be. Clocks
/// drift and time zones get mangled, but an alert dated further ahead is
/// wrong, and would sort and age (SLA, campaign windows) as if it had not
/// happened yet.
pub const MAX_FUTURE_OCCURRED_AT: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

pub use super::ids::{AccountId, AlertId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(description = "The kind of alert.")]
pub enum AlertKind {
    SuspiciousLogin,
    LargeWithdrawal,
}

impl AlertKind {
    pub const ALL: [AlertKind; 2] = [AlertKind::SuspiciousLogin, AlertKind::LargeWithdrawal];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::SuspiciousLogin => "suspicious_login",
            AlertKind::LargeWithdrawal => "large_withdrawal",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A non-negative decimal amount kept exactly as sent (`"98000.00"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Decimal(String);

/// In the API's description: the rule of [`Decimal::parse`].
impl utoipa::PartialSchema for Decimal {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .description(Some(
                "A non-negative decimal amount as a string, kept exactly as sent: up to 30 integer and 18 \
                 fractional digits, no sign, no exponent.",
            ))
            .pattern(Some(r"^[0-9]{1,30}(\.[0-9]{1,18})?$"))
            .examples(["98000.00"])
            .into()
    }
}

impl utoipa::ToSchema for Decimal {}

impl Decimal {
    /// Accepts up to 30 integer digits and 18 fractional digits, no sign, no exponent.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        let valid = !whole.is_empty()
            && whole.len() <= 30
            && digits(whole)
            && fraction.len() <= 18
            && digits(fraction)
            && (fraction.is_empty() != text.contains('.'));
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err("must be a non-negative decimal string such as \"1500.00\"")
        }
    }

    /// The amount as a float, precise enough for comparing against thresholds.
    pub fn approximate(&self) -> f64 {
        self.0.parse().unwrap_or(f64::MAX)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the risk engine saw about a login.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoginSignals {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub device_id: Option<String>,
    pub new_device: bool,
    pub new_country: bool,
    pub impossible_travel: bool,
    pub anonymizing_network: bool,
    pub failed_mfa_attempts: u32,
    pub credential_change_within_24h: bool,
}

/// What the risk engine saw about a withdrawal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WithdrawalSignals {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub withdrawal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub asset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub amount: Option<Decimal>,
    pub usd_value: Decimal,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub destination: Option<String>,
    pub new_destination: bool,
}

/// The kind-specific part of an alert; serialised as `"login": {…}` or `"withdrawal": {…}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signals {
    Login(LoginSignals),
    Withdrawal(WithdrawalSignals),
}

/// A validated alert. Its JSON form is what Holdfast stores and shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub alert_id: AlertId,
    pub kind: AlertKind,
    pub account_id: AccountId,
    pub occurred_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub risk_score: Option<f64>,
    #[serde(flatten)]
    pub signals: Signals,
}

impl Alert {
    /// Parses a request body received at `now`, naming every field that is
    /// missing or wrong. An `occurred_at` more than 24 hours after `now` is wrong.
    ///
    /// Unknown fields are ignored so the risk engine can add signals before
    /// Holdfast learns to weigh them.
    pub fn parse(body: &Value, now: Timestamp) -> Result<Alert, Vec<FieldError>> {
        let mut fields = Fields::new();
        let Some(map) = fields.object(body, "") else {
            return Err(fields.into_errors());
        };

        let alert_id = identifier(&mut fields, map, "alert_id", AlertId::parse);
        let account_id = identifier(&mut fields, map, "account_id", AccountId::parse);
        let kind = match fields.required_str(map, "kind") {
            Some(text) => AlertKind::parse(text).or_else(|| {
                fields.error("kind", "must be one of suspicious_login, large_withdrawal");
                None
            }),
            None => None,
        };
        let occurred_at =
            fields
                .required_str(map, "occurred_at")
                .and_then(|text| match Timestamp::parse_rfc3339(text) {
                    Some(at) if at > now.plus(MAX_FUTURE_OCCURRED_AT) => {
                        fields.error("occurred_at", "must not be more than 24 hours after the server's clock");
                        None
                    }
                    Some(at) => Some(at),
                    None => {
                        fields.error(
                            "occurred_at",
                            "must be an RFC 3339 timestamp such as 2026-11-23T04:00:00Z",
                        );
                        None
                    }
                });
        let risk_score = fields.optional_number(map, "risk_score").and_then(|score| {
            if (0.0..=1.0).contains(&score) {
                Some(score)
            } else {
                fields.error("risk_score", "must be between 0 and 1");
                None
            }
        });
        let signals = kind.and_then(|kind| parse_signals(&mut fields, map, kind));

        match (alert_id, account_id, kind, occurred_at, signals) {
            (Some(alert_id), Some(account_id), Some(kind), Some(occurred_at), Some(signals)) => {
                fields.finish(|| Alert {
                    alert_id,
                    kind,
                    account_id,
                    occurred_at,
                    risk_score,
                    signals,
                })
            }
            _ => Err(fields.into_errors()),
        }
    }

    pub fn login(&self) -> Option<&LoginSignals> {
        match &self.signals {
            Signals::Login(login) => Some(login),
            Signals::Withdrawal(_) => None,
        }
    }

    pub fn withdrawal(&self) -> Option<&WithdrawalSignals> {
        match &self.signals {
            Signals::Withdrawal(withdrawal) => Some(withdrawal),
            Signals::Login(_) => None,
        }
    }

    /// A one-line description an account holder can judge ("Was this you?").
    ///
    /// It names the country and time, never the IP address or device id.
    pub fn summary(&self) -> String {
        let at = self.occurred_at.as_datetime().format("%Y-%m-%d %H:%M UTC");
        match &self.signals {
            Signals::Login(login) => {
                let device = if login.new_device {
                    "a new device"
                } else {
                    "a known device"
                };
                match &login.country {
                    Some(country) => format!("Sign-in from {device} in {} ({country}), {at}", country_name(country)),
                    None => format!("Sign-in from {device}, {at}"),
                }
            }
            Signals::Withdrawal(withdrawal) => {
                let amount = match (&withdrawal.amount, &withdrawal.asset) {
                    (Some(amount), Some(asset)) => format!("{} {asset}", amount.as_str()),
                    _ => format!("{} USD", withdrawal.usd_value.as_str()),
                };
                let destination = if withdrawal.new_destination {
                    "a new address"
                } else {
                    "a saved address"
                };
                format!(
                    "Withdrawal of {amount} (about {} USD) to {destination}, {at}",
                    withdrawal.usd_value.as_str()
                )
            }
        }
    }
}

fn identifier<T>(
    fields: &mut Fields,
    map: &Map<String, Value>,
    name: &str,
    parse: impl Fn(&str) -> Result<T, &'static str>,
) -> Option<T> {
    let text = fields.required_str(map, name)?;
    parse(text).map_err(|message| fields.error(name, message)).ok()
}

fn parse_signals(fields: &mut Fields, map: &Map<String, Value>, kind: AlertKind) -> Option<Signals> {
    match kind {
        AlertKind::SuspiciousLogin => {
            let Some(login) = fields.optional_object(map, "login") else {
                if !map.contains_key("login") || map["login"].is_null() {
                    fields.error("login", "is required for a suspicious_login alert");
                }
                return None;
            };
            let text = |fields: &mut Fields, name: &str| fields.optional_str(login, name).map(str::to_owned);
            Some(Signals::Login(LoginSignals {
                ip: text(fields, "login.ip"),
                country: text(fields, "login.country"),
                device_id: text(fields, "login.device_id"),
                new_device: fields.flag(login, "login.new_device"),
                new_country: fields.flag(login, "login.new_country"),
                impossible_travel: fields.flag(login, "login.impossible_travel"),
                anonymizing_network: fields.flag(login, "login.anonymizing_network"),
                failed_mfa_attempts: fields.count(login, "login.failed_mfa_attempts"),
                credential_change_within_24h: fields.flag(login, "login.credential_change_within_24h"),
            }))
        }
        AlertKind::LargeWithdrawal => {
            let Some(withdrawal) = fields.optional_object(map, "withdrawal") else {
                if !map.contains_key("withdrawal") || map["withdrawal"].is_null() {
                    fields.error("withdrawal", "is required for a large_withdrawal alert");
                }
                return None;
            };
            let text = |fields: &mut Fields, name: &str| fields.optional_str(withdrawal, name).map(str::to_owned);
            let decimal = |fields: &mut Fields, name: &str, text: Option<&str>| {
                text.and_then(|text| Decimal::parse(text).map_err(|message| fields.error(name, message)).ok())
            };
            let amount_text = fields.optional_str(withdrawal, "withdrawal.amount");
            let amount = decimal(fields, "withdrawal.amount", amount_text);
            let usd_text = fields.required_str(withdrawal, "withdrawal.usd_value");
            let usd_value = decimal(fields, "withdrawal.usd_value", usd_text);
            let withdrawal_id = text(fields, "withdrawal.withdrawal_id");
            let asset = text(fields, "withdrawal.asset");
            let destination = text(fields, "withdrawal.destination");
            let new_destination = fields.flag(withdrawal, "withdrawal.new_destination");
            Some(Signals::Withdrawal(WithdrawalSignals {
                withdrawal_id,
                asset,
                amount,
                usd_value: usd_value?,
                destination,
                new_destination,
            }))
        }
    }
}

/// English names for the countries most often seen; other codes are shown as sent.
fn country_name(code: &str) -> &str {
    match code {
        "BR" => "Brazil",
        "KR" => "South Korea",
        "US" => "the United States",
        "GB" => "the United Kingdom",
        "DE" => "Germany",
        "FR" => "France",
        "JP" => "Japan",
        "CN" => "China",
        "RU" => "Russia",
        "NG" => "Nigeria",
        "IN" => "India",
        "SG" => "Singapore",
        "VN" => "Vietnam",
        "NL" => "the Netherlands",
        other => other,
    }
}

#[cfg(test)]
mod tests;
