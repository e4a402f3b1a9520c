//! An incident's alerts as the JSON API shows them: as stored, with when
//! they were received and a line the holder can judge.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::alert::{Alert, AlertKind, Decimal, LoginSignals, WithdrawalSignals};
use crate::domain::time::Timestamp;
use crate::storage::AlertRow;

/// An alert as stored: `login` or `withdrawal` by its kind.
#[derive(Serialize, ToSchema)]
pub struct StoredAlert {
    alert_id: String,
    kind: AlertKind,
    account_id: String,
    #[schema(value_type = String, format = DateTime)]
    occurred_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    risk_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    login: Option<StoredLogin>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    withdrawal: Option<StoredWithdrawal>,
    #[schema(value_type = String, format = DateTime)]
    received_at: Timestamp,
    /// A one-line description the holder can judge.
    summary: String,
}

impl StoredAlert {
    pub fn of(row: AlertRow) -> Self {
        let Alert {
            alert_id,
            kind,
            account_id,
            occurred_at,
            risk_score,
            ..
        } = &row.alert;
        StoredAlert {
            alert_id: alert_id.to_string(),
            kind: *kind,
            account_id: account_id.to_string(),
            occurred_at: *occurred_at,
            risk_score: *risk_score,
            login: row.alert.login().map(StoredLogin::of),
            withdrawal: row.alert.withdrawal().map(StoredWithdrawal::of),
            received_at: row.received_at,
            summary: row.alert.summary(),
        }
    }
}

/// A sign-in's signals as stored; text fields the alert did not carry are absent.
#[derive(Serialize, ToSchema)]
pub struct StoredLogin {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    device_id: Option<String>,
    new_device: bool,
    new_country: bool,
    impossible_travel: bool,
    anonymizing_network: bool,
    failed_mfa_attempts: u32,
    credential_change_within_24h: bool,
}

impl StoredLogin {
    fn of(login: &LoginSignals) -> Self {
        StoredLogin {
            ip: login.ip.clone(),
            country: login.country.clone(),
            device_id: login.device_id.clone(),
            new_device: login.new_device,
            new_country: login.new_country,
            impossible_travel: login.impossible_travel,
            anonymizing_network: login.anonymizing_network,
            failed_mfa_attempts: login.failed_mfa_attempts,
            credential_change_within_24h: login.credential_change_within_24h,
        }
    }
}

/// A withdrawal's signals as stored; fields the alert did not carry are absent.
#[derive(Serialize, ToSchema)]
pub struct StoredWithdrawal {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    withdrawal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    asset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    amount: Option<Decimal>,
    usd_value: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    destination: Option<String>,
    new_destination: bool,
}

impl StoredWithdrawal {
    fn of(withdrawal: &WithdrawalSignals) -> Self {
        StoredWithdrawal {
            withdrawal_id: withdrawal.withdrawal_id.clone(),
            asset: withdrawal.asset.clone(),
            amount: withdrawal.amount.clone(),
            usd_value: withdrawal.usd_value.clone(),
            destination: withdrawal.destination.clone(),
            new_destination: withdrawal.new_destination,
        }
    }
}
