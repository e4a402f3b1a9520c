use std::process::Output;

use holdfast::domain::agent::Role;
use holdfast::domain::audit::AuditAction;
use holdfast::domain::audit::{AuditRecord, Chain, legacy_entry_mac, legacy_waiting_mac, stable_hash};
use holdfast::domain::ids::AccountId;
use holdfast::domain::time::Timestamp;
use holdfast::platform::crypto::{AuditKeys, MasterKey};

use crate::helpers::{
    Backend, TestApp, TestDatabase, on_both_backends, p1_withdrawal, p3_login, random_base64, spawn_app, spawn_app_on,
    spawn_app_on_database,
};

on_both_backends!(
    an_untouched_audit_log_verifies_and_says_how_many_entries_of_each_chain_it_checked,
    audit_head_prints_the_head_of_every_chain_on_one_line,
    an_entry_rewritten_with_the_chain_recomputed_is_named,
    a_cut_tail_with_a_rewound_head_on_any_chain_fails_against_the_heads_kept_outside,
    without_the_master_key_the_chain_does_not_verify,
    a_changed_entry_is_named_by_audit_verify,
    a_removed_entry_is_named_by_audit_verify,
    an_inserted_entry_is_named_by_audit_verify,
    entries_a_trigger_drops_as_they_are_written_fail_verification,
    a_copied_entry_and_a_removed_one_are_named_by_audit_verify,
    the_edited_actors_of_two_entries_are_named_by_audit_verify,
    a_chain_removed_whole_is_named_by_audit_verify,
    the_last_chain_removed_whole_breaks_every_other_chain,
    every_intake_change_is_on_the_audit_log,
);

/// How many chains the migrations make.
const CHAINS: usize = 16;

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

/// How `holdfast audit verify` counts entries.
fn entries(count: i64) -> String {
    match count {
        1 => "1 entry".into(),
        count => format!("{count} entries"),
    }
}

/// Asserts `holdfast audit verify` exited 1; returns what it printed.
fn broken(output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("audit log BROKEN: "), "{stdout}");
    stdout
}

async fn with_activity(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    app.ingest(&p1_withdrawal("re-1", "acct-1")).await;
    app.ingest(&p3_login("re-2", "acct-2")).await;
    app.settle().await;
    app
}

/// The chain `account`'s entries went to.
async fn chain_of(app: &TestApp, account: &str) -> i64 {
    app.db
        .count(&format!(
            "SELECT CAST(MIN(chain) AS BIGINT) FROM audit_log WHERE account_id = '{account}'"
        ))
        .await
}

/// The last entry of `chain`.
async fn last_of(app: &TestApp, chain: i64) -> i64 {
    app.db
        .count(&format!("SELECT MAX(seq) FROM audit_log WHERE chain = {chain}"))
        .await
}

/// The (chain, seq) of the first entry recording `action` about `account`.
async fn entry(app: &TestApp, action: &str, account: &str) -> (i64, i64) {
    let first = |column: &str| {
        format!(
            "SELECT CAST({column} AS BIGINT) FROM audit_log WHERE action = '{action}' AND account_id = '{account}'
             ORDER BY chain, seq LIMIT 1"
        )
    };
    (app.db.count(&first("chain")).await, app.db.count(&first("seq")).await)
}

