//! The served API description: [`crate::edge::openapi`]'s hand-written
//! operations with the schemas of every body the features read and answer
//! with, derived from their types. It lives here because only `app` knows
//! every feature; each type is named once, and utoipa brings along the
//! schemas it refers to.

use std::sync::LazyLock;

use serde_json::Value;
use utoipa::OpenApi;

/// The bodies Holdfast reads (unknown fields are ignored).
#[derive(OpenApi)]
#[openapi(components(schemas(
    crate::alerts::api::request::AlertRequest,
    crate::auth::api::LoginRequest,
    crate::auth::api::StepUpRequest,
    crate::agents::api::AddAgentRequest,
    crate::incidents::api::NoteRequest,
    crate::incidents::api::ResolveRequest,
    crate::incidents::api::LegalHoldRequest,
    crate::runs::api::StartRequest,
    crate::unfreeze::api::UnfreezeLinkRequest,
    crate::unfreeze::api::CodeRequest,
    crate::unfreeze::api::ActivityRequest,
    crate::unfreeze::api::RejectRequest,
    crate::campaigns::api::ContainRequest,
    crate::holder::api::MessageRequest,
    crate::holder::api::RatingRequest,
    crate::holder::api::LockRequest,
)))]
struct Requests;

/// The bodies Holdfast sends: answers, problems, and the disposition it
/// posts to the risk engine.
#[derive(OpenApi)]
#[openapi(components(schemas(
    super::Health,
    super::Ready,
    crate::edge::error::Problem,
    crate::alerts::api::AlertAccepted,
    crate::domain::hold::AccountHolds,
    crate::auth::api::Session,
    crate::auth::api::Elevation,
    crate::agents::api::AgentList,
    crate::agents::Credentials,
    crate::agents::api::DisabledAgent,
    crate::incidents::api::bodies::IncidentPage,
    crate::incidents::api::bodies::Incident,
    crate::playbooks::api::PlaybookList,
    crate::runs::api::RunView,
    crate::unfreeze::api::UnfreezeAccepted,
    crate::unfreeze::status::FlowStatus,
    crate::unfreeze::api::ReviewQueue,
    crate::unfreeze::api::Rejection,
    crate::overview::Overview,
    crate::campaigns::api::CampaignList,
    crate::campaigns::api::Campaign,
    crate::campaigns::api::CampaignContainment,
    crate::holder::case::Case,
    crate::holder::api::ReportAccepted,
    crate::holder::lock_request::Locked,
    crate::holder::api::CaseThread,
    crate::feedback::DispositionBody,
    crate::rule_quality::RuleQuality,
)))]
struct Answers;

/// The schemas of `document`, by name.
fn schemas(document: utoipa::openapi::OpenApi) -> Value {
    let schemas = document
        .components
        .map(|components| components.schemas)
        .unwrap_or_default();
    serde_json::to_value(schemas).expect("schemas serialize")
}

static DOCUMENT: LazyLock<String> =
    LazyLock::new(|| crate::edge::openapi::assemble(schemas(Requests::openapi()), schemas(Answers::openapi())));

/// The document `GET /openapi.json` serves, put together on first use (the
/// router asks for it at start).
pub fn document() -> &'static str {
    &DOCUMENT
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// Every `$ref` in `value`.
    fn references<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target);
                }
                map.values().for_each(|v| references(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| references(v, found)),
            _ => {}
        }
    }

    #[test]
    fn every_schema_the_document_refers_to_is_derived() {
        let document: Value = serde_json::from_str(super::document()).unwrap();
        if let Ok(path) = std::env::var("HOLDFAST_DUMP_OPENAPI") {
            std::fs::write(path, super::document()).unwrap();
        }
        let mut found = Vec::new();
        references(&document, &mut found);
        let dangling: Vec<_> = found
            .iter()
            .filter(|target| document.pointer(target.trim_start_matches('#')).is_none())
            .collect();
        assert!(dangling.is_empty(), "references to no schema: {dangling:?}");
        assert!(found.len() > 100, "{found:?}");
    }
}
