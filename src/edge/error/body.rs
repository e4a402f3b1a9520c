//! The body of every problem answer (RFC 9457), and its schema: the `type`
//! values a client may see are exactly [`ProblemKind::ALL`]'s.

use serde::Serialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use super::ProblemKind;
use crate::domain::validation::FieldError;

/// An RFC 9457 problem, sent as `application/problem+json` with every 4xx and 5xx answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    #[schema(schema_with = problem_type)]
    pub kind: String,
    /// A short summary of the kind of problem, the same for every occurrence.
    pub title: &'static str,
    /// The HTTP status code.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// What went wrong this time. A 5xx detail never carries internal details.
    pub detail: String,
    /// On `validation-failed` (and `wrong-code`, `code-expired`): every bad field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// On `wrong-code`: the tries left before the unfreeze request is locked.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub tries_left: Option<u32>,
}

/// The members only some kinds of problem carry, as [`Problem`] sends them.
#[derive(Clone, Debug, Default)]
pub struct ProblemExtra {
    pub errors: Vec<FieldError>,
    pub tries_left: Option<u32>,
}

fn problem_type() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "A relative URI naming the kind of problem. `GET` it for a short page saying what happened and what \
             to do, in English or Korean (`?lang=ko`).",
        ))
        .enum_values(Some(ProblemKind::ALL.iter().map(|kind| kind.uri())))
        .into()
}
