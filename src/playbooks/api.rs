//! `GET /v1/playbooks`: every playbook with its digest and verdict.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::CurrentAgent;
use crate::domain::agent::Permission;
use crate::domain::alert::AlertKind;
use crate::domain::playbook::PlaybookKind;
use crate::edge::error::ApiError;
use crate::edge::http::Routes;
use crate::state::AppState;
use crate::state::handles::playbooks::LoadedPlaybook;

pub fn routes() -> Routes {
    Routes::new().get("/v1/playbooks", list)
}

async fn list(State(state): State<AppState>, agent: CurrentAgent) -> Result<Json<PlaybookList>, ApiError> {
    agent.require(Permission::ReadIncidents)?;
    let playbooks = state.playbooks().entries().iter().map(Playbook::of).collect();
    Ok(Json(PlaybookList { playbooks }))
}

#[derive(Serialize, ToSchema)]
pub struct PlaybookList {
    playbooks: Vec<Playbook>,
}

/// A playbook file and its verdict. Fields that need a readable, verified file are null otherwise.
#[derive(Serialize, ToSchema)]
pub struct Playbook {
    #[schema(required)]
    id: Option<String>,
    #[schema(required)]
    version: Option<u32>,
    #[schema(required)]
    title: Option<String>,
    #[schema(required)]
    kind: Option<PlaybookKind>,
    #[schema(required)]
    applies_to: Option<Vec<AlertKind>>,
    file: String,
    /// SHA-256 of the file's exact bytes, lowercase hex.
    digest: String,
    /// Only verified playbooks run.
    verified: bool,
    /// The trusted key that signed it.
    #[schema(required)]
    signed_by: Option<String>,
    /// Why it failed verification (empty when verified).
    reasons: Vec<String>,
    #[schema(required)]
    steps: Option<Vec<PlaybookStep>>,
}

#[derive(Serialize, ToSchema)]
pub struct PlaybookStep {
    name: String,
    /// Such as `hold.place`, `identity.verify`, `exchange.revoke_sessions`.
    action: String,
    automatic: bool,
    mfa: bool,
    /// The earlier steps this one waits for, when the playbook names them;
    /// absent, it waits for every step before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<Vec<String>>,
}

impl Playbook {
    fn of(entry: &LoadedPlaybook) -> Self {
        let playbook = entry.playbook.as_deref();
        Playbook {
            id: entry.id.clone(),
            version: entry.version,
            title: entry.title.clone(),
            kind: playbook.map(|p| p.kind),
            applies_to: playbook.map(|p| p.applies_to.clone()),
            file: entry.file.clone(),
            digest: entry.digest.clone(),
            verified: entry.verified(),
            signed_by: entry.signed_by.clone(),
            reasons: entry.reasons.clone(),
            steps: playbook.map(|p| {
                p.steps
                    .iter()
                    .map(|s| PlaybookStep {
                        name: s.name.clone(),
                        action: s.action.name(),
                        automatic: s.automatic,
                        mfa: s.mfa,
                        after: s.after.clone(),
                    })
                    .collect()
            }),
        }
    }
}
