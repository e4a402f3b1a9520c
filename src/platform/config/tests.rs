//! The configuration's unit tests: each variable's default, its checks and the message naming it.

use super::*;
use std::collections::HashMap;

const SECRET: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

fn config(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_vars(|name| vars.get(name).cloned())
}

fn production() -> Vec<(&'static str, String)> {
    vec![
        ("HOLDFAST_ENV", "production".into()),
        ("HOLDFAST_DATABASE_URL", "postgres://db/holdfast".into()),
        ("HOLDFAST_REDIS_URL", "rediss://redis:6380".into()),
        ("HOLDFAST_MASTER_KEY", SECRET.into()),
        (
            "HOLDFAST_INGEST_KEYS",
            format!("engine:alerts={SECRET},exchange:holds={SECRET}"),
        ),
        ("HOLDFAST_ACCOUNT_CONTROL_URL", "https://exchange/control".into()),
        ("HOLDFAST_NOTIFY_URL", "https://exchange/notify".into()),
        ("HOLDFAST_OUTBOUND_KEY", format!("holdfast={SECRET}")),
        ("HOLDFAST_PUBLIC_URL", "https://holdfast.example".into()),
        ("HOLDFAST_ADMIN_LISTEN", "10.0.0.5:9090".into()),
        (
            "HOLDFAST_PLAYBOOK_KEYS",
            "team=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".into(),
        ),
    ]
}

