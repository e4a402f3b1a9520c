//! The shape of `POST /v1/alerts`'s body, for the API description only.
//!
//! The body is read field by field into a [`crate::domain::alert::Alert`]
//! (`Alert::parse`), which reports every bad field at once; these types say
//! what that parser accepts, and nothing builds them.

use utoipa::openapi::schema::{OneOfBuilder, Schema};
use utoipa::openapi::{Discriminator, Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::alert::{AccountId, AlertId, Decimal};

/// An alert of the risk engine: `login` is required when `kind` is
/// `suspicious_login`, `withdrawal` when it is `large_withdrawal`.
pub struct AlertRequest;

impl PartialSchema for AlertRequest {
    fn schema() -> RefOr<Schema> {
        let mut discriminator = Discriminator::new("kind");
        for (kind, name) in [
            ("suspicious_login", SuspiciousLoginAlert::name()),
            ("large_withdrawal", LargeWithdrawalAlert::name()),
        ] {
            discriminator
                .mapping
                .insert(kind.into(), format!("#/components/schemas/{name}"));
        }
        OneOfBuilder::new()
            .description(Some(
                "An alert of the risk engine: `login` is required when `kind` is `suspicious_login`, `withdrawal` \
                 when it is `large_withdrawal`.",
            ))
            .item(Ref::from_schema_name(SuspiciousLoginAlert::name()))
            .item(Ref::from_schema_name(LargeWithdrawalAlert::name()))
            .discriminator(Some(discriminator))
            .into()
    }
}

impl ToSchema for AlertRequest {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((SuspiciousLoginAlert::name().into(), SuspiciousLoginAlert::schema()));
        SuspiciousLoginAlert::schemas(schemas);
        schemas.push((LargeWithdrawalAlert::name().into(), LargeWithdrawalAlert::schema()));
        LargeWithdrawalAlert::schemas(schemas);
    }
}

/// A suspicious sign-in. Unknown fields are ignored.
#[derive(ToSchema)]
pub struct SuspiciousLoginAlert {
    /// The risk engine's id of the alert; retries of one alert share it.
    pub alert_id: AlertId,
    #[schema(inline)]
    pub kind: SuspiciousLogin,
    /// The exchange's id of the account.
    pub account_id: AccountId,
    /// When it happened (RFC 3339).
    #[schema(format = DateTime)]
    pub occurred_at: String,
    /// The risk engine's own score, 0 to 1.
    #[schema(minimum = 0, maximum = 1)]
    pub risk_score: Option<f64>,
    pub login: LoginSignals,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum SuspiciousLogin {
    SuspiciousLogin,
}

/// A large withdrawal. Unknown fields are ignored.
#[derive(ToSchema)]
pub struct LargeWithdrawalAlert {
    /// The risk engine's id of the alert; retries of one alert share it.
    pub alert_id: AlertId,
    #[schema(inline)]
    pub kind: LargeWithdrawal,
    /// The exchange's id of the account.
    pub account_id: AccountId,
    /// When it happened (RFC 3339).
    #[schema(format = DateTime)]
    pub occurred_at: String,
    /// The risk engine's own score, 0 to 1.
    #[schema(minimum = 0, maximum = 1)]
    pub risk_score: Option<f64>,
    pub withdrawal: WithdrawalSignals,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum LargeWithdrawal {
    LargeWithdrawal,
}

/// What the risk engine saw about a sign-in. Every field is optional (null is the same as absent): flags default to false, counts to 0.
#[derive(ToSchema)]
pub struct LoginSignals {
    /// The sign-in's IP address.
    pub ip: Option<String>,
    /// ISO 3166-1 alpha-2 country code of the sign-in.
    pub country: Option<String>,
    pub device_id: Option<String>,
    pub new_device: Option<bool>,
    pub new_country: Option<bool>,
    pub impossible_travel: Option<bool>,
    pub anonymizing_network: Option<bool>,
    /// Failed MFA attempts before this sign-in.
    #[schema(maximum = 4294967295_u64)]
    pub failed_mfa_attempts: Option<u32>,
    pub credential_change_within_24h: Option<bool>,
}

/// What the risk engine saw about a withdrawal. Only `usd_value` is required; null is the same as absent.
#[derive(ToSchema)]
pub struct WithdrawalSignals {
    pub withdrawal_id: Option<String>,
    #[schema(example = "BTC")]
    pub asset: Option<String>,
    pub amount: Option<Decimal>,
    pub usd_value: Decimal,
    /// The destination address.
    pub destination: Option<String>,
    /// The destination was never used by this account before (default false).
    pub new_destination: Option<bool>,
}
