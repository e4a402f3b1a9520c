//! The API description at `/openapi.json` stays true: it documents exactly
//! the operations the route table serves, every reference in it resolves,
//! its problem types are the service's problem kinds, and every operation
//! asks for the credentials the document says. (Answers are checked against
//! it by schemathesis, in `contract.rs`.)

use std::collections::BTreeSet;

use holdfast::edge::error::ProblemKind;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Backend, TestApp, spawn_app};

/// The routes the document covers: the `/v1` API and the service's own
/// JSON endpoints. Pages (`/unfreeze`, `/problems/…`) and `/metrics` are not
/// part of it.
fn is_api(path: &str) -> bool {
    path.starts_with("/v1/") || matches!(path, "/healthz" | "/readyz" | "/openapi.json")
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

async fn document(app: &TestApp) -> Value {
    let response = app.client.get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.unwrap()
}

/// `(METHOD, path)` of every operation in the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                operations.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

#[tokio::test]
async fn every_api_route_is_documented_and_every_documented_operation_is_served() {
    let app = spawn_app(Backend::Sqlite).await;
    let doc = document(&app).await;

    let served: BTreeSet<(String, String)> = holdfast::app::routes(&app.state)
        .operations()
        .iter()
        .filter(|operation| is_api(operation.path))
        .map(|operation| (operation.method.to_string(), operation.path.to_owned()))
        .collect();
    let documented = documented(&doc);

    let undocumented: Vec<_> = served.difference(&documented).collect();
    let missing: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in src/edge/openapi/paths.json: {undocumented:?}"
    );
    assert!(
        missing.is_empty(),
        "in src/edge/openapi/paths.json but not served: {missing:?}"
    );
    assert!(served.len() > 25, "the route table lists the API: {served:?}");
}

/// Every `$ref` in `value`.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                found.push(target.clone());
            }
            map.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

#[tokio::test]
async fn every_reference_in_the_document_resolves_and_every_component_is_used() {
    let app = spawn_app(Backend::Sqlite).await;
    let doc = document(&app).await;

    let mut found = Vec::new();
    references(&doc, &mut found);
    for target in &found {
        let pointer = target.strip_prefix('#').expect("references are local");
        assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
    }
    for section in ["schemas", "responses", "parameters"] {
        for name in doc["components"][section].as_object().unwrap().keys() {
            let target = format!("#/components/{section}/{name}");
            assert!(found.contains(&target), "{target} is never used");
        }
    }
    assert_eq!(doc["openapi"], "3.0.3");
}

#[tokio::test]
async fn the_documented_problem_types_are_exactly_the_services_problem_kinds() {
    let app = spawn_app(Backend::Sqlite).await;
    let doc = document(&app).await;

    let documented: BTreeSet<String> = doc["components"]["schemas"]["Problem"]["properties"]["type"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    let kinds: BTreeSet<String> = ProblemKind::ALL.iter().map(|kind| kind.uri()).collect();

    assert_eq!(documented, kinds);
}

/// The credentials an operation needs, by the document: `signed`, `bearer` or none.
fn security_of(doc: &Value, operation: &Value) -> &'static str {
    let requirements = operation.get("security").or(doc.get("security"));
    let names: Vec<&str> = requirements
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|requirement| requirement.keys().map(String::as_str))
        .collect();
    if names.contains(&"agentBearer") {
        "bearer"
    } else if names.contains(&"riskEngineSignature") {
        assert!(names.contains(&"riskEngineKeyId") && names.contains(&"riskEngineTimestamp"));
        "signed"
    } else {
        assert!(names.is_empty(), "unknown security {names:?}");
        "none"
    }
}

#[tokio::test]
async fn every_operation_asks_for_the_credentials_the_document_says() {
    let app = spawn_app(Backend::Sqlite).await;
    let doc = document(&app).await;

    let mut checked = 0;
    for (method, path) in documented(&doc) {
        let operation = &doc["paths"][&path][method.to_lowercase()];
        let url = app.url(
            &path
                .replace("{id}", "no-such-id")
                .replace("{token}", "no-such-token")
                .replace("{username}", "nobody")
                .replace("{account_id}", "acct-1"),
        );
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let response = app
            .client
            .request(method.clone(), url)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();

        let status = response.status();
        let documented_statuses: Vec<&String> = operation["responses"].as_object().unwrap().keys().collect();
        assert!(
            documented_statuses.contains(&&status.as_u16().to_string()),
            "{method} {path} answered {status}, which it does not document"
        );
        match security_of(&doc, operation) {
            "none" => assert_ne!(status, StatusCode::UNAUTHORIZED, "{method} {path} needs no credentials"),
            kind => {
                let problem: Value = response.json().await.unwrap();
                let expected = if kind == "signed" {
                    "/problems/invalid-signature"
                } else {
                    "/problems/unauthorized"
                };
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} is {kind}");
                assert_eq!(problem["type"], expected, "{method} {path}");
            }
        }
        checked += 1;
    }
    assert!(checked > 25);
}
