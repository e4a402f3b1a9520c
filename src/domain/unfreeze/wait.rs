//! The wait a holder in the review queue is told: estimated from recent throughput or handling times.

use super::*;

/// Estimates how long a holder at `position` in the review queue will wait.
///
/// Throughput first: if agents decided at least three reviews within the
/// recent `window`, they clear about `decided / window` reviews per second,
/// so position `p` waits about `p × window / decided` (Little's law for a
/// queue served at a steady rate). With fewer recent decisions throughput
/// cannot be measured; then each position ahead is taken to cost the median
/// time recent reviews took from queueing to decision (conservative: it
/// ignores agents working in parallel), and with no history at all a prior of
/// `default_per_review`. The answer is rounded up to whole minutes, between
/// one minute and two days: a holder is told "about 20 minutes", not
/// "1,197 seconds" or "never".
pub fn estimate_wait(
    position: u32,
    recent_durations: &[Duration],
    decided_in_window: u32,
    window: Duration,
    default_per_review: Duration,
) -> Duration {
    let position = position.max(1);
    let raw = if decided_in_window >= 3 {
        window.mul_f64(f64::from(position) / f64::from(decided_in_window))
    } else if !recent_durations.is_empty() {
        let mut sorted = recent_durations.to_vec();
        sorted.sort();
        sorted[sorted.len() / 2] * position
    } else {
        default_per_review * position
    };
    let minutes = raw.as_secs().div_ceil(60).clamp(1, 48 * 60);
    Duration::from_secs(minutes * 60)
}
