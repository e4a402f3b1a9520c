//! What the holder said about an incident (`incidents.holder_said`), read and
//! written apart from the rest of the incident: `save_incident` never writes
//! it, so a copy of an incident loaded earlier can never undo it.

use super::{WriteTx, execute, on_backend, parsed};
use crate::domain::disposition::HolderSaid;
use crate::domain::ids::IncidentId;

impl WriteTx {
    /// What the holder has said about the incident so far.
    pub async fn holder_said(&mut self, incident_id: &IncidentId) -> Result<Option<HolderSaid>, sqlx::Error> {
        let stored: Option<Option<String>> = on_backend!(self.conn(), c => sqlx::query_scalar(
            "SELECT holder_said FROM incidents WHERE id = $1",
        )
        .bind(incident_id)
        .fetch_optional(c)
        .await)?;
        stored
            .flatten()
            .map(|text| parsed("holder_said", text, HolderSaid::parse))
            .transpose()
    }

    /// Stores what the holder said; the rule deciding it is the caller's
    /// (`feedback::record_holder_said`).
    pub async fn set_holder_said(&mut self, incident_id: &IncidentId, said: HolderSaid) -> Result<(), sqlx::Error> {
        execute!(
            self.conn(),
            "UPDATE incidents SET holder_said = $2 WHERE id = $1",
            incident_id,
            said.as_str()
        )?;
        Ok(())
    }
}
