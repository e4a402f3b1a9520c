use std::process::Output;

use crate::helpers::{Backend, TestApp, on_both_backends, p1_withdrawal, p3_login, spawn_app};

on_both_backends!(
    an_untouched_audit_log_verifies,
    a_changed_entry_is_named_by_audit_verify,
    a_removed_entry_is_named_by_audit_verify,
    an_inserted_entry_is_named_by_audit_verify,
    every_intake_change_is_on_the_audit_log,
);

fn audit_verify(app: &TestApp) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["audit", "verify"])
        .env("HOLDFAST_DATABASE_URL", &app.db.url)
        .output()
        .expect("run holdfast audit verify")
}

async fn with_activity(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    app.ingest(&p1_withdrawal("re-1", "acct-1")).await;
    app.ingest(&p3_login("re-2", "acct-2")).await;
    app.settle().await;
    app
}

/// Lets the test play an attacker with direct database access.
async fn disable_append_only_guard(app: &TestApp) {
    match app.backend {
        Backend::Postgres | Backend::PostgresWithRedis => app
            .db
            .execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
            .await
            .unwrap(),
        Backend::Sqlite => {
            app.db.execute("DROP TRIGGER audit_log_no_update").await.unwrap();
            app.db.execute("DROP TRIGGER audit_log_no_delete").await.unwrap()
        }
    };
}

async fn an_untouched_audit_log_verifies(backend: Backend) {
    let app = with_activity(backend).await;

    let output = audit_verify(&app);

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("intact"), "{stdout}");
}

async fn a_changed_entry_is_named_by_audit_verify(backend: Backend) {
    let app = with_activity(backend).await;
    disable_append_only_guard(&app).await;

    app.db
        .execute("UPDATE audit_log SET actor = 'agent:mallory' WHERE seq = 3")
        .await
        .unwrap();
    let output = audit_verify(&app);

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("audit entry 3:"), "{stdout}");
}

async fn a_removed_entry_is_named_by_audit_verify(backend: Backend) {
    let app = with_activity(backend).await;
    disable_append_only_guard(&app).await;

    app.db.execute("DELETE FROM audit_log WHERE seq = 2").await.unwrap();
    let output = audit_verify(&app);

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("audit entry 3:"), "{stdout}");
    assert!(stdout.contains("removed"), "{stdout}");
}

async fn an_inserted_entry_is_named_by_audit_verify(backend: Backend) {
    let app = with_activity(backend).await;
    let last = app.db.count("SELECT MAX(seq) FROM audit_log").await;

    let forged_at = match backend {
        Backend::Postgres | Backend::PostgresWithRedis => "now()".to_owned(),
        Backend::Sqlite => "0".to_owned(),
    };
    app.db
        .execute(&format!(
            "INSERT INTO audit_log (seq, at, actor, action, detail, prev_hash, hash)
             SELECT {next}, {forged_at}, 'agent:mallory', 'hold.lifted', '{{}}', hash, hash FROM audit_log WHERE seq = {last}",
            next = last + 1
        ))
        .await
        .unwrap();
    let output = audit_verify(&app);

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains(&format!("audit entry {}:", last + 1)), "{stdout}");
}

async fn every_intake_change_is_on_the_audit_log(backend: Backend) {
    let app = spawn_app(backend).await;
    let answer = app.ingest(&p1_withdrawal("re-1", "acct-1")).await;

    let timeline = app
        .state
        .db()
        .timeline(&answer["incident_id"].as_str().unwrap().into())
        .await
        .unwrap();

    // The intake transaction's entries come first; the run's later steps follow.
    let actions: Vec<&str> = timeline.iter().map(|e| e.record.action.as_str()).take(7).collect();
    assert_eq!(
        actions,
        [
            "alert.received",
            "incident.opened",
            "run.started",
            "hold.placed",
            "hold.placed",
            "incident.contained",
            "run.step_started"
        ]
    );
    assert!(timeline[0].record.actor.starts_with("risk-engine:"));
}

#[tokio::test]
async fn postgres_refuses_updates_and_deletes_of_the_audit_log() {
    let app = with_activity(Backend::Postgres).await;

    let update = app.db.execute("UPDATE audit_log SET actor = 'x' WHERE seq = 1").await;
    let delete = app.db.execute("DELETE FROM audit_log WHERE seq = 1").await;
    let truncate = app.db.execute("TRUNCATE audit_log").await;

    for result in [update, delete, truncate] {
        let error = result.expect_err("the audit log is append-only").to_string();
        assert!(error.contains("append-only"), "{error}");
    }
}
