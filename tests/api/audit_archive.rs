//! `holdfast audit archive` and `holdfast audit verify` across archives: the
//! log survives its own archiving, and every way of tampering with an
//! archive, its checkpoint or the live log after it is named.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use holdfast::domain::audit::AuditRecord;
use holdfast::domain::ids::AccountId;
use holdfast::domain::time::Timestamp;
use holdfast::platform::clock::Clock;
use holdfast::storage::{History, Month};

use crate::helpers::{Backend, TestApp, eventually, on_both_backends, p1_withdrawal, p3_login, spawn_app, unique_name};

on_both_backends!(
    an_archive_followed_by_verify_passes_and_counts_each_chain,
    a_changed_removed_or_reordered_archived_entry_is_named,
    an_archive_whose_checkpoint_line_was_changed_fails_verification,
    a_checkpoint_changed_or_removed_in_the_database_fails_verification,
    a_live_log_cut_after_the_checkpoint_fails_verification,
    an_archive_refuses_a_cut_within_the_retention_and_an_existing_file,
    a_head_kept_from_before_the_checkpoint_passes_only_with_the_archive,
    appends_while_the_log_is_archived_keep_every_chain_whole,
);

/// How many chains the migrations make.
const CHAINS: i64 = 16;

const YEAR: Duration = Duration::from_secs(365 * 86_400);

/// Accounts whose entries are old enough to archive, three entries each.
const OLD_ACCOUNTS: [&str; 3] = ["acct-old-1", "acct-old-2", "acct-old-3"];

fn holdfast(app: &TestApp, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(args)
        .env("HOLDFAST_DATABASE_URL", &app.db.url)
        .env("HOLDFAST_MASTER_KEY", &app.settings["HOLDFAST_MASTER_KEY"])
        .output()
        .expect("run holdfast")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Asserts `holdfast audit verify` passed; returns what it printed.
fn intact(output: Output) -> String {
    let printed = stdout(&output);
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("audit log intact: "), "{printed}");
    printed
}

/// Asserts `holdfast audit verify` exited 1; returns what it printed.
fn broken(output: Output) -> String {
    let printed = stdout(&output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("audit log BROKEN: "), "{printed}");
    printed
}

fn entries(count: i64) -> String {
    match count {
        1 => "1 entry".into(),
        count => format!("{count} entries"),
    }
}

fn archive_path() -> PathBuf {
    std::env::temp_dir().join(format!("holdfast-audit-{}.jsonl", unique_name()))
}

/// A cut a day past the default retention of five years.
fn cut() -> Timestamp {
    Clock::system().now().minus(5 * YEAR + Duration::from_secs(86_400))
}

/// Chains entries dated six years ago through the normal append path, as
/// Holdfast wrote them then: `per_account` about each of [`OLD_ACCOUNTS`].
async fn write_old_entries(app: &TestApp, per_account: usize) {
    let at = Clock::system().now().minus(6 * YEAR);
    let mut tx = app.state.db().begin().await.unwrap();
    for account in OLD_ACCOUNTS {
        for i in 0..per_account {
            let mut record = AuditRecord::with_action_text(at, "system", format!("test.old_event{i}"));
            record.account_id = Some(AccountId::parse(account).unwrap());
            tx.audit(record);
        }
    }
    tx.commit().await.unwrap().no_follow_up();
}

/// Entries per chain, as stored now.
async fn stored_per_chain(app: &TestApp, filter: &str) -> Vec<i64> {
    let mut counts = Vec::new();
    for chain in 0..CHAINS {
        counts.push(
            app.db
                .count(&format!(
                    "SELECT COUNT(*) FROM audit_log WHERE chain = {chain} AND {filter}"
                ))
                .await,
        );
    }
    counts
}

fn archive(app: &TestApp, cut: Timestamp, out: &Path) -> Output {
    holdfast(
        app,
        &[
            "audit",
            "archive",
            "--before",
            &cut.to_rfc3339(),
            "--out",
            out.to_str().unwrap(),
        ],
    )
}

