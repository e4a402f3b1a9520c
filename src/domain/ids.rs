//! Holdfast's own identifiers, one type each, so an incident id can never be
//! passed where a run id is expected.
//!
//! Each is a UUIDv7 in its text form: ids sort by creation time and index
//! well. They are stored as text; the database encoding lives in
//! `storage::types`, so the domain keeps no SQL.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new, unique id.
            pub fn new() -> Self {
                Self(new_id())
            }

            /// An id as stored or received (a path segment, a database column).
            pub fn from_string(id: String) -> Self {
                Self(id)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
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
}

id!(
    /// An incident: one account's suspicious activity, worked as one ticket.
    IncidentId
);
id!(
    /// A playbook run.
    RunId
);
id!(
    /// A holder's unfreeze flow.
    FlowId
);
id!(
    /// An agent of the security team.
    AgentId
);
id!(
    /// An agent's session.
    SessionId
);
id!(
    /// A campaign: incidents of several accounts sharing an attacker signal.
    CampaignId
);
id!(
    /// A hold on an account.
    HoldId
);
id!(
    /// A message in the outbox.
    MessageId
);

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
