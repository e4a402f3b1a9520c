//! What a run's step records as having done, stored as JSON beside the step
//! and read back typed.

use serde::{Deserialize, Serialize};

use crate::domain::ids::HoldId;

/// What a step did: the holds it placed or lifted, the messages to the
/// exchange that confirm it, who approved it, or why it was skipped or
/// failed. Each kind of step fills its own fields; the rest are left out of
/// the JSON, so it reads as it always has (`{"holds": […], "messages": […]}`),
/// and rows written before this type read back unchanged.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepOutcome {
    /// The holds a `hold.place` step placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holds: Option<Vec<HoldId>>,
    /// The holds a `hold.lift` step lifted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifted: Option<Vec<HoldId>>,
    /// The idempotency keys of the outbox messages that must be delivered
    /// before the step's effect counts as done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<String>>,
    /// Those of `messages` the exchange confirmed, once all are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed: Option<Vec<String>>,
    /// What verified the holder's identity (`unfreeze_flow`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_by: Option<String>,
    /// The usernames of the agents whose approvals opened an approval gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<Vec<String>>,
    /// Whether the incident's priority needed those approvals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needed: Option<bool>,
    /// Why the step was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why the step failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl StepOutcome {
    /// The messages the step waits on; none for a step that sent none.
    pub fn messages(&self) -> &[String] {
        self.messages.as_deref().unwrap_or_default()
    }

    /// The outcome as a JSON object, for the step's audit entry.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_else(|_| serde_json::json!({}))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::StepOutcome;

    #[test]
    fn an_outcome_reads_back_the_json_it_was_stored_as() {
        let stored = json!({"holds": ["h-1"], "messages": ["k-1"], "confirmed": []});
        let outcome: StepOutcome = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(outcome.messages(), ["k-1".to_owned()]);
        assert_eq!(outcome.to_json(), stored);
    }

    #[test]
    fn an_empty_outcome_is_an_empty_object() {
        assert_eq!(StepOutcome::default().to_json(), json!({}));
    }
}
