//! `GET /openapi.json`: the API described in OpenAPI 3.0.
//!
//! The document has two sources. What only a person can write stays by hand:
//! every operation's summary, description, parameters, examples and
//! security (`openapi/paths.json`), and the info, tags, security schemes and
//! shared responses and parameters (`openapi/shared.json`). The schemas of
//! the bodies are derived from the Rust types handlers answer with and read
//! (`utoipa::ToSchema`), so a field added to an answer is documented by the
//! same change; `app::openapi` gathers them, since only `app` knows every
//! feature, and [`assemble`] puts the two together once, at start.
//!
//! It is kept true by tests: `tests/api/openapi.rs` compares its operations
//! with the route table ([`crate::app::routes`]) and resolves every `$ref`
//! (a path naming a schema no type derives fails there), and
//! `tests/api/contract.rs` runs schemathesis against the real service, which
//! checks every answer against the document.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::edge::http::Routes;

/// The hand-written operations: the `paths` object.
const PATHS: &str = include_str!("openapi/paths.json");
/// The hand-written rest: `openapi`, `info`, `tags`, and the security
/// schemes, responses and parameters of `components`.
const SHARED: &str = include_str!("openapi/shared.json");

/// Serves `document`, the text [`assemble`] made.
pub fn routes(document: &'static str) -> Routes {
    Routes::new().get("/openapi.json", move || async move { serve(document) })
}

fn serve(document: &'static str) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        document,
    )
        .into_response()
}

/// The served document: the hand-written parts with the schemas of the
/// bodies (utoipa's output, by name) as `components.schemas`, rewritten to
/// OpenAPI 3.0.
///
/// Schemas of what Holdfast sends (`answers`) are closed
/// (`additionalProperties: false`): a Rust type serializes exactly its
/// fields, so a client may rely on seeing no others. Schemas of what it reads
/// (`requests`) stay open, since unknown fields are ignored. A schema in both
/// (a holder's `Answer`) is sent too, so it is closed.
pub fn assemble(requests: Value, answers: Value) -> String {
    let mut document: Value = serde_json::from_str(SHARED).expect("openapi/shared.json is JSON");
    let paths: Value = serde_json::from_str(PATHS).expect("openapi/paths.json is JSON");
    let mut answers = answers;
    close(&mut answers);
    let mut schemas = requests;
    if let (Value::Object(schemas), Value::Object(answers)) = (&mut schemas, answers) {
        schemas.extend(answers);
    }
    to_openapi_3_0(&mut schemas);
    document["paths"] = paths;
    document["components"]["schemas"] = schemas;
    serde_json::to_string_pretty(&document).expect("a JSON value serializes")
}

/// Marks every object schema with properties in `value` as allowing no others.
fn close(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.contains_key("properties") {
                map.entry("additionalProperties").or_insert(Value::Bool(false));
            }
            map.values_mut().for_each(close);
        }
        Value::Array(items) => items.iter_mut().for_each(close),
        _ => {}
    }
}

/// Rewrites utoipa's schemas, which are OpenAPI 3.1 (JSON Schema 2020-12),
/// into the OpenAPI 3.0 the document declares and the contract tools read.
///
/// - `"type": ["T", "null"]` becomes `"type": "T", "nullable": true`;
/// - `"oneOf": [X, {"type": "null"}]` (an optional field of a named type)
///   becomes `"allOf": [X], "nullable": true`, or X itself made nullable
///   when X is inline;
/// - a `$ref` with siblings (a field's description) becomes `"allOf":
///   [{"$ref": …}]` beside them, since 3.0 ignores a `$ref`'s siblings;
/// - integer and number formats go: Rust's unsigned widths have no 3.0
///   format (utoipa calls a `u32` `int32`), and `minimum` already says
///   what a client needs;
/// - `examples: [x]` becomes `example: x`.
fn to_openapi_3_0(value: &mut Value) {
    match value {
        Value::Object(map) => {
            nullable_type(map);
            nullable_one_of(map);
            ref_with_siblings(map);
            if matches!(map.get("type").and_then(Value::as_str), Some("integer" | "number")) {
                map.remove("format");
            }
            if let Some(Value::Array(mut examples)) = map.remove("examples")
                && !examples.is_empty()
            {
                map.insert("example".into(), examples.swap_remove(0));
            }
            map.values_mut().for_each(to_openapi_3_0);
        }
        Value::Array(items) => items.iter_mut().for_each(to_openapi_3_0),
        _ => {}
    }
}