/// Every entry of `chain` from `from_seq` on, as stored.
async fn entries_from(app: &TestApp, chain: i64, from_seq: i64) -> Vec<holdfast::storage::AuditRow> {
    app.state
        .db()
        .audit_page(chain as u16, from_seq - 1, 10_000)
        .await
        .unwrap()
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

fn bytes_literal(backend: Backend, bytes: &[u8]) -> String {
    match backend {
        Backend::Sqlite => format!("X'{}'", hex::encode(bytes)),
        _ => format!("'\\x{}'::bytea", hex::encode(bytes)),
    }
}

/// Moves the head of `chain` to `seq` and `hash`, as an attacker covering their tracks would.
async fn set_head(app: &TestApp, chain: i64, seq: i64, hash: &[u8]) {
    app.db
        .execute(&format!(
            "UPDATE audit_chains SET seq = {seq}, hash = {} WHERE chain = {chain}",
            bytes_literal(app.backend, hash)
        ))
        .await
        .unwrap();
}

async fn an_untouched_audit_log_verifies_and_says_how_many_entries_of_each_chain_it_checked(backend: Backend) {
    let app = with_activity(backend).await;
    app.agent("alice", Role::Analyst).await;

    let output = audit_verify(&app);

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("intact"), "{stdout}");
    let mut used = 0;
    for chain in 0..CHAINS {
        let stored = app
            .db
            .count(&format!("SELECT COUNT(*) FROM audit_log WHERE chain = {chain}"))
            .await;
        used += usize::from(stored > 0);
        assert!(
            stdout.contains(&format!("chain {chain}: {} verified\n", entries(stored))),
            "chain {chain} holds {stored}: {stdout}"
        );
    }
    assert!(
        used > 1,
        "the accounts' and the agent's entries spread over chains: {stdout}"
    );
    let total = app.db.count("SELECT COUNT(*) FROM audit_log").await;
    assert!(
        stdout.contains(&format!(
            "audit log intact: {} in {CHAINS} chains verified",
            entries(total)
        )),
        "{stdout}"
    );
}

async fn audit_head_prints_the_head_of_every_chain_on_one_line(backend: Backend) {
    let app = with_activity(backend).await;

    let output = holdfast(&app, &["audit", "head"]);

    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let items: Vec<&str> = stdout.trim().split(',').collect();
    assert_eq!(items.len(), CHAINS, "{stdout}");
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM audit_chains").await,
        CHAINS as i64,
        "the number of chains is the database's"
    );
    for (chain, item) in items.iter().enumerate() {
        let parts: Vec<&str> = item.split(':').collect();
        assert_eq!(parts.len(), 3, "{item}");
        assert_eq!(parts[0], chain.to_string(), "{stdout}");
        let stored = app
            .db
            .count(&format!("SELECT COUNT(*) FROM audit_log WHERE chain = {chain}"))
            .await;
        assert_eq!(parts[1], stored.to_string(), "chain {chain}: {stdout}");
        assert_eq!(parts[2].len(), 64, "{item}");
        assert!(
            parts[2].chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
            "{item}"
        );
        let last = entries_from(&app, chain as i64, stored).await;
        let expected = last
            .first()
            .map_or(hex::encode([0; 32]), |entry| hex::encode(&entry.hash));
        assert_eq!(parts[2], expected, "chain {chain}'s head is its last entry's MAC");
    }
}

async fn a_changed_entry_is_named_by_audit_verify(backend: Backend) {
    let app = with_activity(backend).await;
    let chain = chain_of(&app, "acct-1").await;
    disable_append_only_guard(&app).await;

    app.db
        .execute(&format!(
            "UPDATE audit_log SET actor = 'agent:mallory' WHERE chain = {chain} AND seq = 3"
        ))
        .await
        .unwrap();
    let stdout = broken(audit_verify(&app));

    assert!(stdout.contains(&format!("audit chain {chain}, entry 3: ")), "{stdout}");
}

async fn a_removed_entry_is_named_by_audit_verify(backend: Backend) {
    let app = with_activity(backend).await;
    let chain = chain_of(&app, "acct-1").await;
    disable_append_only_guard(&app).await;

    app.db
        .execute(&format!("DELETE FROM audit_log WHERE chain = {chain} AND seq = 2"))
        .await
        .unwrap();
    let stdout = broken(audit_verify(&app));

    assert!(stdout.contains(&format!("audit chain {chain}, entry 3: ")), "{stdout}");
    assert!(stdout.contains("removed"), "{stdout}");
}

