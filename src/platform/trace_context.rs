//! W3C trace context (`traceparent`) carried from a request to every call to
//! the exchange it causes.
//!
//! An inbound `traceparent` is continued when the caller may choose the
//! trace (in production: a signed request, or one through a trusted proxy;
//! see `middleware::TraceTrust`), always as sampled; any other request
//! starts a trace. The context lives in a task-local for the request's task
//! ([`scope`], set by the middleware), every transaction begun there takes
//! it ([`current`]), and every outbox message and run the transaction writes
//! stores it, so the delivery loop and the runner, on other tasks and later,
//! send in the same trace. Each outbound request carries the trace id with a
//! fresh span id ([`TraceContext::outbound`]).
//!
//! This works whether or not spans are exported: when the OpenTelemetry
//! layer is installed (`OTEL_EXPORTER_OTLP_ENDPOINT`), [`TraceContext::adopt`]
//! also makes the context the parent of a `tracing` span, so the exported
//! spans share the trace id; without it, the ids are Holdfast's own.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use ring::rand::{SecureRandom, SystemRandom};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The header name.
pub const TRACEPARENT: &str = "traceparent";

/// A trace id and the id of the span (in Holdfast or its caller) that the next
/// span is a child of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: [u8; 16],
    pub parent_id: [u8; 8],
    pub sampled: bool,
}

tokio::task_local! {
    static CURRENT: TraceContext;
}

/// Runs `future` with `context` as the current trace context.
pub async fn scope<F: Future>(context: TraceContext, future: F) -> F::Output {
    CURRENT.scope(context, future).await
}

/// The trace context of the running task, if it has one.
pub fn current() -> Option<TraceContext> {
    CURRENT.try_with(|context| *context).ok()
}

/// A fresh, non-zero id. Trace and span ids must be unique, not secret:
/// they travel in the clear to the exchange and the trace store, and an
/// inbound one is honoured only from signed requests or trusted proxies.
/// So each thread draws a seed from the operating system once and steps a
/// SplitMix64 sequence from it, rather than making a system call for every
/// request (`getrandom` showed in the holds check's profile). SplitMix64's
/// output is a bijection of its counter, so a thread never repeats a word;
/// threads start from independent seeds.
fn random<const N: usize>() -> [u8; N] {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(os_seed());
    }
    let mut bytes = [0u8; N];
    STATE.with(|state| {
        loop {
            for chunk in bytes.chunks_mut(8) {
                chunk.copy_from_slice(&splitmix64(state).to_le_bytes()[..chunk.len()]);
            }
            // All zeros is the invalid id.
            if bytes.iter().any(|b| *b != 0) {
                break;
            }
        }
    });
    bytes
}

