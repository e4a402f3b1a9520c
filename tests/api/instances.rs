//! Several instances behind a load balancer, sharing PostgreSQL and Redis.

use holdfast::app::Application;
use holdfast::platform::clock::Clock;
use holdfast::platform::config::Config;
use reqwest::StatusCode;
use serde_json::Value;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::helpers::{
    Backend, TestApp, TestDatabase, eventually, p1_withdrawal, spawn_app, spawn_app_on, spawn_app_with,
};
use crate::metrics::metric;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_freeze_placed_through_one_instance_is_seen_at_once_by_another() {
    let a = spawn_app(Backend::PostgresWithRedis).await;
    let b = spawn_app_on(&a, |_| {}).await;
    assert_eq!(
        b.holds("acct-1").await["frozen"],
        false,
        "b caches the account as not frozen"
    );
    let prefix = a.settings["HOLDFAST_REDIS_PREFIX"].clone();
    let cached = redis_keys(&format!("{prefix}holds:acct-1"));
    assert_eq!(cached.len(), 1, "the holds check is cached in Redis");

    a.ingest(&p1_withdrawal("re-1", "acct-1")).await;

    assert_eq!(
        b.holds("acct-1").await["frozen"],
        true,
        "a's change invalidated the shared cache"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_redis_a_freeze_through_one_instance_is_seen_by_another_within_a_second() {
    let a = spawn_app(Backend::Postgres).await;
    let b = spawn_app_on(&a, |_| {}).await;
    assert_eq!(
        b.holds("acct-1").await["frozen"],
        false,
        "b caches the account as not frozen"
    );

    a.ingest(&p1_withdrawal("re-1", "acct-1")).await;

    // B hears of A's change through the database's announcement, which
    // arrives a moment after A's commit.
    eventually("b to see the freeze", Duration::from_millis(1000), || async {
        (b.holds("acct-1").await["frozen"] == true).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_redis_a_lift_by_another_instance_is_seen_within_a_second_though_the_holds_were_cached() {
    let a = spawn_app(Backend::Postgres).await;
    let b = spawn_app_on(&a, |_| {}).await;
    a.ingest(&p1_withdrawal("re-1", "acct-1")).await;
    eventually("b to see the freeze", Duration::from_millis(1000), || async {
        (b.holds("acct-1").await["frozen"] == true).then_some(())
    })
    .await;
    assert_eq!(b.holds("acct-1").await["frozen"], true, "b caches the freeze");

    // Another instance lifts the holds: its commit announces the account.
    a.db.execute(
        "WITH lifted AS (
             UPDATE holds SET lifted_at = now(), lifted_by = 'another instance'
             WHERE account_id = 'acct-1' AND lifted_at IS NULL RETURNING account_id
         )
         SELECT pg_notify('holdfast_holds_changed', 'acct-1') FROM lifted LIMIT 1",
    )
    .await
    .unwrap();

    // B's cached holds are dropped when the announcement arrives, long
    // before they would have aged out.
    eventually("b to see the lift", Duration::from_millis(1000), || async {
        (b.holds("acct-1").await["frozen"] == false).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limits_are_shared_between_instances() {
    let a = spawn_app(Backend::PostgresWithRedis).await;
    let b = spawn_app_on(&a, |_| {}).await;

    let mut allowed = 0;
    for attempt in 0..130 {
        let instance = if attempt % 2 == 0 { &a } else { &b };
        let response = instance.login("nobody", "nope", "123456").await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        allowed += 1;
    }

    // A bucket of 60 (plus what refills, one a second, while the loop runs)
    // for both instances: two buckets would let about 120 through.
    assert!(
        (60..100).contains(&allowed),
        "one bucket for both instances: {allowed} allowed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_sent_to_another_instance_is_answered_as_a_duplicate() {
    let a = spawn_app(Backend::PostgresWithRedis).await;
    let b = spawn_app_on(&a, |_| {}).await;
    let first = a.ingest(&p1_withdrawal("re-1", "acct-1")).await;

    let retry = b.post_alert(&p1_withdrawal("re-1", "acct-1")).await;

    assert_eq!(retry.status(), StatusCode::OK);
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry["duplicate"], true);
    assert_eq!(retry["incident_id"], first["incident_id"]);
    assert_eq!(retry["priority"], "P1");
    assert_eq!(
        a.db.count("SELECT COUNT(*) FROM audit_log WHERE action = 'alert.received'")
            .await,
        1
    );
}

#[tokio::test]
async fn an_unreachable_redis_stops_the_start_and_says_so() {
    let app = spawn_app(Backend::Postgres).await;
    let mut vars = app.settings.clone();
    vars.insert("HOLDFAST_REDIS_URL".into(), "redis://127.0.0.1:1".into());
    let config = Config::from_vars(|name| vars.get(name).cloned()).unwrap();

    let error = Application::build(config, Clock::system())
        .await
        .err()
        .expect("the start fails");

    assert!(format!("{error:#}").contains("Redis"), "{error:#}");
}

fn redis_keys(pattern: &str) -> Vec<String> {
    let client = redis::Client::open(crate::helpers::redis_url()).unwrap();
    let mut connection = client.get_connection().expect("Redis is required by this test");
    redis::cmd("KEYS").arg(pattern).query(&mut connection).unwrap()
}

/// The value of `holdfast_holds_feed_current` and of the resyncs of `feed`
/// (every instance of a test shares the process's metrics).
async fn feed_metrics(app: &TestApp, feed: &str) -> (Option<f64>, f64) {
    let text = app.scrape().await;
    let resyncs = metric(&text, "holdfast_hold_index_resyncs_total", &format!(r#"feed="{feed}""#));
    (metric(&text, "holdfast_holds_feed_current", ""), resyncs.unwrap_or(0.0))
}

/// The backend pid of the connection an instance listens for hold changes
/// on: the oldest such connection is that of the instance started first.
async fn oldest_hold_listener(app: &TestApp) -> i32 {
    let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&app.db.url)
        .await
        .unwrap();
    sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN%holdfast_holds_changed%'
         ORDER BY backend_start LIMIT 1",
    )
    .fetch_one(&mut connection)
    .await
    .expect("a connection listening for hold changes")
}

/// How many connections listen for hold changes on the instance's database.
async fn hold_listeners(app: &TestApp) -> i64 {
    let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&app.db.url)
        .await
        .unwrap();
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN%holdfast_holds_changed%'",
    )
    .fetch_one(&mut connection)
    .await
    .unwrap()
}

async fn terminate_backend(app: &TestApp, pid: i32) {
    let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&app.db.url)
        .await
        .unwrap();
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert!(terminated, "backend {pid} was terminated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_that_lost_its_listener_reads_the_database_until_it_listens_again_and_reloads() {
    let a = spawn_app_with(Backend::Postgres, |settings| {
        settings.set("HOLDFAST_ADMIN_LISTEN", "127.0.0.1:0");
    })
    .await;
    eventually("a's change feed to be current", Duration::from_secs(10), || async {
        a.state.hold_index().is_current().then_some(())
    })
    .await;
    let b = spawn_app_on(&a, |_| {}).await;
    eventually("b's change feed to be current", Duration::from_secs(10), || async {
        b.state.hold_index().is_current().then_some(())
    })
    .await;
    assert_eq!(feed_metrics(&a, "database").await, (Some(1.0), 0.0));
    assert_eq!(a.holds("acct-1").await["frozen"], false);

    let listener = oldest_hold_listener(&a).await;
    terminate_backend(&a, listener).await;
    eventually("a to report its feed lost", Duration::from_secs(5), || async {
        (feed_metrics(&a, "database").await.0 == Some(0.0)).then_some(())
    })
    .await;
    b.ingest(&p1_withdrawal("re-1", "acct-1")).await;

    assert_eq!(
        a.holds("acct-1").await["frozen"],
        true,
        "a freeze through b is never late on a"
    );
    eventually("a to listen again and reload", Duration::from_secs(10), || async {
        (feed_metrics(&a, "database").await == (Some(1.0), 1.0)).then_some(())
    })
    .await;
    assert_eq!(a.holds("acct-1").await["frozen"], true, "the reload knows the freeze");
    // And the feed carries b's changes to a again.
    assert_eq!(a.holds("acct-2").await["frozen"], false);
    b.ingest(&p1_withdrawal("re-2", "acct-2")).await;
    eventually("a to hear of b's next freeze", Duration::from_secs(1), || async {
        (a.holds("acct-2").await["frozen"] == true).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hold_listener_whose_connection_is_terminated_says_so_and_listens_again() {
    // A database of its own: the only listener on it is this test's.
    let test_db = TestDatabase::create(Backend::Postgres).await;
    let db = holdfast::storage::Database::connect(&test_db.url, 4).await.unwrap();
    let listened = AtomicUsize::new(0);
    let lost = AtomicUsize::new(0);
    let heard = std::sync::Mutex::new(Vec::<String>::new());
    let cancel = tokio_util::sync::CancellationToken::new();
    let listening = db.listen_for_hold_changes(
        |account| heard.lock().unwrap().push(account.to_string()),
        || async {
            listened.fetch_add(1, Ordering::SeqCst);
        },
        || {
            lost.fetch_add(1, Ordering::SeqCst);
        },
        cancel.clone(),
    );
    let test = async {
        eventually("the listener to be in place", Duration::from_secs(5), || async {
            (listened.load(Ordering::SeqCst) == 1).then_some(())
        })
        .await;
        let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&test_db.url)
            .await
            .unwrap();
        let listener: i32 = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%holdfast_holds_changed%'",
        )
        .fetch_one(&mut connection)
        .await
        .unwrap();
        let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
            .bind(listener)
            .fetch_one(&mut connection)
            .await
            .unwrap();
        assert!(terminated);

        eventually("the loss to be reported", Duration::from_secs(5), || async {
            (lost.load(Ordering::SeqCst) == 1).then_some(())
        })
        .await;
        eventually("the listener to be in place again", Duration::from_secs(10), || async {
            (listened.load(Ordering::SeqCst) == 2).then_some(())
        })
        .await;
        sqlx::query("SELECT pg_notify('holdfast_holds_changed', 'acct-9')")
            .execute(&mut connection)
            .await
            .unwrap();
        eventually("the announcement to arrive", Duration::from_secs(5), || async {
            heard.lock().unwrap().contains(&"acct-9".to_owned()).then_some(())
        })
        .await;
        cancel.cancel();
    };
    tokio::join!(listening, test);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_redis_a_hold_cached_before_redis_failed_over_is_never_served_after() {
    let a = spawn_app_with(Backend::PostgresWithRedis, |settings| {
        settings.set("HOLDFAST_ADMIN_LISTEN", "127.0.0.1:0");
    })
    .await;
    let b = spawn_app_on(&a, |_| {}).await;
    eventually(
        "both instances to listen for hold changes",
        Duration::from_secs(10),
        || async { (hold_listeners(&a).await == 2).then_some(()) },
    )
    .await;
    let prefix = a.settings["HOLDFAST_REDIS_PREFIX"].clone();
    let (entry, version) = (format!("{prefix}holds:acct-1"), format!("{prefix}holds:v:acct-1"));
    assert_eq!(a.holds("acct-1").await["frozen"], false);
    let before: Option<String> = redis_command(redis::cmd("GET").arg(&entry));
    assert!(before.is_some(), "the holds check is cached in Redis");

    b.ingest(&p1_withdrawal("re-1", "acct-1")).await;
    // b invalidated it before answering; then each instance once more when
    // the database announced the change.
    eventually(
        "every instance to invalidate the change",
        Duration::from_secs(5),
        || async {
            (redis_command::<Option<String>>(redis::cmd("GET").arg(&version)).as_deref() == Some("3")).then_some(())
        },
    )
    .await;

    // A failover to a replica that never saw the invalidation: the entry
    // cached before the freeze is back, and every connection dropped.
    redis_command::<()>(redis::cmd("SET").arg(&entry).arg(before.unwrap()));
    redis_command::<()>(redis::cmd("DEL").arg(&version));
    for app in [&a, &b] {
        let id = app.state.shared().redis_client_id().await.expect("a Redis connection");
        redis_command::<i64>(redis::cmd("CLIENT").arg("KILL").arg("ID").arg(id));
    }

    assert_eq!(
        a.holds("acct-1").await["frozen"],
        true,
        "the first check after the failover"
    );
    // That check found the connection gone: a answers from the database
    // (for at least a second) until Redis answers and the cache is resynced.
    eventually("a to report Redis lost", Duration::from_secs(1), || async {
        (feed_metrics(&a, "redis").await.0 == Some(0.0)).then_some(())
    })
    .await;
    for attempt in 1..5 {
        assert_eq!(
            a.holds("acct-1").await["frozen"],
            true,
            "check {attempt} after the failover"
        );
    }
    eventually("a to trust Redis again", Duration::from_secs(10), || async {
        let (current, resyncs) = feed_metrics(&a, "redis").await;
        (current == Some(1.0) && resyncs >= 1.0).then_some(())
    })
    .await;
    for app in [&a, &b] {
        assert_eq!(app.holds("acct-1").await["frozen"], true, "after the resync");
    }
}

fn redis_command<T: redis::FromRedisValue>(command: &redis::Cmd) -> T {
    let client = redis::Client::open(crate::helpers::redis_url()).unwrap();
    let mut connection = client.get_connection().expect("Redis is required by this test");
    command.query(&mut connection).unwrap()
}