async fn an_inserted_entry_is_named_by_audit_verify(backend: Backend) {
    let app = with_activity(backend).await;
    let chain = chain_of(&app, "acct-2").await;
    let last = last_of(&app, chain).await;

    let forged_at = match backend {
        Backend::Postgres | Backend::PostgresWithRedis => "now()".to_owned(),
        Backend::Sqlite => "0".to_owned(),
    };
    app.db
        .execute(&format!(
            "INSERT INTO audit_log (chain, seq, at, actor, action, detail, prev_hash, hash)
             SELECT chain, {next}, {forged_at}, 'agent:mallory', 'hold.lifted', '{{}}', hash, hash
             FROM audit_log WHERE chain = {chain} AND seq = {last}",
            next = last + 1
        ))
        .await
        .unwrap();
    let stdout = broken(audit_verify(&app));

    assert!(
        stdout.contains(&format!("audit chain {chain}, entry {}: ", last + 1)),
        "{stdout}"
    );
}

async fn an_entry_rewritten_with_the_chain_recomputed_is_named(backend: Backend) {
    let app = with_activity(backend).await;
    let chain = chain_of(&app, "acct-1").await;
    disable_append_only_guard(&app).await;
    // The attacker owns the database but not the master key: they change
    // entry 3 and recompute every link after it under a key of their own.
    let mut rows = entries_from(&app, chain, 3).await;
    rows[0].record.actor = "agent:mallory".into();
    let before: [u8; 32] = entries_from(&app, chain, 2).await[0].hash.clone().try_into().unwrap();
    let records: Vec<_> = rows.iter().map(|row| row.record.clone()).collect();
    let forged = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"a key the attacker made up......");
    let (links, head_seq, head_hash) = holdfast::domain::audit::chain(
        &forged,
        Chain {
            number: chain as u16,
            of: CHAINS as u16,
        },
        2,
        before,
        &records,
    );
    for ((seq, prev, hash), record) in links.iter().zip(&records) {
        app.db
            .execute(&format!(
                "UPDATE audit_log SET actor = '{}', prev_hash = {}, hash = {} WHERE chain = {chain} AND seq = {seq}",
                record.actor,
                bytes_literal(backend, prev),
                bytes_literal(backend, hash)
            ))
            .await
            .unwrap();
    }
    set_head(&app, chain, head_seq, &head_hash).await;

    let stdout = broken(audit_verify(&app));

    assert!(stdout.contains(&format!("audit chain {chain}, entry 3: ")), "{stdout}");
}

async fn a_cut_tail_with_a_rewound_head_on_any_chain_fails_against_the_heads_kept_outside(backend: Backend) {
    let app = with_activity(backend).await;
    let kept_outside = audit_head(&app);
    disable_append_only_guard(&app).await;
    let chains = [chain_of(&app, "acct-1").await, chain_of(&app, "acct-2").await];
    assert_ne!(chains[0], chains[1], "two accounts of different chains");

    for chain in chains {
        // Cut the last entry of this chain alone and rewind its head onto what is left.
        let last = last_of(&app, chain).await;
        app.db
            .execute(&format!("DELETE FROM audit_log WHERE chain = {chain} AND seq = {last}"))
            .await
            .unwrap();
        let new_last = entries_from(&app, chain, last - 1).await.remove(0);
        set_head(&app, chain, new_last.seq, &new_last.hash).await;

        let alone = audit_verify(&app);
        let anchored = holdfast(&app, &["audit", "verify", "--head", &kept_outside]);

        assert!(
            alone.status.success(),
            "a consistent cut is invisible from inside the database: {}",
            String::from_utf8_lossy(&alone.stdout)
        );
        let stdout = broken(anchored);
        assert!(
            stdout.contains(&format!(
                "chain {chain}: {} verified; audit chain {chain}, entry {last}: missing",
                entries(last - 1)
            )),
            "{stdout}"
        );
        assert!(stdout.contains("(the end was cut)"), "{stdout}");
    }
}

