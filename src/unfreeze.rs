//! The account holder's self-service unfreeze flow.

use crate::domain::incident::Incident;
use crate::storage::WriteTx;

/// The identity gate of the `unfreeze-account` playbook: the holder finished
/// the flow's verification for this incident.
pub async fn identity_verified(tx: &mut WriteTx, incident: &Incident) -> Result<bool, sqlx::Error> {
    tx.holder_verified(&incident.id).await
}
