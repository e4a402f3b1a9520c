//! Several instances behind a load balancer, sharing PostgreSQL and Redis.

use holdfast::app::Application;
use holdfast::clock::Clock;
use holdfast::config::Config;
use reqwest::StatusCode;
use serde_json::Value;

use std::time::Duration;

use crate::helpers::{Backend, eventually, p1_withdrawal, spawn_app, spawn_app_on};

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

    // B's own cache is never told of A's change; it may serve it for a second.
    eventually("b to see the freeze", Duration::from_millis(1500), || async {
        (b.holds("acct-1").await["frozen"] == true).then_some(())
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