/// The production settings with `name` set to `value`.
fn with(vars: &[(&'static str, String)], name: &'static str, value: &str) -> anyhow::Result<Config> {
    let mut vars = vars.to_vec();
    vars.retain(|(k, _)| *k != name);
    vars.push((name, value.to_owned()));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    config(&vars)
}

fn without(vars: &[(&'static str, String)], name: &str) -> anyhow::Result<Config> {
    let vars: Vec<(&str, &str)> = vars
        .iter()
        .filter(|(k, _)| *k != name)
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    config(&vars)
}

#[test]
fn retention_defaults_follow_the_spec_and_bad_durations_name_their_variable() {
    let vars = production();
    let config = config(&vars.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).unwrap();
    let days = |n: u64| Duration::from_secs(n * 86_400);
    assert_eq!(config.retention.alerts, days(90));
    assert_eq!(config.retention.messages, days(365));
    assert_eq!(config.retention.deliveries, days(365));
    assert_eq!(config.retention.incidents, days(5 * 365));
    assert_eq!(config.retention.audit, days(5 * 365));
    let config = with(&vars, "HOLDFAST_RETENTION_AUDIT", "7y").unwrap();
    assert_eq!(config.retention.audit, days(7 * 365));
    let config = with(&vars, "HOLDFAST_RETENTION_ALERTS", "12h").unwrap();
    assert_eq!(config.retention.alerts, Duration::from_secs(12 * 3600));
    for garbage in ["90", "ninety days", "90 days", "-1d", "0d", "1.5y"] {
        let error = with(&vars, "HOLDFAST_RETENTION_MESSAGES", garbage).unwrap_err();
        assert!(
            error.to_string().starts_with("HOLDFAST_RETENTION_MESSAGES: "),
            "{garbage}: {error}"
        );
    }
}

#[test]
fn a_complete_production_configuration_loads() {
    let vars = production();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let config = config(&vars).unwrap();
    assert_eq!(config.environment, Environment::Production);
    assert!(config.warnings.is_empty());
}

#[test]
fn production_refuses_every_insecure_default() {
    let vars = production();
    for name in [
        "HOLDFAST_MASTER_KEY",
        "HOLDFAST_INGEST_KEYS",
        "HOLDFAST_PUBLIC_URL",
        "HOLDFAST_PLAYBOOK_KEYS",
        "HOLDFAST_REDIS_URL",
        "HOLDFAST_ADMIN_LISTEN",
    ] {
        let error = without(&vars, name).unwrap_err().to_string();
        assert!(error.starts_with(name), "{name}: {error}");
    }
    let error = without(&vars, "HOLDFAST_DATABASE_URL").unwrap_err().to_string();
    assert!(error.contains("production needs PostgreSQL"), "{error}");
}

#[test]
fn a_bad_value_names_its_variable() {
    let error = config(&[("HOLDFAST_LISTEN", "nowhere"), ("HOLDFAST_MASTER_KEY", SECRET)]).unwrap_err();
    assert!(error.to_string().starts_with("HOLDFAST_LISTEN"));
    let error = config(&[("HOLDFAST_MASTER_KEY", "c2hvcnQ=")]).unwrap_err();
    assert!(
        error.to_string().contains("HOLDFAST_MASTER_KEY: decodes to 5 bytes"),
        "{error}"
    );
    let error = config(&[("HOLDFAST_MASTER_KEY", SECRET), ("HOLDFAST_INGEST_KEYS", "k=c2hvcnQ=")]).unwrap_err();
    assert!(error.to_string().starts_with("HOLDFAST_INGEST_KEYS"));
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let config = config(&[
        ("HOLDFAST_MASTER_KEY", SECRET),
        ("HOLDFAST_INGEST_KEYS", &format!("engine={SECRET}")),
    ])
    .unwrap();
    let printed = format!("{config:?}");
    assert!(!printed.contains(SECRET));
    assert!(!printed.contains("0123456789abcdef"));
}

#[test]
fn production_with_postgresql_needs_redis_and_development_does_not() {
    let error = without(&production(), "HOLDFAST_REDIS_URL").unwrap_err().to_string();
    assert!(
        error.starts_with("HOLDFAST_REDIS_URL: required in production"),
        "{error}"
    );
    let development = config(&[
        ("HOLDFAST_MASTER_KEY", SECRET),
        ("HOLDFAST_DATABASE_URL", "postgres://db/holdfast"),
    ])
    .unwrap();
    assert!(development.redis_url.is_none());
}

#[test]
fn production_needs_every_ingest_key_to_name_its_scopes() {
    let error = with(
        &production(),
        "HOLDFAST_INGEST_KEYS",
        &format!("engine:alerts={SECRET},legacy={SECRET}"),
    )
    .unwrap_err()
    .to_string();
    assert!(error.starts_with("HOLDFAST_INGEST_KEYS"), "{error}");
    assert!(error.contains("legacy does not"), "{error}");
    assert!(!error.contains(SECRET), "{error}");
    let both = with(
        &production(),
        "HOLDFAST_INGEST_KEYS",
        &format!("engine:alerts+holds={SECRET}"),
    );
    assert!(both.is_ok(), "{both:?}");
}

#[test]
fn production_refuses_a_holder_key_that_grants_another_scope() {
    let error = with(
        &production(),
        "HOLDFAST_INGEST_KEYS",
        &format!("engine:alerts+holds={SECRET},app:holder+holds={SECRET}"),
    )
    .unwrap_err()
    .to_string();
    assert!(error.starts_with("HOLDFAST_INGEST_KEYS"), "{error}");
    assert!(error.contains("app does"), "{error}");
    let apart = with(
        &production(),
        "HOLDFAST_INGEST_KEYS",
        &format!("engine:alerts+holds={SECRET},app:holder={SECRET}"),
    );
    assert!(apart.is_ok(), "{apart:?}");
}

#[test]
fn production_refuses_plain_http_urls_and_development_allows_them() {
    for name in [
        "HOLDFAST_ACCOUNT_CONTROL_URL",
        "HOLDFAST_NOTIFY_URL",
        "HOLDFAST_PUBLIC_URL",
    ] {
        let error = with(&production(), name, "http://exchange.internal/endpoint")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with(name), "{name}: {error}");
        assert!(error.contains("https://"), "{name}: {error}");
    }
    for name in ["HOLDFAST_ACCOUNT_CONTROL_URL", "HOLDFAST_NOTIFY_URL"] {
        let sidecar = with(&production(), name, "http://127.0.0.1:8443/endpoint");
        assert!(sidecar.is_ok(), "{name} to this machine: {sidecar:?}");
    }
    let error = with(&production(), "HOLDFAST_PUBLIC_URL", "http://127.0.0.1:8080")
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("HOLDFAST_PUBLIC_URL"), "{error}");
    let development = config(&[
        ("HOLDFAST_MASTER_KEY", SECRET),
        ("HOLDFAST_ACCOUNT_CONTROL_URL", "http://127.0.0.1:1/control"),
        ("HOLDFAST_NOTIFY_URL", "http://127.0.0.1:1/notify"),
        ("HOLDFAST_OUTBOUND_KEY", &format!("holdfast={SECRET}")),
        ("HOLDFAST_PUBLIC_URL", "http://127.0.0.1:8080"),
    ]);
    assert!(development.is_ok(), "{development:?}");
}

#[test]
fn production_needs_the_admin_listener_so_metrics_stay_off_the_public_one() {
    let error = without(&production(), "HOLDFAST_ADMIN_LISTEN").unwrap_err().to_string();
    assert!(
        error.starts_with("HOLDFAST_ADMIN_LISTEN: required in production"),
        "{error}"
    );
    let development = config(&[("HOLDFAST_MASTER_KEY", SECRET)]).unwrap();
    assert!(development.admin_listen.is_none());
}

#[test]
fn production_refuses_plain_redis_to_another_machine() {
    for url in [
        "redis://redis.internal:6379",
        "redis://:secret@10.0.0.7:6379/0",
        "redis://[2001:db8::7]:6379",
    ] {
        let error = with(&production(), "HOLDFAST_REDIS_URL", url).unwrap_err().to_string();
        assert!(error.starts_with("HOLDFAST_REDIS_URL"), "{url}: {error}");
        assert!(error.contains("rediss://"), "{url}: {error}");
        assert!(!error.contains("secret"), "{url}: {error}");
        let development = config(&[("HOLDFAST_MASTER_KEY", SECRET), ("HOLDFAST_REDIS_URL", url)]);
        assert!(development.is_ok(), "{url}: {development:?}");
    }
    for url in [
        "rediss://redis.internal:6380",
        "rediss://:secret@10.0.0.7:6380/0",
        "redis://127.0.0.1:6379",
        "redis://localhost",
        "redis://:secret@127.0.0.2:6379/1",
        "redis://[::1]:6379",
        "redis+unix:///run/redis.sock",
        "unix:///run/redis.sock",
    ] {
        let loaded = with(&production(), "HOLDFAST_REDIS_URL", url);
        assert!(loaded.is_ok(), "{url}: {loaded:?}");
    }
    let error = with(&production(), "HOLDFAST_REDIS_URL", "http://redis:6379")
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("HOLDFAST_REDIS_URL: must start with"), "{error}");
}

#[test]
fn production_exports_spans_only_over_tls_or_on_this_machine() {
    for name in ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] {
        for endpoint in [
            "http://collector.internal:4317",
            "http://10.0.0.9:4317",
            "collector:4317",
        ] {
            let error = with(&production(), name, endpoint).unwrap_err().to_string();
            assert!(error.starts_with(name), "{name}={endpoint}: {error}");
            assert!(error.contains("https://"), "{error}");
            let development = config(&[("HOLDFAST_MASTER_KEY", SECRET), (name, endpoint)]);
            assert!(development.is_ok(), "{name}={endpoint}: {development:?}");
        }
        for endpoint in [
            "https://collector.internal:4317",
            "http://127.0.0.1:4317",
            "http://localhost:4317",
            "http://[::1]:4317",
            "unix:///run/otel.sock",
        ] {
            let loaded = with(&production(), name, endpoint);
            assert!(loaded.is_ok(), "{name}={endpoint}: {loaded:?}");
        }
    }
}

