use std::path::{Path, PathBuf};
use std::process::Command;

use holdfast::domain::agent::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestAgent, TestApp, assert_problem, on_both_backends, p1_withdrawal, p3_login, spawn_app, spawn_app_with,
    unique_name,
};

on_both_backends!(
    the_shipped_playbooks_are_listed_verified_with_their_digests,
    with_signing_keys_only_correctly_signed_playbooks_run,
    a_p1_with_no_containment_playbook_for_its_kind_still_gets_login_and_withdrawal_holds,
    a_containment_playbook_that_freezes_less_is_topped_up_to_login_and_withdrawal
);

fn holdfast() -> Command {
    Command::new(env!("CARGO_BIN_EXE_holdfast"))
}

/// A scratch directory holding copies of the shipped playbooks.
struct PlaybookDir(PathBuf);

impl PlaybookDir {
    fn copy_of_shipped() -> Self {
        let dir = std::env::temp_dir().join(format!("holdfast-playbooks-{}", unique_name()));
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
        Self(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for PlaybookDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn the_shipped_playbooks_are_listed_verified_with_their_digests(backend: Backend) {
    let app = spawn_app(backend).await;
    let analyst = app.agent("ana", Role::Analyst).await;

    let listed: Value = app
        .get_as(&analyst, "/v1/playbooks")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let mut ids = Vec::new();
    for playbook in listed["playbooks"].as_array().unwrap() {
        assert_eq!(playbook["verified"], true, "{playbook}");
        assert!(playbook["version"].as_u64().unwrap() >= 1, "{playbook}");
        assert_eq!(playbook["digest"].as_str().unwrap().len(), 64);
        assert!(playbook["reasons"].as_array().unwrap().is_empty());
        ids.push(playbook["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        ids,
        [
            "contain-large-withdrawal",
            "contain-suspicious-login",
            "recover-account",
            "unfreeze-account"
        ]
    );
    // The sign-in containment's two requests name the freeze they wait for.
    let steps = &listed["playbooks"][1]["steps"];
    assert!(steps[0].get("after").is_none(), "{steps}");
    assert_eq!(steps[1]["after"], json!(["freeze-login-and-withdrawals"]));
    assert_eq!(steps[2]["after"], json!(["freeze-login-and-withdrawals"]));
}

async fn with_signing_keys_only_correctly_signed_playbooks_run(backend: Backend) {
    let dir = PlaybookDir::copy_of_shipped();
    let keygen = holdfast()
        .args(["playbooks", "keygen", "--key-id", "team"])
        .output()
        .unwrap();
    let printed = String::from_utf8(keygen.stdout).unwrap();
    let lines: Vec<&str> = printed.lines().map(str::trim).collect();
    let private = lines[1];
    let trusted = lines[3].strip_prefix("HOLDFAST_PLAYBOOK_KEYS=").unwrap().to_owned();
    let sign = holdfast()
        .args(["playbooks", "sign", "--key-id", "team", "--key", private])
        .arg(dir.file("contain-suspicious-login.toml"))
        .arg(dir.file("recover-account.toml"))
        .output()
        .unwrap();
    assert!(sign.status.success(), "{}", String::from_utf8_lossy(&sign.stderr));
    // Tamper with a signed file after signing.
    let recover = std::fs::read_to_string(dir.file("recover-account.toml")).unwrap();
    std::fs::write(
        dir.file("recover-account.toml"),
        recover.replace("mfa = true", "mfa = false"),
    )
    .unwrap();

    let app = spawn_app_with(backend, |settings| {
        settings
            .set("HOLDFAST_PLAYBOOKS", dir.0.display().to_string())
            .set("HOLDFAST_PLAYBOOK_KEYS", trusted.clone());
    })
    .await;
    let lead = app.agent("lee", Role::Lead).await;
    let listed: Value = app
        .get_as(&lead, "/v1/playbooks")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verdict = |id: &str| {
        listed["playbooks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap()
            .clone()
    };

    assert_eq!(verdict("contain-suspicious-login")["verified"], true);
    assert_eq!(verdict("contain-suspicious-login")["signed_by"], "team");
    assert_eq!(verdict("recover-account")["verified"], false);
    assert!(
        verdict("recover-account")["reasons"][0]
            .as_str()
            .unwrap()
            .contains("does not match")
    );
    assert_eq!(verdict("unfreeze-account")["verified"], false);
    assert!(
        verdict("unfreeze-account")["reasons"][0]
            .as_str()
            .unwrap()
            .contains("unsigned")
    );

    let incident = app.ingest_incident(&p3_login("re-1", "acct-1")).await;
    let refused = app.start_run(&lead, &incident, "recover-account").await;
    assert_problem(refused, StatusCode::CONFLICT).await;
    let accepted = app.start_run(&lead, &incident, "contain-suspicious-login").await;
    assert_eq!(accepted.status(), StatusCode::CREATED);
}

#[test]
fn playbooks_verify_accepts_the_shipped_directory() {
    let output = holdfast()
        .args(["playbooks", "verify"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks"))
        .output()
        .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok ")).count(), 4, "{stdout}");
}

#[test]
fn playbooks_verify_names_the_file_and_step_of_every_problem_and_exits_non_zero() {
    let dir = PlaybookDir::copy_of_shipped();
    let unfreeze = std::fs::read_to_string(dir.file("unfreeze-account.toml")).unwrap();
    let broken = unfreeze.replace("action = \"approval.require\"", "action = \"approval.skip\"");
    std::fs::write(dir.file("unfreeze-account.toml"), broken).unwrap();

    let output = holdfast().args(["playbooks", "verify"]).arg(&dir.0).output().unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL  unfreeze-account.toml"), "{stdout}");
    assert!(
        stdout.contains("unfreeze-account.toml: step 2: unknown action `approval.skip`"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok ")).count(), 3, "{stdout}");
}

/// Holdfast with the playbooks in `dir`.
async fn spawn_with_playbooks(backend: Backend, dir: &PlaybookDir) -> TestApp {
    spawn_app_with(backend, |settings| {
        settings.set("HOLDFAST_PLAYBOOKS", dir.0.display().to_string());
    })
    .await
}

/// Holdfast with the playbooks in `dir` after a P1 withdrawal for `acct-1`:
/// asserts that it is contained with `login` and `withdrawal` held, and
/// returns its id and the incident as an analyst reads it.
async fn contain_a_p1_withdrawal(backend: Backend, dir: &PlaybookDir) -> (TestApp, TestAgent, String, Value) {
    let app = spawn_with_playbooks(backend, dir).await;
    let analyst = app.agent("ana", Role::Analyst).await;

    let incident_id = app.ingest_incident(&p1_withdrawal("re-1", "acct-1")).await;

    assert_eq!(held_scopes(&app, "acct-1").await, ["login", "withdrawal"]);
    let incident = app.incident(&analyst, &incident_id).await;
    assert_eq!(incident["status"], "contained");
    (app, analyst, incident_id, incident)
}

/// The scopes of an account's holds in force, sorted.
async fn held_scopes(app: &TestApp, account: &str) -> Vec<String> {
    let holds = app.holds(account).await;
    let mut scopes: Vec<String> = holds["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hold| hold["scope"].as_str().unwrap().to_owned())
        .collect();
    scopes.sort();
    scopes
}

async fn a_p1_with_no_containment_playbook_for_its_kind_still_gets_login_and_withdrawal_holds(backend: Backend) {
    let dir = PlaybookDir::copy_of_shipped();
    std::fs::remove_file(dir.file("contain-large-withdrawal.toml")).unwrap();
    let (app, _, incident_id, incident) = contain_a_p1_withdrawal(backend, &dir).await;

    assert!(incident["runs"].as_array().unwrap().is_empty(), "{incident}");
    let pushed = app.exchange.wait_for_actions("acct-1", "place_hold", 2).await;
    let mut keys: Vec<&str> = pushed.iter().map(|r| r.field("idempotency_key")).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            format!("contain:{incident_id}:re-1:place_hold:login"),
            format!("contain:{incident_id}:re-1:place_hold:withdrawal")
        ]
    );
}

async fn a_containment_playbook_that_freezes_less_is_topped_up_to_login_and_withdrawal(backend: Backend) {
    let dir = PlaybookDir::copy_of_shipped();
    let playbook = std::fs::read_to_string(dir.file("contain-large-withdrawal.toml")).unwrap();
    let freezes_both = r#"scopes = ["withdrawal", "login"]"#;
    assert!(playbook.contains(freezes_both), "the shipped playbook freezes both");
    std::fs::write(
        dir.file("contain-large-withdrawal.toml"),
        playbook.replace(freezes_both, r#"scopes = ["withdrawal"]"#),
    )
    .unwrap();

    let (app, analyst, incident_id, incident) = contain_a_p1_withdrawal(backend, &dir).await;

    let run_id = incident["runs"][0]["run_id"].as_str().unwrap().to_owned();
    let run = app.wait_for_run(&analyst, &run_id, "succeeded").await;
    assert_eq!(run["playbook"]["id"], "contain-large-withdrawal");
    let login = app.exchange.wait_for_actions("acct-1", "place_hold", 2).await;
    let floor: Vec<&str> = login
        .iter()
        .filter(|r| r.field("scope") == "login")
        .map(|r| r.field("idempotency_key"))
        .collect();
    assert_eq!(floor, [format!("contain:{incident_id}:re-1:place_hold:login")]);
}
