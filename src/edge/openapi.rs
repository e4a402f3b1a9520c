//! `GET /openapi.json`: the API described in OpenAPI 3.0.
//!
//! The document (`src/edge/openapi.json`) is written by hand, because most
//! handlers build their answers as `json!` values rather than types; it is
//! kept true by tests. `tests/api/openapi.rs` compares its operations with
//! the route table ([`crate::app::routes`]), so a `/v1` route added without
//! documentation, or a documented route that does not exist, fails; and
//! `tests/api/contract.rs` runs schemathesis against the real service, which
//! checks every answer against the document.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::edge::http::Routes;

/// The document, as served.
pub const DOCUMENT: &str = include_str!("openapi.json");

pub fn routes() -> Routes {
    Routes::new().get("/openapi.json", document)
}

async fn document() -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        DOCUMENT,
    )
        .into_response()
}