fn splitmix64(state: &Cell<u64>) -> u64 {
    let next = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
    state.set(next);
    let mut z = next;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The operating system's randomness, with the thread's place in line
/// mixed in so that two threads start apart even if a draw failed.
fn os_seed() -> u64 {
    static THREADS: AtomicU64 = AtomicU64::new(0);
    let mut seed = [0u8; 8];
    let _ = SystemRandom::new().fill(&mut seed);
    let place = THREADS.fetch_add(1, Ordering::Relaxed);
    u64::from_le_bytes(seed) ^ place.wrapping_mul(0xD1B5_4A32_D192_ED03)
}

impl TraceContext {
    /// A new trace.
    pub fn start() -> Self {
        Self {
            trace_id: random(),
            parent_id: random(),
            sampled: true,
        }
    }

    /// Parses a `traceparent` value (version `00`, or a later version read
    /// as `00`); `None` for anything malformed, which starts a new trace.
    pub fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        let mut parts = header.split('-');
        let (version, trace_id, parent_id, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex = |text: &str, len: usize| {
            text.len() == len && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if !hex(version, 2) || version == "ff" || !hex(trace_id, 32) || !hex(parent_id, 16) || !hex(flags, 2) {
            return None;
        }
        if version == "00" && parts.next().is_some() {
            return None;
        }
        let mut context = Self {
            trace_id: [0; 16],
            parent_id: [0; 8],
            sampled: u8::from_str_radix(flags, 16).ok()? & 1 == 1,
        };
        hex::decode_to_slice(trace_id, &mut context.trace_id).ok()?;
        hex::decode_to_slice(parent_id, &mut context.parent_id).ok()?;
        let valid = context.trace_id != [0; 16] && context.parent_id != [0; 8];
        valid.then_some(context)
    }

    /// The context of `span` when spans are exported (so the next span's
    /// parent is that span), else `self`.
    pub fn within(self, span: &tracing::Span) -> Self {
        let exported = span.context().span().span_context().clone();
        if exported.is_valid() && exported.trace_id().to_bytes() == self.trace_id {
            Self {
                trace_id: self.trace_id,
                parent_id: exported.span_id().to_bytes(),
                sampled: exported.is_sampled(),
            }
        } else {
            self
        }
    }

    /// The context of `span` when spans are exported (a trace the
    /// OpenTelemetry layer started), else `None`.
    pub fn of_span(span: &tracing::Span) -> Option<Self> {
        let exported = span.context().span().span_context().clone();
        exported.is_valid().then(|| Self {
            trace_id: exported.trace_id().to_bytes(),
            parent_id: exported.span_id().to_bytes(),
            sampled: exported.is_sampled(),
        })
    }

    /// Makes this context the parent of `span` (before it is entered) when
    /// spans are exported; without the OpenTelemetry layer it does nothing.
    pub fn adopt(self, span: &tracing::Span) {
        let flags = if self.sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        let remote = SpanContext::new(
            TraceId::from_bytes(self.trace_id),
            SpanId::from_bytes(self.parent_id),
            flags,
            true,
            TraceState::default(),
        );
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    }

    /// The `traceparent` for a request to the exchange sent from within
    /// `span`: the same trace, and the span's own id when spans are exported
    /// (a fresh one otherwise).
    pub fn outbound(self, span: &tracing::Span) -> String {
        let within = self.within(span);
        let parent_id = if within.parent_id != self.parent_id {
            within.parent_id
        } else {
            random()
        };
        Self { parent_id, ..within }.to_string()
    }
}

impl fmt::Display for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            hex::encode(self.trace_id),
            hex::encode(self.parent_id),
            u8::from(self.sampled)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_traces_never_repeat_an_id_within_a_thread_or_across_threads() {
        let draw = || (0..10_000).map(|_| TraceContext::start()).collect::<Vec<_>>();
        let here = draw();
        let there = std::thread::spawn(draw).join().unwrap();
        let traces: std::collections::HashSet<_> = here.iter().chain(&there).map(|c| c.trace_id).collect();
        let spans: std::collections::HashSet<_> = here.iter().chain(&there).map(|c| c.parent_id).collect();
        assert_eq!(traces.len(), 20_000);
        assert_eq!(spans.len(), 20_000);
        assert!(traces.iter().all(|id| id.iter().any(|b| *b != 0)));
    }

    #[test]
    fn a_traceparent_reads_back_as_written() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let context = TraceContext::parse(header).unwrap();
        assert!(context.sampled);
        assert_eq!(context.to_string(), header);
    }

    #[test]
    fn malformed_and_all_zero_traceparents_are_refused() {
        for header in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert_eq!(TraceContext::parse(header), None, "{header}");
        }
    }

    #[test]
    fn an_outbound_header_keeps_the_trace_with_a_fresh_span_id() {
        let context = TraceContext::start();
        let outbound = TraceContext::parse(&context.outbound(&tracing::Span::none())).unwrap();
        assert_eq!(outbound.trace_id, context.trace_id);
        assert_ne!(outbound.parent_id, context.parent_id);
    }
}