async fn without_the_master_key_the_chain_does_not_verify(backend: Backend) {
    let app = with_activity(backend).await;
    let first_chain = app.db.count("SELECT CAST(MIN(chain) AS BIGINT) FROM audit_log").await;

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["audit", "verify"])
        .env("HOLDFAST_DATABASE_URL", &app.db.url)
        .env("HOLDFAST_MASTER_KEY", random_base64(32))
        .output()
        .unwrap();

    let stdout = broken(output);
    assert!(
        stdout.contains(&format!("audit log BROKEN: audit chain {first_chain}, entry 1: "))
            && stdout.contains("not configured"),
        "{stdout}"
    );
}

/// A database writer drops entries as they are written (a trigger on every
/// table audit entries are written to, whichever that is): the holds are
/// placed and the agent signs in, with no entry saying so. Each chain's head
/// moved in the transaction that wrote them, so the gaps are caught, with or
/// without the heads kept outside.
async fn entries_a_trigger_drops_as_they_are_written_fail_verification(backend: Backend) {
    let app = spawn_app(backend).await;
    app.ingest(&p3_login("re-0", "acct-0")).await;
    let kept_outside = audit_head(&app);
    match backend {
        Backend::Sqlite => app
            .db
            .execute(
                "CREATE TRIGGER drop_some_entries BEFORE INSERT ON audit_log
                 WHEN NEW.action IN ('hold.placed', 'agent.login')
                 BEGIN SELECT RAISE(IGNORE); END",
            )
            .await
            .unwrap(),
        _ => {
            app.db
                .execute(
                    "CREATE FUNCTION drop_some_entries() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN
                         IF NEW.action IN ('hold.placed', 'agent.login') THEN RETURN NULL; END IF;
                         RETURN NEW;
                     END $$",
                )
                .await
                .unwrap();
            app.db
                .execute(
                    "DO $$
                     DECLARE entries text;
                     BEGIN
                         FOR entries IN
                             SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'action'
                             INTERSECT
                             SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'actor'
                         LOOP
                             -- A partition gets its table's trigger.
                             IF NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = entries AND relispartition) THEN
                                 EXECUTE format('CREATE TRIGGER drop_some_entries BEFORE INSERT ON %I
                                                 FOR EACH ROW EXECUTE FUNCTION drop_some_entries()', entries);
                             END IF;
                         END LOOP;
                     END $$",
                )
                .await
                .unwrap();
            let triggers = app
                .db
                .count("SELECT COUNT(*) FROM pg_trigger WHERE tgname = 'drop_some_entries'")
                .await;
            assert!(triggers > 0, "the attacker's trigger is in place");
            triggers as u64
        }
    };

    app.ingest(&p1_withdrawal("re-1", "acct-1")).await;
    app.agent("alice", Role::Analyst).await;
    app.settle().await;

    let holds = app
        .db
        .count("SELECT COUNT(*) FROM holds WHERE account_id = 'acct-1'")
        .await;
    assert!(holds > 0, "the holds were placed");
    let recorded = app
        .db
        .count("SELECT COUNT(*) FROM audit_log WHERE action IN ('hold.placed', 'agent.login')")
        .await;
    assert_eq!(recorded, 0, "the trigger dropped their entries");
    let holds_chain = chain_of(&app, "acct-1").await;
    // An entry about no account goes to its actor's chain.
    let login_chain = (stable_hash("agent:alice") % CHAINS as u64) as i64;
    let alone = broken(audit_verify(&app));
    let anchored = broken(holdfast(&app, &["audit", "verify", "--head", &kept_outside]));
    for stdout in [alone, anchored] {
        assert!(stdout.contains("removed"), "{stdout}");
        for chain in [holds_chain, login_chain] {
            assert!(stdout.contains(&format!("; audit chain {chain}, entry ")), "{stdout}");
        }
    }
}

