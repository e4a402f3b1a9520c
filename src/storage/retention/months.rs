//! The tables that grow with traffic and the calendar months they are
//! partitioned by: partition names, bounds, and the data class and limit
//! of each.

use std::time::Duration;

use chrono::{Datelike, TimeZone, Utc};

use crate::domain::time::Timestamp;
use crate::platform::config::Retention;

/// A table that grows with traffic, partitioned by month on PostgreSQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum History {
    /// Raw alert bodies: the alerts class.
    Alerts,
    /// Campaign sightings (signal values): the alerts class.
    Sightings,
    /// Failed sign-ins (source addresses): the alerts class.
    SignInFailures,
    /// Messages between the holder and the team: the messages class.
    Messages,
    /// Messages delivered to the exchange (and their answers): the
    /// deliveries class.
    Deliveries,
    /// The audit log: never expired here, only archived
    /// (`holdfast audit archive`, which drops the months it archived).
    AuditLog,
}

impl History {
    /// Every partitioned table, whose months are created ahead.
    pub const ALL: [History; 6] = [
        History::Alerts,
        History::Sightings,
        History::SignInFailures,
        History::Messages,
        History::Deliveries,
        History::AuditLog,
    ];

    /// The tables whose months retention drops.
    pub const EXPIRING: [History; 5] = [
        History::Alerts,
        History::Sightings,
        History::SignInFailures,
        History::Messages,
        History::Deliveries,
    ];

    pub fn table(self) -> &'static str {
        match self {
            History::Alerts => "alerts",
            History::Sightings => "campaign_signals",
            History::SignInFailures => "sign_in_failures",
            History::Messages => "case_messages",
            History::Deliveries => "outbox_delivered",
            History::AuditLog => "audit_log",
        }
    }

    /// How long the table's rows are kept: its data class's limit.
    pub(super) fn limit(self, limits: &Retention) -> Duration {
        match self {
            History::Alerts | History::Sightings | History::SignInFailures => limits.alerts,
            History::Messages => limits.messages,
            History::Deliveries => limits.deliveries,
            History::AuditLog => limits.audit,
        }
    }

    /// The data class its rows belong to, as [`super::Expiry`] counts them.
    pub(super) fn class(self) -> &'static str {
        match self {
            History::Alerts => "alerts",
            History::Sightings => "sightings",
            History::SignInFailures => "sign_in_failures",
            History::Messages => "messages",
            History::Deliveries => "deliveries",
            History::AuditLog => "audit",
        }
    }

    /// The partition key: when the row's retention starts counting.
    pub(super) fn key(self) -> &'static str {
        match self {
            History::Alerts | History::Messages | History::Deliveries => "retained_from",
            History::Sightings => "recorded_at",
            History::SignInFailures | History::AuditLog => "at",
        }
    }
}

/// A calendar month in UTC, the grain of partitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    year: i32,
    /// 1 to 12.
    month: u32,
}

impl Month {
    pub fn of(at: Timestamp) -> Self {
        let at = at.as_datetime();
        Month {
            year: at.year(),
            month: at.month(),
        }
    }

    pub fn next(self) -> Self {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn start(self) -> Timestamp {
        let start = Utc
            .with_ymd_and_hms(self.year, self.month, 1, 0, 0, 0)
            .single()
            .expect("the first of a month at midnight UTC exists");
        Timestamp::from_datetime(start)
    }

    /// The partition of `history` holding this month.
    pub fn partition(self, history: History) -> String {
        format!("{}_p{:04}{:02}", history.table(), self.year, self.month)
    }

    /// The month of a partition's name, if it is one of `history`'s months.
    pub(in crate::storage) fn of_partition(history: History, name: &str) -> Option<Self> {
        let digits = name.strip_prefix(history.table())?.strip_prefix("_p")?;
        if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (year, month) = digits.split_at(4);
        let month = Month {
            year: year.parse().ok()?,
            month: month.parse().ok()?,
        };
        (1..=12).contains(&month.month).then_some(month)
    }

    /// A bound in partition DDL (which takes no parameters).
    pub(super) fn literal(self) -> String {
        format!("'{:04}-{:02}-01 00:00:00+00'", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_name_their_partitions_and_roll_over_the_year() {
        let december = Month::of(Timestamp::parse_rfc3339("2026-12-31T23:59:59Z").unwrap());
        assert_eq!(december.partition(History::Alerts), "alerts_p202612");
        assert_eq!(
            december.next().partition(History::Sightings),
            "campaign_signals_p202701"
        );
        assert_eq!(december.next().start().to_rfc3339(), "2027-01-01T00:00:00Z");
        assert_eq!(Month::of_partition(History::Alerts, "alerts_p202612"), Some(december));
        assert_eq!(Month::of_partition(History::Alerts, "alerts_default"), None);
        assert_eq!(Month::of_partition(History::Alerts, "alerts_p202613"), None);
        assert_eq!(Month::of_partition(History::Sightings, "alerts_p202612"), None);
        assert_eq!(december.partition(History::Messages), "case_messages_p202612");
        assert_eq!(december.partition(History::AuditLog), "audit_log_p202612");
        assert_eq!(
            Month::of_partition(History::AuditLog, "audit_log_p202612"),
            Some(december)
        );
    }

    #[test]
    fn each_table_is_kept_for_its_own_classs_limit() {
        let day = Duration::from_secs(86_400);
        let limits = Retention {
            alerts: 90 * day,
            messages: 365 * day,
            deliveries: 365 * day,
            incidents: 5 * 365 * day,
            audit: 5 * 365 * day,
        };
        for history in [History::Alerts, History::Sightings, History::SignInFailures] {
            assert_eq!(history.limit(&limits), 90 * day, "{history:?}");
        }
        assert_eq!(History::Messages.limit(&limits), 365 * day);
        assert_eq!(History::Messages.class(), "messages");
        assert_eq!(History::Deliveries.limit(&limits), 365 * day);
    }
}
