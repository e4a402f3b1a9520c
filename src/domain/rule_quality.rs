//! Rule quality (SPEC §14): for each priority rule and each alert kind, the
//! incidents it fired in over a window and how they ended, so the leads who
//! tune `priority.toml` see which rules fire mostly on false positives and
//! which caught confirmed takeovers. Counts always, never a share alone.

use std::time::Duration;

use serde::Serialize;

/// The windows rule quality is counted over, in days.
pub const WINDOWS: [u32; 2] = [7, 30];

/// A window of `days` days ending now; only 7 and 30 are offered.
pub fn window(days: u32) -> Option<Duration> {
    WINDOWS
        .contains(&days)
        .then(|| Duration::from_secs(u64::from(days) * 86_400))
}

/// How the incidents a rule (or an alert kind) fired in ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Outcomes {
    /// Incidents it fired in, opened in the window (drills left out).
    pub fired: i64,
    pub confirmed_takeover: i64,
    pub false_positive: i64,
    pub user_error: i64,
    pub dismissed: i64,
}

impl Outcomes {
    /// Incidents not ended yet.
    pub fn open(&self) -> i64 {
        self.fired - self.ended()
    }

    pub fn ended(&self) -> i64 {
        self.confirmed_takeover + self.false_positive + self.user_error + self.dismissed
    }

    /// Ended as nothing: a false positive or dismissed.
    pub fn noise(&self) -> i64 {
        self.false_positive + self.dismissed
    }

    /// More than half of the incidents it fired in that have ended were
    /// noise.
    pub fn mostly_false_positives(&self) -> bool {
        self.ended() > 0 && self.noise() * 2 > self.ended()
    }

    /// It fired in at least one confirmed takeover.
    pub fn caught_takeovers(&self) -> bool {
        self.confirmed_takeover > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_seven_and_thirty_days_are_windows() {
        assert_eq!(window(7), Some(Duration::from_secs(7 * 86_400)));
        assert!(window(30).is_some());
        for days in [0, 1, 8, 31, 365] {
            assert_eq!(window(days), None, "{days}");
        }
    }

    #[test]
    fn a_rule_is_noisy_when_most_of_what_ended_was_noise() {
        let noisy = Outcomes {
            fired: 5,
            false_positive: 2,
            dismissed: 1,
            confirmed_takeover: 1,
            ..Outcomes::default()
        };
        assert_eq!(noisy.open(), 1);
        assert!(noisy.mostly_false_positives());
        assert!(noisy.caught_takeovers());
        let even = Outcomes {
            fired: 2,
            false_positive: 1,
            user_error: 1,
            ..Outcomes::default()
        };
        assert!(!even.mostly_false_positives());
        assert!(
            !Outcomes {
                fired: 3,
                ..Outcomes::default()
            }
            .mostly_false_positives()
        );
    }
}