/// One entry copied to the end of another chain (its head moved on to the
/// copy) and another removed: both are named, each with its chain.
async fn a_copied_entry_and_a_removed_one_are_named_by_audit_verify(backend: Backend) {
    let app = with_activity(backend).await;
    disable_append_only_guard(&app).await;
    let (from_chain, from_seq) = entry(&app, "hold.placed", "acct-1").await;
    let to_chain = chain_of(&app, "acct-2").await;
    assert_ne!(from_chain, to_chain);
    let to_last = entries_from(&app, to_chain, last_of(&app, to_chain).await)
        .await
        .remove(0);
    let copied = entries_from(&app, from_chain, from_seq).await.remove(0);

    app.db
        .execute(&format!(
            "INSERT INTO audit_log (chain, seq, at, actor, action, incident_id, account_id, detail, prev_hash, hash, key_id)
             SELECT {to_chain}, {seq}, at, actor, action, incident_id, account_id, detail, {prev}, hash, key_id
             FROM audit_log WHERE chain = {from_chain} AND seq = {from_seq}",
            seq = to_last.seq + 1,
            prev = bytes_literal(backend, &to_last.hash),
        ))
        .await
        .unwrap();
    set_head(&app, to_chain, to_last.seq + 1, &copied.hash).await;
    let (removed_chain, removed_seq) = entry(&app, "incident.opened", "acct-1").await;
    app.db
        .execute(&format!(
            "DELETE FROM audit_log WHERE chain = {removed_chain} AND seq = {removed_seq}"
        ))
        .await
        .unwrap();
    let stdout = broken(audit_verify(&app));

    assert!(
        stdout.contains(&format!("audit chain {to_chain}, entry {}: ", to_last.seq + 1)),
        "the copy is named: {stdout}"
    );
    assert!(
        stdout.contains(&format!("audit chain {removed_chain}, entry {}: ", removed_seq + 1))
            && stdout.contains("removed"),
        "the entry after the removed one is named: {stdout}"
    );
}

async fn the_edited_actors_of_two_entries_are_named_by_audit_verify(backend: Backend) {
    let app = with_activity(backend).await;
    disable_append_only_guard(&app).await;
    let edited = [
        entry(&app, "alert.received", "acct-2").await,
        entry(&app, "hold.placed", "acct-1").await,
    ];
    assert_ne!(edited[0].0, edited[1].0, "two entries of different chains");

    for (chain, seq) in edited {
        app.db
            .execute(&format!(
                "UPDATE audit_log SET actor = 'agent:mallory' WHERE chain = {chain} AND seq = {seq}"
            ))
            .await
            .unwrap();
    }
    let stdout = broken(audit_verify(&app));

    for (chain, seq) in edited {
        assert!(
            stdout.contains(&format!(
                "audit chain {chain}, entry {seq}: its contents do not match its MAC"
            )),
            "{stdout}"
        );
    }
}

/// A chain's entries and its head row removed: from inside the database
/// the chain is simply missing; the heads kept outside name it too.
async fn a_chain_removed_whole_is_named_by_audit_verify(backend: Backend) {
    let app = with_activity(backend).await;
    let kept_outside = audit_head(&app);
    disable_append_only_guard(&app).await;
    let chain = chain_of(&app, "acct-1").await;

    app.db
        .execute(&format!("DELETE FROM audit_log WHERE chain = {chain}"))
        .await
        .unwrap();
    app.db
        .execute(&format!("DELETE FROM audit_chains WHERE chain = {chain}"))
        .await
        .unwrap();
    let alone = broken(audit_verify(&app));
    let anchored = broken(holdfast(&app, &["audit", "verify", "--head", &kept_outside]));

    for stdout in [alone, anchored] {
        assert!(
            stdout.contains(&format!(
                "audit log BROKEN: audit chain {chain}: its head is missing (removed)"
            )),
            "{stdout}"
        );
    }
}

