//! Contract tests: schemathesis, run against the real service on SQLite and
//! on PostgreSQL, generates requests for every operation of `/openapi.json`
//! (positive and negative data) and checks every answer against it: no 5xx,
//! and status codes, content types, headers and bodies as documented.
//!
//! schemathesis lives in `.venv/` (created by `scripts/test`, versions pinned
//! in `tests/contract/requirements.txt`), with openapi-spec-validator, which
//! checks the document itself is valid OpenAPI 3.0. `tests/contract/hooks.py` signs requests and adds agents' tokens;
//! the test seeds incidents, runs and an unfreeze request so answers about
//! real resources are checked too. `HOLDFAST_CONTRACT_EXAMPLES` (default
//! below) bounds the examples per operation and `HOLDFAST_CONTRACT_SEED`
//! picks another generation seed; `HOLDFAST_CONTRACT_REPORT` keeps every
//! exchange (see [`report_args`]).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use holdfast::domain::agent::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, p1_withdrawal, p3_login, p4_withdrawal, spawn_app};

/// Examples per operation in the fuzzing phase: enough to find what is
/// wrong with an operation, few enough for both backends to take a few
/// minutes on two cores.
const EXAMPLES: &str = "50";
const SEED: &str = "20261123";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_service_answers_as_its_api_description_says_on_sqlite() {
    check_contract(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_service_answers_as_its_api_description_says_on_postgres() {
    check_contract(Backend::Postgres).await;
}

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A pinned tool of `.venv/`; fails the test when it is missing.
fn tool(name: &str) -> PathBuf {
    let path = repository().join(".venv/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/test, which installs the contract tests' pinned tools into .venv/",
        path.display()
    );
    path
}

#[tokio::test]
async fn the_api_description_is_a_valid_openapi_3_0_document() {
    let validator = tool("openapi-spec-validator");
    let app = spawn_app(Backend::Sqlite).await;
    let served = app.client.get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    let file = std::env::temp_dir().join(format!("holdfast-openapi-{}.json", crate::helpers::unique_name()));
    std::fs::write(&file, served.bytes().await.unwrap()).unwrap();

    let output = tokio::process::Command::new(validator)
        .args(["--schema", "3.0", "--errors", "all"])
        .arg(&file)
        .output()
        .await
        .expect("openapi-spec-validator runs");
    let _ = std::fs::remove_file(&file);

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("OK"),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// What the test created, for the hooks to point path parameters at.
struct Seeded {
    lead_token: String,
    admin_token: String,
    /// A session only `POST /v1/auth/logout` uses, so signing out does not
    /// end the sessions the other operations are tested with.
    leaving_token: String,
    known: Value,
}

async fn seed(app: &TestApp) -> Seeded {
    let lead = app.agent("lead", Role::Lead).await;
    let second_lead = app.agent("second-lead", Role::Lead).await;
    let admin = app.agent("admin", Role::Admin).await;
    let leaving = app.agent("leaving", Role::Analyst).await;
    app.create_agent("bystander", Role::Analyst).await;
    for agent in [&lead, &admin] {
        assert_eq!(app.step_up(agent).await.status(), StatusCode::OK);
    }

    // A P1 (contained by Holdfast itself), a P3 frozen by an analyst's run
    // with its holder's unfreeze request open, a P1 whose unfreeze waits for
    // a second lead, an open P4, and a holder's request in the agents' queue.
    let p1 = app.ingest_incident(&p1_withdrawal("re-c1", "acct-c1")).await;
    let p3 = app.ingest_incident(&p3_login("re-c2", "acct-c2")).await;
    app.contain_as_analyst("acct-c2").await;
    app.request_unfreeze("acct-c2").await;
    let token = app.unfreeze_token("acct-c2").await;
    let waiting = app.ingest_incident(&p1_withdrawal("re-c3", "acct-c3")).await;
    let started = app.start_run(&second_lead, &waiting, "unfreeze-account").await;
    assert_eq!(started.status(), StatusCode::CREATED);
    let unfreeze_run: Value = started.json().await.unwrap();
    let p4 = app.ingest_incident(&p4_withdrawal("re-c4", "acct-c4")).await;
    let (in_review, review_token) = unfreeze_request_in_review(app, "acct-c5").await;
    app.settle().await;

    let mut runs = vec![unfreeze_run["run_id"].clone()];
    for incident in [&p1, &p3] {
        let detail = app.incident(&lead, incident).await;
        runs.extend(
            detail["runs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|run| run["run_id"].clone()),
        );
    }
    Seeded {
        lead_token: lead.token,
        admin_token: admin.token,
        leaving_token: leaving.token,
        known: json!({
            "incident": [p1, p3, waiting, p4, in_review],
            "run": runs,
            "token": [token, review_token],
            "username": ["bystander"],
            "account_id": ["acct-c1", "acct-c2", "acct-c3", "acct-c4"],
            "playbook_id": ["contain-suspicious-login", "contain-large-withdrawal", "recover-account", "unfreeze-account"],
        }),
    }
}

/// With `HOLDFAST_CONTRACT_REPORT=<dir>`, every request and answer is kept
/// there (HAR), for finding out what a failure was about.
fn report_args() -> Vec<String> {
    match std::env::var("HOLDFAST_CONTRACT_REPORT") {
        Ok(dir) => vec!["--report".into(), "har".into(), "--report-dir".into(), dir],
        Err(_) => Vec::new(),
    }
}

/// A frozen P3 account whose holder verified and said the activity was not
/// theirs: the request waits for an agent. Returns the incident and the token.
async fn unfreeze_request_in_review(app: &TestApp, account: &str) -> (String, String) {
    let incident = app.ingest_incident(&p3_login(&format!("re-{account}"), account)).await;
    app.contain_as_analyst(account).await;
    app.request_unfreeze(account).await;
    let token = app.unfreeze_token(account).await;
    let code = app.unfreeze_code(account).await;
    assert_eq!(
        app.flow_post(&token, "code", json!({"code": code})).await.status(),
        StatusCode::OK
    );
    let status = app.flow_status(&token).await;
    assert_eq!(status["state"], "awaiting_activity_review", "{status}");
    let answers: Vec<Value> = status["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|activity| json!({"alert_id": activity["alert_id"], "mine": false}))
        .collect();
    let queued = app.flow_post(&token, "activity", json!({"answers": answers})).await;
    assert_eq!(queued.json::<Value>().await.unwrap()["state"], "in_review");
    (incident, token)
}

async fn check_contract(backend: Backend) {
    let schemathesis = tool("schemathesis");
    let app = spawn_app(backend).await;
    let seeded = seed(&app).await;
    let (key_id, secret) = app.settings["HOLDFAST_INGEST_KEYS"]
        .split(',')
        .next()
        .and_then(|entry| entry.split_once('='))
        .expect("the test's ingest key");
    // The test moves the service's clock forward for each TOTP code it uses;
    // the hooks sign with the service's time.
    let clock_offset = app.clock.now().unix_seconds() - chrono::Utc::now().timestamp();
    let workdir = std::env::temp_dir().join(format!("holdfast-contract-{}", crate::helpers::unique_name()));
    std::fs::create_dir_all(&workdir).unwrap();

    let started = Instant::now();
    let output = tokio::process::Command::new(&schemathesis)
        .current_dir(&workdir)
        .env("SCHEMATHESIS_HOOKS", repository().join("tests/contract/hooks.py"))
        .env("HOLDFAST_CONTRACT_KEY_ID", key_id)
        .env("HOLDFAST_CONTRACT_SECRET", secret)
        .env("HOLDFAST_CONTRACT_CLOCK_OFFSET", clock_offset.to_string())
        .env("HOLDFAST_CONTRACT_LEAD_TOKEN", &seeded.lead_token)
        .env("HOLDFAST_CONTRACT_ADMIN_TOKEN", &seeded.admin_token)
        .env("HOLDFAST_CONTRACT_LEAVING_TOKEN", &seeded.leaving_token)
        .env("HOLDFAST_CONTRACT_KNOWN", seeded.known.to_string())
        .args(["run", &app.url("/openapi.json")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,negative_data_rejection,unsupported_method,\
             response_headers_conformance,response_schema_conformance",
        ])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", &std::env::var("HOLDFAST_CONTRACT_EXAMPLES").unwrap_or(EXAMPLES.into())])
        .args(["--seed", &std::env::var("HOLDFAST_CONTRACT_SEED").unwrap_or(SEED.into())])
        .args(["--workers", "1", "--request-timeout", "30"])
        .args(["--generation-database", "none", "--no-color"])
        .args(report_args())
        .kill_on_drop(true)
        .output()
        .await
        .expect("schemathesis runs");
    let elapsed = started.elapsed();
    let _ = std::fs::remove_dir_all(&workdir);

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("schemathesis on {backend:?} took {:.0?}\n{stdout}", elapsed);
    assert!(
        output.status.success(),
        "schemathesis found answers that do not match /openapi.json on {backend:?}:\n{stdout}\n{stderr}"
    );
    assert!(elapsed < Duration::from_secs(600));
}
