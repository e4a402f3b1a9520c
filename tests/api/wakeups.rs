//! Background work another writer left is picked up through the database's
//! announcement, not a poll: the tasks' own safety nets look every few
//! minutes, far beyond these tests' deadlines (15 s).

use std::time::Duration;

use holdfast::domain::ids::AccountId;
use holdfast::outbox::{Notification, queue_notification};
use holdfast::storage::Database;
use serde_json::json;

use crate::helpers::{Backend, TestApp, eventually, spawn_app};

macro_rules! on_postgres_with_and_without_redis {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres_with_redis() {
                    super::$name($crate::helpers::Backend::PostgresWithRedis).await
                }
            }
        )*
    };
}

on_postgres_with_and_without_redis!(
    a_message_another_writer_queued_is_delivered_at_once,
    a_message_queued_while_the_listener_was_away_is_delivered_once_it_listens_again,
);

/// Another writer on the instance's database: no task of the instance hears
/// of its commits but through the database.
async fn other_writer(app: &TestApp) -> Database {
    Database::connect(&app.db.url, 2).await.unwrap()
}

/// Queues a notification for `account` from `writer`, as another instance would.
async fn queue_elsewhere(app: &TestApp, writer: &Database, account: &str) {
    let mut tx = writer.begin().await.unwrap();
    let key = format!("wakeup:{account}");
    let account_id = AccountId::parse(account).unwrap();
    let notification = Notification {
        idempotency_key: &key,
        account_id: &account_id,
        incident_id: None,
        template: "sla_breach",
        data: json!({"audience": "leads"}),
    };
    assert!(
        queue_notification(&mut tx, &notification, app.clock.now())
            .await
            .unwrap()
    );
    // The committing writer is not this instance: nothing follows in its memory.
    let committed = tx.commit().await.unwrap();
    assert!(
        committed
            .effects
            .iter()
            .any(|effect| matches!(effect, holdfast::storage::Effect::MessageQueued))
    );
}

/// Waits until the instance listens for work; returns the listening backend's pid.
async fn listening(app: &TestApp) -> i32 {
    eventually("the instance to listen for work", Duration::from_secs(10), || async {
        let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&app.db.url)
            .await
            .unwrap();
        sqlx::query_scalar::<_, i32>(
            "SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%holdfast_work%'",
        )
        .fetch_optional(&mut admin)
        .await
        .unwrap()
    })
    .await
}

async fn a_message_another_writer_queued_is_delivered_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    listening(&app).await;
    let writer = other_writer(&app).await;

    queue_elsewhere(&app, &writer, "acct-elsewhere").await;

    let delivered = app.exchange.wait_for_notification("acct-elsewhere", "sla_breach").await;
    assert!(delivered.signature_valid);
    assert_eq!(delivered.body["data"]["audience"], "leads");
}

async fn a_message_queued_while_the_listener_was_away_is_delivered_once_it_listens_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let listener = listening(&app).await;
    let writer = other_writer(&app).await;
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&app.db.url)
        .await
        .unwrap();
    let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(listener)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert!(terminated);

    // The listener waits a second before listening again: this announcement
    // reaches nobody.
    queue_elsewhere(&app, &writer, "acct-unheard").await;

    let delivered = app.exchange.wait_for_notification("acct-unheard", "sla_breach").await;
    assert_eq!(delivered.body["data"]["audience"], "leads");
    let listeners: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(listeners, 1, "one listening connection again");
}