/// With the last chain gone, head and all, the log looks like one of fewer
/// chains, but every entry's MAC names how many chains it was written among.
async fn the_last_chain_removed_whole_breaks_every_other_chain(backend: Backend) {
    let app = with_activity(backend).await;
    disable_append_only_guard(&app).await;
    let last = CHAINS - 1;

    app.db
        .execute(&format!("DELETE FROM audit_log WHERE chain = {last}"))
        .await
        .unwrap();
    app.db
        .execute(&format!("DELETE FROM audit_chains WHERE chain = {last}"))
        .await
        .unwrap();
    let stdout = broken(audit_verify(&app));

    for account in ["acct-1", "acct-2"] {
        let chain = chain_of(&app, account).await;
        assert!(
            stdout.contains(&format!(
                "chain {chain}: 0 entries verified; audit chain {chain}, entry 1: its contents do not match its MAC"
            )),
            "{stdout}"
        );
    }
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

    let update = app.db.execute("UPDATE audit_log SET actor = 'x'").await;
    let delete = app.db.execute("DELETE FROM audit_log").await;
    let truncate = app.db.execute("TRUNCATE audit_log").await;

    for result in [update, delete, truncate] {
        let error = result.expect_err("the audit log is append-only").to_string();
        assert!(error.contains("append-only"), "{error}");
    }
}

mod two_instances_writing_at_once_chain_every_entry_exactly_once {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        super::two_instances_writing_at_once_chain_every_entry_exactly_once(crate::helpers::Backend::Postgres).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_with_redis() {
        super::two_instances_writing_at_once_chain_every_entry_exactly_once(crate::helpers::Backend::PostgresWithRedis)
            .await
    }
}

/// Several instances share one PostgreSQL database (SQLite runs one): their
/// transactions take the heads they need in chain order, and every entry is
/// chained once, with no gap and no repeat in any chain.
async fn two_instances_writing_at_once_chain_every_entry_exactly_once(backend: Backend) {
    let a = spawn_app(backend).await;
    let b = spawn_app_on(&a, |_| {}).await;
    let alerts = (0..60).map(|i| {
        let instance = if i % 2 == 0 { &a } else { &b };
        async move {
            let alert = match i % 3 {
                0 => p1_withdrawal(&format!("re-{i}"), &format!("acct-{i}")),
                _ => p3_login(&format!("re-{i}"), &format!("acct-{i}")),
            };
            instance.ingest(&alert).await
        }
    });
    futures_util::future::join_all(alerts).await;
    a.settle().await;

    let received =
        a.db.count("SELECT COUNT(*) FROM audit_log WHERE action = 'alert.received'")
            .await;
    assert_eq!(received, 60, "each alert's entry is chained once");
    let used =
        a.db.count("SELECT COUNT(DISTINCT chain) FROM audit_log WHERE action = 'alert.received'")
            .await;
    assert!(
        used > CHAINS as i64 / 2,
        "sixty accounts spread over the chains ({used} used)"
    );
    let off =
        a.db.count(
            "SELECT COUNT(*) FROM audit_chains AS head
             WHERE head.seq <> (SELECT COUNT(*) FROM audit_log WHERE chain = head.chain)
                OR head.seq <> (SELECT COALESCE(MAX(seq), 0) FROM audit_log WHERE chain = head.chain)",
        )
        .await;
    assert_eq!(off, 0, "every chain runs 1..head without a gap or a repeat");
    let output = audit_verify(&a);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
}

/// A point in time every test record of the upgrade test carries.
fn at() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").unwrap()
}

