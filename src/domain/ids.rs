//! Holdfast's identifiers, one type each, so an incident id can never be
//! passed where a run id or an account id is expected.
//!
//! Two kinds share one macro, [`id!`]:
//!
//! - *generated* ids (`IncidentId`, `RunId`, …) are Holdfast's own: a UUIDv7
//!   in its text form, so ids sort by creation time and index well;
//! - *validated* ids (`AccountId`, `AlertId`) come from outside (the risk
//!   engine, the exchange) and are parsed once, at the edge, with
//!   [`check_identifier`]'s rule.
//!
//! All are stored as text; the database encoding lives in `storage::types`,
//! so the domain keeps no SQL.

/// The longest identifier from outside (alert id, account id) Holdfast accepts.
pub const MAX_IDENTIFIER_LEN: usize = 128;

/// Declares an id type wrapping its text.
///
/// `id!(generated /// doc Name)` makes an id Holdfast creates (`new()`, a
/// UUIDv7); `id!(validated /// doc Name)` makes an id received from outside,
/// built only by `parse` (1 to 128 visible characters, no whitespace, no `/`).
/// Both arms share the rest: `as_str`, `Display`, serde as a plain string, and
/// `from_string` for a value read back from storage, which only ever holds
/// ids that were made or parsed here.
macro_rules! id {
    (generated $(#[$doc:meta])* $name:ident) => {
        $crate::domain::ids::id!(@common $(#[$doc])* $name);

        impl $name {
            /// A new, unique id.
            pub fn new() -> Self {
                Self($crate::domain::ids::new_id())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }
    };
    (validated $(#[$doc:meta])* $name:ident) => {
        $crate::domain::ids::id!(@common $(#[$doc])* $name);

        impl $name {
            /// Accepts 1 to 128 visible characters with no whitespace and no `/`.
            pub fn parse(text: &str) -> Result<Self, &'static str> {
                $crate::domain::ids::check_identifier(text).map(|()| Self(text.to_owned()))
            }
        }

        /// Every validated id is described as one schema, `Identifier`:
        /// [`check_identifier`]'s rule.
        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                $crate::domain::ids::identifier_schema()
            }
        }

        impl ::utoipa::ToSchema for $name {
            fn name() -> ::std::borrow::Cow<'static, str> {
                "Identifier".into()
            }
        }
    };
    (@common $(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// An id as stored (a database column) or as a path segment names it.
            pub fn from_string(id: String) -> Self {
                Self(id)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use id;

/// The schema of a validated id, in the API's description.
pub fn identifier_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .description(Some(
            "1 to 128 characters, with no whitespace, control characters or `/`.",
        ))
        .min_length(Some(1))
        .max_length(Some(MAX_IDENTIFIER_LEN))
        .pattern(Some(r"^[^\s/\x00-\x1f\x7f-\x9f]+$"))
        .into()
}

id!(
    generated
    /// An incident: one account's suspicious activity, worked as one ticket.
    IncidentId
);
id!(
    generated
    /// A playbook run.
    RunId
);
id!(
    generated
    /// A holder's unfreeze flow.
    FlowId
);
id!(
    generated
    /// An agent of the security team.
    AgentId
);
id!(
    generated
    /// An agent's session.
    SessionId
);
id!(
    generated
    /// A campaign: incidents of several accounts sharing an attacker signal.
    CampaignId
);
id!(
    generated
    /// A hold on an account.
    HoldId
);
id!(
    generated
    /// A message in the outbox.
    MessageId
);

id!(
    validated
    /// The risk engine's own id of an alert; retries of one alert share it.
    AlertId
);
id!(
    validated
    /// The exchange's id of a customer account.
    AccountId
);

/// Checks an identifier received from outside: 1 to 128 visible characters,
/// no whitespace, no control characters and no `/` (it becomes a path segment).
pub fn check_identifier(text: &str) -> Result<(), &'static str> {
    if text.is_empty() {
        return Err("must not be empty");
    }
    if text.chars().count() > MAX_IDENTIFIER_LEN {
        return Err("must be at most 128 characters");
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control() || c == '/') {
        return Err("must not contain whitespace, control characters or `/`");
    }
    Ok(())
}

/// A new UUIDv7 in text form, for rows that need no typed id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_unique() {
        assert_ne!(IncidentId::new(), IncidentId::new());
    }

    #[test]
    fn an_id_serialises_as_its_plain_text() {
        let id = RunId::from_string("r-1".into());
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"r-1\"");
    }
}
