//! Logs and traces.
//!
//! Logs go to stderr, as text or JSON (`HOLDFAST_LOG_FORMAT=json`), filtered
//! by `HOLDFAST_LOG` (or `RUST_LOG`). When `OTEL_EXPORTER_OTLP_ENDPOINT` is
//! set, spans are also exported over OTLP/gRPC.
//!
//! What is never logged: secrets, passwords, TOTP and one-time codes, tokens,
//! IP addresses, e-mail addresses. Identifiers (incident, alert, account,
//! run) are logged as span fields.
//!
//! Metrics: [`catalog`] describes every one and registers them at start.

pub mod catalog;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=warn";

/// Flushes exported spans when dropped.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown();
        }
    }
}

/// Installs the global subscriber. Call once, at start.
pub fn init() -> anyhow::Result<Telemetry> {
    let filter = std::env::var("HOLDFAST_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| DEFAULT_FILTER.to_owned());
    let filter = EnvFilter::try_new(&filter).map_err(|e| anyhow::anyhow!("HOLDFAST_LOG: {e}"))?;
    let json = std::env::var("HOLDFAST_LOG_FORMAT").is_ok_and(|format| format == "json");
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = if json { fmt.json().boxed() } else { fmt.boxed() };

    let provider = match std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
        Ok(_) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .build()
                .map_err(|e| anyhow::anyhow!("OTEL_EXPORTER_OTLP_ENDPOINT: {e}"))?;
            Some(
                SdkTracerProvider::builder()
                    // Every span is recorded: a caller's "not sampled" flag
                    // (the default sampler follows a remote parent's) must
                    // not hide what Holdfast did for it.
                    .with_sampler(Sampler::AlwaysOn)
                    .with_batch_exporter(exporter)
                    .with_resource(Resource::builder().with_service_name("holdfast").build())
                    .build(),
            )
        }
        Err(_) => None,
    };
    let otel = provider
        .as_ref()
        .map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer("holdfast")));

    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()?;
    log_panics();
    Ok(Telemetry { provider })
}

/// Sends panics through the log (as one `ERROR` event with the message and
/// location) instead of raw text on stderr, so they keep the log's format and
/// land in the span that was current when the code panicked: for a handler,
/// its request's span. Where no subscriber listens (before logging is set up,
/// or on a thread of a test without one) the previous hook prints it instead,
/// so nothing is lost. Installed once.
pub fn log_panics() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(no message)");
            let location = info
                .location()
                .map_or_else(|| "unknown".to_owned(), ToString::to_string);
            tracing::error!(panic.message = message, panic.location = %location, "panicked");
            let unheard =
                tracing::dispatcher::get_default(|dispatch| dispatch.is::<tracing::subscriber::NoSubscriber>());
            if unheard {
                previous(info);
            }
        }));
    });
}