/// A log with old entries and live ones, archived at [`cut`]: the app, the
/// archive, and how many entries of each chain it holds.
async fn archived(backend: Backend) -> (TestApp, PathBuf, Vec<i64>) {
    let app = spawn_app(backend).await;
    write_old_entries(&app, 3).await;
    app.ingest(&p1_withdrawal("re-1", "acct-1")).await;
    app.ingest(&p3_login("re-2", "acct-2")).await;
    app.settle().await;
    let old = stored_per_chain(&app, "action LIKE 'test.old_event%'").await;
    let out = archive_path();

    let output = archive(&app, cut(), &out);

    assert!(
        output.status.success(),
        "{}{}",
        stdout(&output),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout(&output).contains(&format!("audit checkpoint 1: {} before ", entries(9))),
        "{}",
        stdout(&output)
    );
    (app, out, old)
}

/// The archive's lines.
fn lines_of(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A copy of `lines` as another archive file.
fn tampered(lines: &[String]) -> PathBuf {
    let path = archive_path();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap()
}

/// The indices of the entry lines of the first chain with two or more archived entries.
fn entry_lines_of_a_chain(lines: &[String]) -> (i64, Vec<usize>) {
    let chain_of = |line: &String| json(line)["chain"].as_i64();
    let entry_lines: Vec<usize> = (0..lines.len())
        .filter(|i| json(&lines[*i])["type"] == "entry")
        .collect();
    let chain = chain_of(&lines[entry_lines[0]]).unwrap();
    let of_chain: Vec<usize> = entry_lines
        .into_iter()
        .filter(|i| chain_of(&lines[*i]) == Some(chain))
        .collect();
    assert!(of_chain.len() >= 3, "three entries per account: {of_chain:?}");
    (chain, of_chain)
}

fn verify_archive(app: &TestApp, path: &Path) -> Output {
    holdfast(app, &["audit", "verify", "--archive", path.to_str().unwrap()])
}

async fn an_archive_followed_by_verify_passes_and_counts_each_chain(backend: Backend) {
    let (app, out, old) = archived(backend).await;

    let live = intact(holdfast(&app, &["audit", "verify"]));
    let with_archive = intact(verify_archive(&app, &out));

    let left = app
        .db
        .count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'test.old_event%'")
        .await;
    assert_eq!(left, 0, "the archived entries are dropped");
    let markers = app
        .db
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'audit.checkpoint'")
        .await;
    assert_eq!(markers, CHAINS, "a checkpoint entry in every chain");
    let lines = lines_of(&out);
    assert_eq!(json(&lines[0])["type"], "header");
    assert_eq!(json(lines.last().unwrap())["type"], "checkpoint");
    assert_eq!(lines.len(), 9 + 2, "a header, nine entries and the checkpoint");
    let stored = stored_per_chain(&app, "1 = 1").await;
    for chain in 0..CHAINS as usize {
        for printed in [&live, &with_archive] {
            assert!(
                printed.contains(&format!("\nchain {chain}: {} verified\n", entries(stored[chain]))),
                "chain {chain} holds {}: {printed}",
                stored[chain]
            );
        }
        assert!(
            with_archive.contains(&format!(
                "(checkpoint 1): {} of chain {chain} verified\n",
                entries(old[chain])
            )),
            "chain {chain} archived {}: {with_archive}",
            old[chain]
        );
    }
    assert!(live.contains("starting from audit checkpoint 1"), "{live}");
}

async fn a_changed_removed_or_reordered_archived_entry_is_named(backend: Backend) {
    let (app, out, _) = archived(backend).await;
    let lines = lines_of(&out);
    let (chain, of_chain) = entry_lines_of_a_chain(&lines);
    let seq_at = |i: usize| json(&lines[of_chain[i]])["seq"].as_i64().unwrap();

    let mut changed = lines.clone();
    let mut entry = json(&changed[of_chain[1]]);
    entry["actor"] = "agent:mallory".into();
    changed[of_chain[1]] = entry.to_string();
    let mut removed = lines.clone();
    removed.remove(of_chain[1]);
    let mut reordered = lines.clone();
    reordered.swap(of_chain[0], of_chain[1]);

    for (tampering, lines, named) in [
        (
            "changed",
            changed,
            format!(
                "audit chain {chain}, entry {}: its contents do not match its MAC",
                seq_at(1)
            ),
        ),
        (
            "removed",
            removed,
            format!(
                "audit chain {chain}, entry {}: expected entry {} next",
                seq_at(2),
                seq_at(1)
            ),
        ),
        (
            "reordered",
            reordered,
            format!(
                "audit chain {chain}, entry {}: expected entry {} next",
                seq_at(1),
                seq_at(0)
            ),
        ),
    ] {
        let path = tampered(&lines);
        let printed = broken(verify_archive(&app, &path));
        assert!(
            printed.contains(&format!("audit log BROKEN: archive {}: {named}", path.display())),
            "{tampering}: {printed}"
        );
    }
    intact(verify_archive(&app, &out));
}

async fn an_archive_whose_checkpoint_line_was_changed_fails_verification(backend: Backend) {
    let (app, out, _) = archived(backend).await;
    let mut lines = lines_of(&out);
    let last = lines.len() - 1;
    let mut checkpoint = json(&lines[last]);
    // One fewer entry archived of the first chain, as if the last one was never there.
    let through = checkpoint["chains"][0]["through_seq"].as_i64().unwrap();
    checkpoint["chains"][0]["through_seq"] = (through - 1).into();
    lines[last] = checkpoint.to_string();
    let path = tampered(&lines);

    let printed = broken(verify_archive(&app, &path));

    assert!(
        printed.contains(&format!(
            "audit log BROKEN: archive {}: its checkpoint line (checkpoint 1) does not match its MAC (changed)",
            path.display()
        )),
        "{printed}"
    );
    assert!(
        printed.contains("differs from checkpoint 1 recorded in the database"),
        "{printed}"
    );
}

async fn a_checkpoint_changed_or_removed_in_the_database_fails_verification(backend: Backend) {
    let (app, out, old) = archived(backend).await;
    let chain = old.iter().position(|count| *count > 0).unwrap();

    app.db
        .execute(&format!(
            "UPDATE audit_checkpoint_chains SET through_seq = through_seq - 1, entries = entries - 1 WHERE chain = {chain}"
        ))
        .await
        .unwrap();
    let changed = broken(holdfast(&app, &["audit", "verify"]));
    let against_archive = broken(verify_archive(&app, &out));

    for printed in [&changed, &against_archive] {
        assert!(
            printed.contains("audit log BROKEN: audit checkpoint 1: its record does not match its MAC (changed)"),
            "{printed}"
        );
    }

    app.db.execute("DELETE FROM audit_checkpoint_chains").await.unwrap();
    app.db.execute("DELETE FROM audit_checkpoints").await.unwrap();
    let removed = broken(holdfast(&app, &["audit", "verify"]));

    assert!(
        removed.contains(&format!(
            "audit chain {chain}, entry {}: expected entry 1 next; entries 1..{} are missing (removed)",
            old[chain] + 1,
            old[chain]
        )),
        "without its checkpoint the log was cut: {removed}"
    );
}

async fn a_live_log_cut_after_the_checkpoint_fails_verification(backend: Backend) {
    let (app, _, old) = archived(backend).await;
    // Entries after the checkpoint's in the old accounts' chains.
    let mut tx = app.state.db().begin().await.unwrap();
    for account in OLD_ACCOUNTS {
        let mut record = AuditRecord::with_action_text(Clock::system().now(), "system", "test.new_event");
        record.account_id = Some(AccountId::parse(account).unwrap());
        tx.audit(record);
    }
    tx.commit().await.unwrap().no_follow_up();
    let chain = app
        .db
        .count("SELECT CAST(MIN(chain) AS BIGINT) FROM audit_log WHERE account_id = 'acct-old-1'")
        .await as usize;
    let first_live = old[chain] + 1;
    assert!(intact(holdfast(&app, &["audit", "verify"])).contains(&format!("chain {chain}: 2 entries verified")));
    match backend {
        Backend::Sqlite => app.db.execute("DROP TRIGGER audit_log_no_delete").await.unwrap(),
        _ => app
            .db
            .execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
            .await
            .unwrap(),
    };

    app.db
        .execute(&format!(
            "DELETE FROM audit_log WHERE chain = {chain} AND seq = {first_live}"
        ))
        .await
        .unwrap();
    let printed = broken(holdfast(&app, &["audit", "verify"]));

    assert!(
        printed.contains(&format!(
            "audit log BROKEN: audit chain {chain}, entry {}: expected entry {first_live} next",
            first_live + 1
        )),
        "{printed}"
    );
    assert!(printed.contains("(removed)"), "{printed}");
}

async fn an_archive_refuses_a_cut_within_the_retention_and_an_existing_file(backend: Backend) {
    let app = spawn_app(backend).await;
    write_old_entries(&app, 1).await;
    let before = app.db.count("SELECT COUNT(*) FROM audit_log").await;
    let out = archive_path();

    let recent = archive(&app, Clock::system().now().minus(4 * YEAR), &out);
    let existing = archive_path();
    std::fs::write(&existing, "kept\n").unwrap();
    let overwriting = archive(&app, cut(), &existing);

    assert_eq!(recent.status.code(), Some(1));
    let error = String::from_utf8_lossy(&recent.stderr);
    assert!(
        error.contains("--before: ") && error.contains("HOLDFAST_RETENTION_AUDIT"),
        "{error}"
    );
    assert!(!out.exists(), "no archive written");
    assert_eq!(overwriting.status.code(), Some(1));
    let error = String::from_utf8_lossy(&overwriting.stderr);
    assert!(error.contains("--out: ") && error.contains("exists"), "{error}");
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "kept\n");
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM audit_log").await,
        before,
        "nothing dropped"
    );
    assert_eq!(app.db.count("SELECT COUNT(*) FROM audit_checkpoints").await, 0);

    let shorter = std::process::Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["audit", "archive", "--before"])
        .arg(Clock::system().now().minus(4 * YEAR).to_rfc3339())
        .arg("--out")
        .arg(&out)
        .env("HOLDFAST_DATABASE_URL", &app.db.url)
        .env("HOLDFAST_MASTER_KEY", &app.settings["HOLDFAST_MASTER_KEY"])
        .env("HOLDFAST_RETENTION_AUDIT", "3y")
        .output()
        .unwrap();
    assert!(shorter.status.success(), "{}", String::from_utf8_lossy(&shorter.stderr));
    assert!(out.exists());
}

