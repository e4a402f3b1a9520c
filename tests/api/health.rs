use reqwest::StatusCode;

use crate::helpers::{Backend, assert_problem, on_both_backends, p3_login, spawn_app, spawn_app_with};

on_both_backends!(
    health_readiness_and_metrics_answer,
    unknown_routes_and_methods_get_problem_bodies
);

async fn health_readiness_and_metrics_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    app.ingest(&p3_login("re-1", "acct-1")).await;

    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();

    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(metrics.status(), StatusCode::OK);
    let text = metrics.text().await.unwrap();
    for name in [
        "holdfast_alerts_total",
        "holdfast_incidents_opened_total",
        "holdfast_http_request_duration_seconds_bucket",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
}

async fn unknown_routes_and_methods_get_problem_bodies(backend: Backend) {
    let app = spawn_app(backend).await;

    let missing = app.client.get(app.url("/v1/nothing-here")).send().await.unwrap();
    let wrong_method = app.client.delete(app.url("/v1/alerts")).send().await.unwrap();

    assert_problem(missing, StatusCode::NOT_FOUND).await;
    assert_problem(wrong_method, StatusCode::METHOD_NOT_ALLOWED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_an_admin_listener_metrics_are_served_there_only() {
    let app = spawn_app_with(Backend::Sqlite, |settings| {
        settings.set("HOLDFAST_ADMIN_LISTEN", "127.0.0.1:0");
    })
    .await;
    let admin = app.admin_address.clone().expect("an admin listener is bound");
    app.client.get(app.url("/healthz")).send().await.unwrap();

    let public = app.client.get(app.url("/metrics")).send().await.unwrap();
    let private = app.client.get(format!("{admin}/metrics")).send().await.unwrap();
    let admin_health = app.client.get(format!("{admin}/healthz")).send().await.unwrap();

    assert_problem(public, StatusCode::NOT_FOUND).await;
    assert_eq!(private.status(), StatusCode::OK);
    let text = private.text().await.unwrap();
    assert!(
        text.contains(r#"route="/healthz""#),
        "the admin listener reports the public listener's requests"
    );
    assert_problem(admin_health, StatusCode::NOT_FOUND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_an_admin_listener_metrics_are_served_on_the_main_listener() {
    let app = spawn_app(Backend::Sqlite).await;

    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();

    assert!(app.admin_address.is_none());
    assert_eq!(metrics.status(), StatusCode::OK);
    assert!(
        metrics
            .headers()
            .get("content-type")
            .is_some_and(|value| value.to_str().unwrap().starts_with("text/plain"))
    );
}

#[tokio::test]
async fn sigterm_stops_the_service_cleanly() {
    let dir = std::env::temp_dir().join(format!("holdfast-sigterm-{}", crate::helpers::unique_name()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_holdfast"))
        .arg("serve")
        .current_dir(&dir)
        .env("HOLDFAST_LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "HOLDFAST_PLAYBOOKS",
            format!("{}/playbooks", env!("CARGO_MANIFEST_DIR")),
        )
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    crate::helpers::eventually("the service starts", std::time::Duration::from_secs(20), || {
        let request = client.get(format!("http://127.0.0.1:{port}/healthz")).send();
        async move { request.await.ok().filter(|r| r.status().is_success()) }
    })
    .await;

    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();

    assert!(status.success(), "exit status {status}");
    assert!(
        dir.join("holdfast.db").exists(),
        "the embedded database was created in the working directory"
    );
    let _ = std::fs::remove_dir_all(dir);
}