/// An older version's single chain and the entries it left waiting are
/// taken over at the upgrade: the chain's entries keep verifying under their
/// format, the waiting ones are chained once (a forged one refused, and
/// `audit verify` says so), and the waiting table is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_older_versions_log_is_taken_over_and_its_waiting_entries_chained_once_at_the_first_start() {
    let db = TestDatabase::create(Backend::Postgres).await;
    let master = random_base64(32);
    let keys = AuditKeys::new(&MasterKey::parse_base64(&master).unwrap(), &[]);
    let (key_id, key) = keys.current();
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    sqlx::migrate!("./migrations/postgres").run_to(14, &pool).await.unwrap();
    // Three entries chained the old way, and their head.
    let mut prev = [0u8; 32];
    for seq in 1..=3 {
        let record = AuditRecord::with_action_text(at(), "system", format!("legacy.event{seq}"));
        let hash = legacy_entry_mac(key, seq, &record, &prev);
        db.execute(&format!(
            "INSERT INTO audit_log (seq, at, actor, action, detail, prev_hash, hash, key_id)
             VALUES ({seq}, '2026-11-23T04:00:00Z', 'system', '{}', '{{}}', {}, {}, '{key_id}')",
            record.action,
            bytes_literal(Backend::Postgres, &prev),
            bytes_literal(Backend::Postgres, &hash)
        ))
        .await
        .unwrap();
        prev = hash;
    }
    db.execute(&format!(
        "UPDATE audit_head SET seq = 3, hash = {}",
        bytes_literal(Backend::Postgres, &prev)
    ))
    .await
    .unwrap();
    // Two entries left waiting as written, one changed while it waited.
    for (account, actor) in [("acct-1", "system"), ("acct-3", "system"), ("acct-2", "agent:mallory")] {
        let mut record = AuditRecord::new(at(), "system", AuditAction::HoldPlaced);
        record.account_id = Some(AccountId::parse(account).unwrap());
        let mac = legacy_waiting_mac(key, &record);
        db.execute(&format!(
            "INSERT INTO audit_pending (at, actor, action, account_id, detail, key_id, mac)
             VALUES ('2026-11-23T04:00:00Z', '{actor}', 'hold.placed', '{account}', '{{}}', '{key_id}', {})",
            bytes_literal(Backend::Postgres, &mac)
        ))
        .await
        .unwrap();
    }
    pool.close().await;

    let app = spawn_app_on_database(db, |settings| {
        settings.set("HOLDFAST_MASTER_KEY", master.clone());
    })
    .await;
    let again = spawn_app_on(&app, |_| {}).await;
    drop(again);

    let left = app
        .db
        .count("SELECT COUNT(*) FROM pg_class WHERE relname = 'audit_pending'")
        .await;
    assert_eq!(left, 0, "the waiting table is gone");
    let chained = app
        .db
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'hold.placed' AND account_id IN ('acct-1', 'acct-3')")
        .await;
    assert_eq!(
        chained, 2,
        "each waiting entry chained once, two starts notwithstanding"
    );
    let refused = app
        .db
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'audit.entry_refused' AND detail LIKE '%agent:mallory%'")
        .await;
    assert_eq!(refused, 1, "the changed entry is refused, and recorded as such");
    let legacy = app
        .db
        .count("SELECT COUNT(*) FROM audit_log WHERE chain = 0 AND action LIKE 'legacy.%'")
        .await;
    assert_eq!(legacy, 3, "the old chain is chain 0's beginning");

    let refused_chain = app
        .db
        .count("SELECT CAST(chain AS BIGINT) FROM audit_log WHERE action = 'audit.entry_refused'")
        .await;
    let stdout = broken(audit_verify(&app));
    assert!(
        stdout.contains(&format!("audit log BROKEN: audit chain {refused_chain}, entry ")),
        "{stdout}"
    );
    assert!(stdout.contains("(`hold.placed`) that could not be chained"), "{stdout}");
    let chain_0 = app.db.count("SELECT COUNT(*) FROM audit_log WHERE chain = 0").await;
    assert!(
        stdout.contains(&format!("chain 0: {} verified\n", entries(chain_0))),
        "the old format still verifies: {stdout}"
    );
    for account in ["acct-1", "acct-3"] {
        let chain = chain_of(&app, account).await;
        assert_ne!(chain, refused_chain);
        let stored = app
            .db
            .count(&format!("SELECT COUNT(*) FROM audit_log WHERE chain = {chain}"))
            .await;
        assert!(
            stdout.contains(&format!("chain {chain}: {} verified\n", entries(stored))),
            "{stdout}"
        );
    }
}