async fn a_head_kept_from_before_the_checkpoint_passes_only_with_the_archive(backend: Backend) {
    let app = spawn_app(backend).await;
    write_old_entries(&app, 2).await;
    let kept = holdfast(&app, &["audit", "head"]);
    let kept = stdout(&kept).trim().to_owned();
    write_old_entries(&app, 2).await;
    app.ingest(&p3_login("re-1", "acct-1")).await;
    app.settle().await;
    let out = archive_path();
    assert!(archive(&app, cut(), &out).status.success());

    let without = broken(holdfast(&app, &["audit", "verify", "--head", &kept]));
    let with = intact(holdfast(
        &app,
        &["audit", "verify", "--head", &kept, "--archive", out.to_str().unwrap()],
    ));

    assert!(
        without.contains("older than checkpoint 1") && without.contains("--archive"),
        "{without}"
    );
    assert!(with.contains("(checkpoint 1): "), "{with}");
    // A head kept outside that the archive does not reach is still named.
    let (chain, seq) = kept
        .split(',')
        .map(|item| item.split(':').collect::<Vec<_>>())
        .find(|parts| parts[1] != "0")
        .map(|parts| (parts[0].to_owned(), parts[1].to_owned()))
        .unwrap();
    let wrong = kept
        .split(',')
        .map(|item| match item.starts_with(&format!("{chain}:")) {
            true => format!("{chain}:{seq}:{}", "0".repeat(64)),
            false => item.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",");
    let rewritten = broken(holdfast(
        &app,
        &["audit", "verify", "--head", &wrong, "--archive", out.to_str().unwrap()],
    ));
    assert!(
        rewritten.contains(&format!(
            "audit chain {chain}, entry {seq}: does not match the head kept outside"
        )),
        "{rewritten}"
    );
}

async fn appends_while_the_log_is_archived_keep_every_chain_whole(backend: Backend) {
    let app = spawn_app(backend).await;
    write_old_entries(&app, 3).await;
    let out = archive_path();

    let archiving = std::process::Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .args(["audit", "archive", "--before", &cut().to_rfc3339(), "--out"])
        .arg(&out)
        .env("HOLDFAST_DATABASE_URL", &app.db.url)
        .env("HOLDFAST_MASTER_KEY", &app.settings["HOLDFAST_MASTER_KEY"])
        .spawn()
        .unwrap();
    let alerts = (0..30).map(|i| {
        let app = &app;
        async move { app.ingest(&p3_login(&format!("re-{i}"), &format!("acct-{i}"))).await }
    });
    futures_util::future::join_all(alerts).await;
    let archived = tokio::task::spawn_blocking(move || archiving.wait_with_output().unwrap())
        .await
        .unwrap();
    app.settle().await;

    assert!(archived.status.success());
    let received = app
        .db
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'alert.received'")
        .await;
    assert_eq!(received, 30, "every alert's entry is chained, once");
    intact(holdfast(&app, &["audit", "verify"]));
    intact(verify_archive(&app, &out));
}

/// Old entries in two months: one wholly before the cut, one the cut falls
/// in. Once their partitions exist (moved out of the default partition, as
/// the service does), the archive drops the first month whole and deletes
/// the second's archived entries, and both verifications pass.
#[tokio::test]
async fn on_postgres_an_archive_drops_the_months_it_covers_whole() {
    let app = spawn_app(Backend::Postgres).await;
    let now = Clock::system().now();
    let cut = cut();
    let cut_month = Month::of(cut);
    let whole_month = Month::of(now.minus(6 * YEAR));
    write_old_entries(&app, 3).await;
    let mut tx = app.state.db().begin().await.unwrap();
    for i in 0..2 {
        let mut record = AuditRecord::with_action_text(cut_month.start(), "system", format!("test.cut_month{i}"));
        record.account_id = Some(AccountId::parse("acct-old-1").unwrap());
        tx.audit(record);
    }
    tx.commit().await.unwrap().no_follow_up();
    let partition_exists = |name: String| {
        let app = &app;
        async move {
            app.db
                .count(&format!("SELECT COUNT(*) FROM pg_class WHERE relname = '{name}'"))
                .await
                == 1
        }
    };

    eventually("the months' partitions", Duration::from_secs(30), || async {
        app.state.db().create_partitions(now, 2).await.unwrap()
    })
    .await;
    assert!(partition_exists(whole_month.partition(History::AuditLog)).await);
    assert!(partition_exists(cut_month.partition(History::AuditLog)).await);
    assert_eq!(app.db.count("SELECT COUNT(*) FROM audit_log_default").await, 0);
    let out = archive_path();
    let output = archive(&app, cut, &out);

    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        !partition_exists(whole_month.partition(History::AuditLog)).await,
        "the month before the cut's goes whole"
    );
    assert!(
        partition_exists(cut_month.partition(History::AuditLog)).await,
        "the cut's month stays for what came after the cut"
    );
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'test.%'")
            .await,
        0,
        "every archived entry left the live log"
    );
    assert_eq!(
        lines_of(&out).len(),
        9 + 2 + 2,
        "a header, eleven entries and the checkpoint"
    );
    intact(holdfast(&app, &["audit", "verify"]));
    intact(verify_archive(&app, &out));
}
