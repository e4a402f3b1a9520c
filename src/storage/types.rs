//! How domain values are encoded in each database.
//!
//! A [`Timestamp`] is a `TIMESTAMPTZ` in PostgreSQL, where operators read
//! dates, and an `INTEGER` of microseconds since the Unix epoch in SQLite,
//! which has no date type and would otherwise compare dates as text.

use chrono::{DateTime, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};

use crate::domain::ids::{
    AccountId, AgentId, AlertId, CampaignId, FlowId, HoldId, IncidentId, MessageId, RunId, SessionId,
};
use crate::domain::time::Timestamp;

impl Type<Postgres> for Timestamp {
    fn type_info() -> PgTypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }
}

impl PgHasArrayType for Timestamp {
    fn array_type_info() -> PgTypeInfo {
        <DateTime<Utc> as PgHasArrayType>::array_type_info()
    }
}

impl Encode<'_, Postgres> for Timestamp {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <DateTime<Utc> as Encode<Postgres>>::encode_by_ref(&self.as_datetime(), buf)
    }
}

impl<'r> Decode<'r, Postgres> for Timestamp {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Timestamp::from_datetime(<DateTime<Utc> as Decode<Postgres>>::decode(
            value,
        )?))
    }
}

impl Type<Sqlite> for Timestamp {
    fn type_info() -> SqliteTypeInfo {
        <i64 as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <i64 as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for Timestamp {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<Sqlite>>::encode_by_ref(&self.micros(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Timestamp {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let micros = <i64 as Decode<Sqlite>>::decode(value)?;
        Timestamp::from_micros(micros).ok_or_else(|| format!("timestamp out of range: {micros}").into())
    }
}

/// Encodes a typed id as the text it wraps, on both backends: what
/// `#[sqlx(transparent)]` would derive, written here so the domain keeps no SQL.
macro_rules! text_id {
    ($($id:ty),* $(,)?) => {$(
        impl Type<Postgres> for $id {
            fn type_info() -> PgTypeInfo {
                <String as Type<Postgres>>::type_info()
            }

            fn compatible(ty: &PgTypeInfo) -> bool {
                <String as Type<Postgres>>::compatible(ty)
            }
        }

        impl PgHasArrayType for $id {
            fn array_type_info() -> PgTypeInfo {
                <String as PgHasArrayType>::array_type_info()
            }
        }

        impl Encode<'_, Postgres> for $id {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&str as Encode<Postgres>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r> Decode<'r, Postgres> for $id {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok(Self::from_string(<String as Decode<Postgres>>::decode(value)?))
            }
        }

        impl Type<Sqlite> for $id {
            fn type_info() -> SqliteTypeInfo {
                <String as Type<Sqlite>>::type_info()
            }

            fn compatible(ty: &SqliteTypeInfo) -> bool {
                <String as Type<Sqlite>>::compatible(ty)
            }
        }

        impl Encode<'_, Sqlite> for $id {
            fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
                <String as Encode<Sqlite>>::encode_by_ref(&self.as_str().to_owned(), buf)
            }
        }

        impl<'r> Decode<'r, Sqlite> for $id {
            fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok(Self::from_string(<String as Decode<Sqlite>>::decode(value)?))
            }
        }
    )*};
}

text_id!(
    IncidentId, RunId, FlowId, AgentId, SessionId, HoldId, MessageId, CampaignId, AccountId, AlertId
);
