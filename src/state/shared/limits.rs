//! The rate limits Holdfast keeps per client address or account: each one's
//! name, refill and burst, and the refusal it answers with.

use std::time::Duration;

use crate::state::ratelimit::Refusal;

/// The rate limits, each with its refill interval and burst.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    Login,
    StepUp,
    /// Unfreeze link requests per client address.
    UnfreezePerAddress,
    /// Unfreeze link requests per account, whatever the address: caps the
    /// messages someone else can make a holder receive.
    UnfreezePerAccount,
    /// A holder's code and answer submissions per client address.
    HolderSteps,
}

impl Limit {
    pub(super) const ALL: [Limit; 5] = [
        Limit::Login,
        Limit::StepUp,
        Limit::UnfreezePerAddress,
        Limit::UnfreezePerAccount,
        Limit::HolderSteps,
    ];

    /// (name, one request refilled every, burst)
    pub(super) fn spec(self) -> (&'static str, Duration, u32) {
        match self {
            // Per address, generous: many agents or holders may share one
            // (an office, or the exchange's own servers relaying its app).
            // Per-agent lockout and per-flow tries are the real brakes.
            Limit::Login => ("sign-in", Duration::from_secs(1), 60),
            Limit::StepUp => ("step-up", Duration::from_secs(1), 60),
            Limit::UnfreezePerAddress => ("unfreeze", Duration::from_secs(1), 100),
            // Per account: five links, then one every twelve minutes.
            Limit::UnfreezePerAccount => ("unfreeze", Duration::from_secs(12 * 60), 5),
            Limit::HolderSteps => ("verification", Duration::from_millis(500), 120),
        }
    }

    pub(super) fn key(self) -> &'static str {
        match self {
            Limit::Login => "login",
            Limit::StepUp => "step-up",
            Limit::UnfreezePerAddress => "unfreeze-address",
            Limit::UnfreezePerAccount => "unfreeze-account",
            Limit::HolderSteps => "holder-steps",
        }
    }
}

pub(super) fn too_many(limit: Limit, wait: Duration) -> Refusal {
    Refusal::limited(limit.spec().0, wait)
}