fn is_null_type(value: &Value) -> bool {
    value.get("type").and_then(Value::as_str) == Some("null")
}

fn nullable_type(map: &mut Map<String, Value>) {
    let Some(Value::Array(types)) = map.get("type") else {
        return;
    };
    let named: Vec<Value> = types.iter().filter(|t| t.as_str() != Some("null")).cloned().collect();
    let nullable = named.len() < types.len();
    if let [only] = named.as_slice() {
        map.insert("type".into(), only.clone());
        if nullable {
            map.insert("nullable".into(), Value::Bool(true));
        }
    }
}

fn nullable_one_of(map: &mut Map<String, Value>) {
    let Some(Value::Array(items)) = map.get("oneOf") else {
        return;
    };
    if items.len() != 2 || !items.iter().any(is_null_type) {
        return;
    }
    let Some(Value::Object(mut item)) = items.iter().find(|item| !is_null_type(item)).cloned() else {
        return;
    };
    map.remove("oneOf");
    if let Some(reference) = item.remove("$ref") {
        // A description travels beside the reference; the parent keeps it.
        for (key, value) in item {
            map.entry(key).or_insert(value);
        }
        map.insert(
            "allOf".into(),
            Value::Array(vec![Value::Object(Map::from_iter([("$ref".into(), reference)]))]),
        );
    } else {
        for (key, value) in item {
            map.entry(key).or_insert(value);
        }
        if let Some(Value::Array(values)) = map.get_mut("enum") {
            values.push(Value::Null);
        }
    }
    map.insert("nullable".into(), Value::Bool(true));
}

fn ref_with_siblings(map: &mut Map<String, Value>) {
    if map.len() > 1
        && let Some(reference) = map.remove("$ref")
    {
        map.insert(
            "allOf".into(),
            Value::Array(vec![Value::Object(Map::from_iter([("$ref".into(), reference)]))]),
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_optional_field_of_a_named_type_becomes_a_nullable_all_of() {
        let mut schema = json!({"oneOf": [
            {"type": "null"},
            {"$ref": "#/components/schemas/Gate", "description": "What it waits for."}
        ]});
        to_openapi_3_0(&mut schema);
        assert_eq!(
            schema,
            json!({
                "allOf": [{"$ref": "#/components/schemas/Gate"}],
                "description": "What it waits for.",
                "nullable": true
            })
        );
    }

    #[test]
    fn a_type_list_with_null_becomes_one_nullable_type_and_integer_formats_go() {
        let mut schema = json!({"type": ["integer", "null"], "format": "int32", "minimum": 0});
        to_openapi_3_0(&mut schema);
        assert_eq!(schema, json!({"type": "integer", "nullable": true, "minimum": 0}));
    }

    #[test]
    fn a_described_reference_is_wrapped_so_its_description_counts() {
        let mut schema = json!({"$ref": "#/components/schemas/Identifier", "description": "The account."});
        to_openapi_3_0(&mut schema);
        assert_eq!(
            schema,
            json!({"allOf": [{"$ref": "#/components/schemas/Identifier"}], "description": "The account."})
        );
    }

    #[test]
    fn answers_are_closed_and_requests_stay_open() {
        let object = json!({"type": "object", "properties": {"id": {"type": "string"}}});
        let document: Value = serde_json::from_str(&assemble(
            json!({"Request": object.clone()}),
            json!({"Answer": {"type": "object", "properties": {"inner": object}}}),
        ))
        .unwrap();
        let schemas = &document["components"]["schemas"];
        assert_eq!(schemas["Request"].get("additionalProperties"), None);
        assert_eq!(schemas["Answer"]["additionalProperties"], false);
        assert_eq!(schemas["Answer"]["properties"]["inner"]["additionalProperties"], false);
    }

    #[test]
    fn the_hand_written_parts_are_json_with_everything_but_schemas() {
        let document: Value = serde_json::from_str(&assemble(json!({}), json!({}))).unwrap();
        assert_eq!(document["openapi"], "3.0.3");
        assert!(document["paths"].as_object().is_some_and(|paths| paths.len() > 40));
        for section in ["securitySchemes", "responses", "parameters"] {
            assert!(document["components"][section].is_object(), "{section}");
        }
    }
}
