use std::process::Output;
use std::time::Duration;

use crate::helpers::{
    Backend, TestApp, eventually, on_both_backends, p1_withdrawal, p3_login, spawn_app, spawn_app_on,
};

on_both_backends!(
    an_untouched_audit_log_verifies,
    an_entry_rewritten_with_the_chain_recomputed_is_named,
    a_cut_tail_with_a_rewound_head_fails_against_the_head_kept_outside,
    without_the_master_key_the_chain_does_not_verify,
    a_changed_entry_is_named_by_audit_verify,
    a_removed_entry_is_named_by_audit_verify,
    an_inserted_entry_is_named_by_audit_verify,
    every_intake_change_is_on_the_audit_log,
);

fn holdfast(app: &TestApp, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(args)
        .env("HOLDFAST_DATABASE_URL", &app.db.url)
        .env("HOLDFAST_MASTER_KEY", &app.settings["HOLDFAST_MASTER_KEY"])
        .output()
        .expect("run holdfast")
}

fn audit_verify(app: &TestApp) -> Output {
    holdfast(app, &["audit", "verify"])
}

/// `holdfast audit head`, as an operator would keep it outside the database.
fn audit_head(app: &TestApp) -> String {
    let output = holdfast(app, &["audit", "head"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

async fn with_activity(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    app.ingest(&p1_withdrawal("re-1", "acct-1")).await;
    app.ingest(&p3_login("re-2", "acct-2")).await;
    app.settle().await;
    app.db.seal_audit().await;
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
    let actions: Vec<&str> = timeline.iter().map(|e| e.action.as_str()).take(7).collect();
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
    assert!(timeline[0].actor.starts_with("risk-engine:"));
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

/// Every entry from `from_seq` on, as stored.
async fn entries_from(app: &TestApp, from_seq: i64) -> Vec<holdfast::storage::AuditRow> {
    app.db.seal_audit().await;
    app.state.db().audit_page(from_seq - 1, 10_000).await.unwrap()
}

async fn an_entry_rewritten_with_the_chain_recomputed_is_named(backend: Backend) {
    let app = with_activity(backend).await;
    disable_append_only_guard(&app).await;
    // The attacker owns the database but not the master key: they change
    // entry 3 and recompute every link after it under a key of their own.
    let mut rows = entries_from(&app, 3).await;
    rows[0].record.actor = "agent:mallory".into();
    let before: [u8; 32] = entries_from(&app, 2).await[0].hash.clone().try_into().unwrap();
    let records: Vec<_> = rows.iter().map(|row| row.record.clone()).collect();
    let forged = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"a key the attacker made up......");
    let (links, head_seq, head_hash) = holdfast::domain::audit::chain(&forged, 2, before, &records);
    for ((seq, prev, hash), record) in links.iter().zip(&records) {
        app.db
            .execute(&format!(
                "UPDATE audit_log SET actor = '{}', prev_hash = {}, hash = {} WHERE seq = {seq}",
                record.actor,
                bytes_literal(backend, prev),
                bytes_literal(backend, hash)
            ))
            .await
            .unwrap();
    }
    app.db
        .execute(&format!(
            "UPDATE audit_head SET seq = {head_seq}, hash = {} WHERE id = 1",
            bytes_literal(backend, &head_hash)
        ))
        .await
        .unwrap();

    let output = audit_verify(&app);

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("audit entry 3:"), "{stdout}");
}

fn bytes_literal(backend: Backend, bytes: &[u8]) -> String {
    match backend {
        Backend::Sqlite => format!("X'{}'", hex::encode(bytes)),
        _ => format!("'\\x{}'::bytea", hex::encode(bytes)),
    }
}

async fn a_cut_tail_with_a_rewound_head_fails_against_the_head_kept_outside(backend: Backend) {
    let app = with_activity(backend).await;
    let kept_outside = audit_head(&app);
    let last = app.db.count("SELECT MAX(seq) FROM audit_log").await;
    disable_append_only_guard(&app).await;

    // Cut the last two entries and rewind the head onto what is left.
    app.db
        .execute(&format!("DELETE FROM audit_log WHERE seq > {}", last - 2))
        .await
        .unwrap();
    let new_last = entries_from(&app, last - 2).await.remove(0);
    app.db
        .execute(&format!(
            "UPDATE audit_head SET seq = {}, hash = {} WHERE id = 1",
            new_last.seq,
            bytes_literal(backend, &new_last.hash)
        ))
        .await
        .unwrap();

    let alone = audit_verify(&app);
    let anchored = holdfast(&app, &["audit", "verify", "--head", &kept_outside]);

    assert!(
        alone.status.success(),
        "a consistent cut is invisible from inside the database: {}",
        String::from_utf8_lossy(&alone.stdout)
    );
    let stdout = String::from_utf8_lossy(&anchored.stdout);
    assert_eq!(anchored.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains(&format!("audit entry {}:", last - 1)), "{stdout}");
    assert!(stdout.contains("cut"), "{stdout}");
}

async fn without_the_master_key_the_chain_does_not_verify(backend: Backend) {
    let app = with_activity(backend).await;

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["audit", "verify"])
        .env("HOLDFAST_DATABASE_URL", &app.db.url)
        .env("HOLDFAST_MASTER_KEY", crate::helpers::random_base64(32))
        .output()
        .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("audit entry 1:") && stdout.contains("not configured"),
        "{stdout}"
    );
}

/// On PostgreSQL, entries wait to be chained; each instance's sealer chains
/// them without the tests' help, and two sealers never chain one twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_chain_every_waiting_entry_exactly_once() {
    let a = spawn_app(Backend::Postgres).await;
    let b = spawn_app_on(&a, |_| {}).await;
    let alerts = (0..40).map(|i| {
        let instance = if i % 2 == 0 { &a } else { &b };
        async move {
            instance
                .ingest(&p3_login(&format!("re-{i}"), &format!("acct-{i}")))
                .await
        }
    });
    futures_util::future::join_all(alerts).await;

    eventually("every entry chained", Duration::from_secs(10), || async {
        (a.state.db().audit_entries_waiting().await.unwrap() == 0).then_some(())
    })
    .await;

    let received =
        a.db.count("SELECT COUNT(*) FROM audit_log WHERE action = 'alert.received'")
            .await;
    assert_eq!(received, 40, "each alert's entry is chained once");
    let output = audit_verify(&a);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
}

/// An attacker who can write the database inserts an entry among those
/// waiting, with a MAC copied from a real one: it is not chained as written.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_entry_forged_while_waiting_is_refused_when_chained() {
    let app = with_activity(Backend::Postgres).await;
    app.db
        .execute(
            "INSERT INTO audit_pending (at, actor, action, detail, key_id, mac)
             SELECT now(), 'agent:mallory', 'hold.lifted', '{}', key_id, hash FROM audit_log WHERE seq = 1",
        )
        .await
        .unwrap();
    app.db.seal_audit().await;

    let forged = app
        .db
        .count("SELECT COUNT(*) FROM audit_log WHERE actor = 'agent:mallory'")
        .await;
    assert_eq!(forged, 0, "the forged entry is not in the chain as written");
    let refused = app
        .db
        .count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'audit.entry_refused' AND actor = 'system'
             AND detail LIKE '%agent:mallory%'",
        )
        .await;
    assert_eq!(refused, 1, "a refusal takes its place");
    let output = audit_verify(&app);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
}