#[test]
fn edge_settings_are_parsed_and_bad_ones_name_their_variable() {
    let config_with = |name: &str, value: &str| config(&[("HOLDFAST_MASTER_KEY", SECRET), (name, value)]);
    let defaults = config(&[("HOLDFAST_MASTER_KEY", SECRET)]).unwrap();
    assert_eq!(defaults.server.header_read_timeout, Duration::from_secs(10));
    assert_eq!(defaults.server.max_connections, DEFAULT_MAX_CONNECTIONS);
    assert_eq!(defaults.server.max_connections_per_client, 64);
    assert!(defaults.admin_listen.is_none());
    assert!(defaults.exchange_listen.is_none());
    assert!(defaults.trusted_proxies.is_empty());

    let set = config(&[
        ("HOLDFAST_MASTER_KEY", SECRET),
        ("HOLDFAST_HEADER_READ_TIMEOUT", "500ms"),
        ("HOLDFAST_MAX_CONNECTIONS", "64"),
        ("HOLDFAST_MAX_CONNECTIONS_PER_CLIENT", "8"),
        ("HOLDFAST_ADMIN_LISTEN", "127.0.0.1:9090"),
        ("HOLDFAST_EXCHANGE_LISTEN", "10.0.0.5:8081"),
        ("HOLDFAST_TRUSTED_PROXIES", "10.0.0.0/8, 2001:db8::/32"),
    ])
    .unwrap();
    assert_eq!(set.server.header_read_timeout, Duration::from_millis(500));
    assert_eq!(set.server.max_connections, 64);
    assert_eq!(set.server.max_connections_per_client, 8);
    assert_eq!(set.admin_listen, Some("127.0.0.1:9090".parse().unwrap()));
    assert_eq!(set.exchange_listen, Some("10.0.0.5:8081".parse().unwrap()));
    assert!(set.trusted_proxies.contains("10.2.3.4".parse().unwrap()));
    assert!(set.trusted_proxies.contains("2001:db8::7".parse().unwrap()));

    for (name, value) in [
        ("HOLDFAST_HEADER_READ_TIMEOUT", "11s"),
        ("HOLDFAST_HEADER_READ_TIMEOUT", "0s"),
        ("HOLDFAST_MAX_CONNECTIONS", "0"),
        ("HOLDFAST_MAX_CONNECTIONS", "many"),
        ("HOLDFAST_MAX_CONNECTIONS_PER_CLIENT", "0"),
        ("HOLDFAST_MAX_CONNECTIONS_PER_CLIENT", "-1"),
        ("HOLDFAST_MAX_CONNECTIONS_PER_CLIENT", "lots"),
        ("HOLDFAST_ADMIN_LISTEN", "metrics"),
        ("HOLDFAST_EXCHANGE_LISTEN", "exchange.internal"),
        ("HOLDFAST_TRUSTED_PROXIES", "10.0.0.0/8, lb.internal"),
        ("HOLDFAST_TRUSTED_PROXIES", "10.0.0.0/40"),
    ] {
        let error = config_with(name, value).unwrap_err().to_string();
        assert!(error.starts_with(name), "{name}={value}: {error}");
    }
}

