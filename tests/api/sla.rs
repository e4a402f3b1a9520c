use std::time::Duration;

use crate::helpers::{Backend, eventually, on_both_backends, p3_login, spawn_app, spawn_app_with};

on_both_backends!(
    an_incident_past_its_acknowledge_deadline_is_flagged_escalated_and_notified_once,
    an_incident_within_its_deadline_is_left_alone,
    the_watcher_runs_on_its_own,
);

async fn an_incident_past_its_acknowledge_deadline_is_flagged_escalated_and_notified_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let answer = app.ingest(&p3_login("re-1", "acct-1")).await;
    let incident_id = answer["incident_id"].as_str().unwrap();

    app.clock.advance(Duration::from_secs(4 * 3600 + 1));
    holdfast::sla::escalate_overdue(&app.state).await.unwrap();
    holdfast::sla::escalate_overdue(&app.state).await.unwrap();

    let incident = app.state.db().incident(&incident_id.into()).await.unwrap().unwrap();
    assert!(incident.sla_breached());
    let timeline = app.state.db().timeline(&incident_id.into()).await.unwrap();
    let escalations = timeline.iter().filter(|e| e.action == "incident.escalated").count();
    assert_eq!(escalations, 1, "escalated once");
    let notification = app.exchange.wait_for_notification("acct-1", "sla_breach").await;
    assert!(notification.signature_valid);
    assert_eq!(notification.body["data"]["incident_id"], incident_id);
    assert_eq!(notification.body["data"]["audience"], "leads");
}

async fn an_incident_within_its_deadline_is_left_alone(backend: Backend) {
    let app = spawn_app(backend).await;
    let answer = app.ingest(&p3_login("re-1", "acct-1")).await;

    app.clock.advance(Duration::from_secs(3 * 3600));
    holdfast::sla::escalate_overdue(&app.state).await.unwrap();

    let incident = app
        .state
        .db()
        .incident(&answer["incident_id"].as_str().unwrap().into())
        .await
        .unwrap()
        .unwrap();
    assert!(!incident.sla_breached());
}

async fn the_watcher_runs_on_its_own(backend: Backend) {
    let app = spawn_app_with(backend, |settings| {
        settings.set("HOLDFAST_SLA_CHECK_INTERVAL", "50ms");
    })
    .await;
    let answer = app.ingest(&p3_login("re-1", "acct-1")).await;
    let incident_id = answer["incident_id"].as_str().unwrap().to_owned();

    app.clock.advance(Duration::from_secs(4 * 3600 + 1));

    eventually("the watcher flags the incident", Duration::from_secs(10), || {
        let (db, id) = (app.state.db().clone(), incident_id.clone());
        async move {
            db.incident(&id.as_str().into())
                .await
                .unwrap()
                .filter(|i| i.sla_breached())
        }
    })
    .await;
}