#[test]
fn risk_feedback_needs_its_own_key_and_https_in_production() {
    const OTHER: &str = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=";
    let mut vars = production();
    vars.push(("HOLDFAST_RISK_FEEDBACK_URL", "https://risk-engine/feedback".into()));
    vars.push(("HOLDFAST_RISK_FEEDBACK_KEY", format!("feedback={OTHER}")));
    let set = with(&vars, "HOLDFAST_RISK_FEEDBACK_URL", "https://risk-engine/feedback").unwrap();
    assert_eq!(set.risk_feedback.unwrap().key.id(), "feedback");
    assert!(
        without(&production(), "HOLDFAST_RISK_FEEDBACK_URL")
            .unwrap()
            .risk_feedback
            .is_none()
    );

    let plain = with(&vars, "HOLDFAST_RISK_FEEDBACK_URL", "http://risk-engine/feedback").unwrap_err();
    assert!(plain.to_string().starts_with("HOLDFAST_RISK_FEEDBACK_URL"), "{plain}");
    assert!(with(&vars, "HOLDFAST_RISK_FEEDBACK_URL", "http://127.0.0.1:9000/feedback").is_ok());
    let shared = with(&vars, "HOLDFAST_RISK_FEEDBACK_KEY", &format!("other-id={SECRET}")).unwrap_err();
    assert!(shared.to_string().contains("HOLDFAST_OUTBOUND_KEY"), "{shared}");
    let keyless = without(&vars, "HOLDFAST_RISK_FEEDBACK_KEY").unwrap_err();
    assert!(
        keyless.to_string().starts_with("HOLDFAST_RISK_FEEDBACK_KEY"),
        "{keyless}"
    );
}

#[test]
fn in_production_a_drill_key_grants_no_other_scope() {
    let vars = production();
    let alone = format!("engine:alerts={SECRET},exchange:holds={SECRET},rehearse:drill={SECRET}");
    assert!(with(&vars, "HOLDFAST_INGEST_KEYS", &alone).is_ok());
    let mixed = format!("engine:alerts={SECRET},rehearse:drill+alerts={SECRET}");
    let error = with(&vars, "HOLDFAST_INGEST_KEYS", &mixed).unwrap_err().to_string();
    assert!(
        error.starts_with("HOLDFAST_INGEST_KEYS") && error.contains("rehearse"),
        "{error}"
    );
}

#[test]
fn the_audit_logs_retention_defaults_to_five_years_and_a_bad_one_is_named() {
    let year = Duration::from_secs(365 * 86_400);
    let default = config(&[("HOLDFAST_MASTER_KEY", SECRET)]).unwrap();
    assert_eq!(default.retention.audit, 5 * year);
    let retention = |text: &str| {
        config(&[("HOLDFAST_MASTER_KEY", SECRET), ("HOLDFAST_RETENTION_AUDIT", text)]).map(|c| c.retention.audit)
    };
    assert_eq!(retention("7y").unwrap(), 7 * year);
    assert_eq!(retention("90d").unwrap(), Duration::from_secs(90 * 86_400));
    assert_eq!(retention("12h").unwrap(), Duration::from_secs(12 * 3600));
    for bad in ["5", "y", "5 years", "-1y", "5w"] {
        let error = retention(bad).unwrap_err().to_string();
        assert!(error.starts_with("HOLDFAST_RETENTION_AUDIT: "), "{bad}: {error}");
    }
}
