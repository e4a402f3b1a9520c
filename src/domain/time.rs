//! Points in time and durations as Holdfast stores and shows them.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC instant with microsecond precision, the precision PostgreSQL keeps.
///
/// Every instant is truncated to whole microseconds when it is made, so a value
/// read back from either database compares equal to the value written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    pub fn from_micros(micros: i64) -> Option<Self> {
        Utc.timestamp_micros(micros).single().map(Self)
    }

    pub fn from_unix_seconds(seconds: i64) -> Option<Self> {
        Self::from_micros(seconds.checked_mul(1_000_000)?)
    }

    pub fn from_datetime(at: DateTime<Utc>) -> Self {
        Self::from_micros(at.timestamp_micros()).expect("a chrono instant fits in i64 microseconds")
    }

    /// Parses an RFC 3339 instant such as `2026-11-23T04:00:00Z`.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|at| Self::from_datetime(at.with_timezone(&Utc)))
    }

    pub fn micros(self) -> i64 {
        self.0.timestamp_micros()
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.timestamp()
    }

    pub fn as_datetime(self) -> DateTime<Utc> {
        self.0
    }

    /// The latest instant a `Timestamp` holds (some 260,000 years from now).
    pub fn latest() -> Self {
        Self::from_datetime(DateTime::<Utc>::MAX_UTC)
    }

    /// The earliest instant a `Timestamp` holds.
    pub fn earliest() -> Self {
        Self::from_datetime(DateTime::<Utc>::MIN_UTC)
    }

    /// `self` moved forward; past the latest instant it stays there, so a
    /// deadline or an expiry never comes before the instant it was set from.
    pub fn plus(self, duration: Duration) -> Self {
        Self::from_micros(self.micros().saturating_add(micros_of(duration))).unwrap_or_else(Self::latest)
    }

    /// `self` moved back; before the earliest instant it stays there.
    pub fn minus(self, duration: Duration) -> Self {
        Self::from_micros(self.micros().saturating_sub(micros_of(duration))).unwrap_or_else(Self::earliest)
    }

    /// The time from `earlier` to `self`, zero when `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_micros(u64::try_from(self.micros() - earlier.micros()).unwrap_or(0))
    }

    pub fn to_rfc3339(self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }
}

fn micros_of(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse_rfc3339(&text).ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 timestamp"))
    }
}

/// Parses a human duration as written in Holdfast's files: `30s`, `5m`, `4h`,
/// `3d`, `1y` (a year of 365 days).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` has no unit (use s, m, h, d or y)"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` does not start with a whole number"))?;
    let unit_seconds: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "y" => 365 * 86_400,
        _ => {
            return Err(format!("`{text}` has unknown unit `{unit}` (use s, m, h, d or y)"));
        }
    };
    number
        .checked_mul(unit_seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is too long a duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_through_rfc3339() {
        let at = Timestamp::parse_rfc3339("2026-11-23T04:00:00.123456Z").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-11-23T04:00:00.123456Z");
        assert_eq!(Timestamp::parse_rfc3339(&at.to_rfc3339()), Some(at));
    }

    #[test]
    fn offsets_are_normalised_to_utc() {
        let at = Timestamp::parse_rfc3339("2026-11-23T13:00:00+09:00").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-11-23T04:00:00Z");
    }

    #[test]
    fn moving_past_the_ends_of_time_stops_there_instead_of_not_moving() {
        let at = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").unwrap();
        let forever = Duration::from_secs(u64::MAX);
        assert_eq!(at.plus(forever), Timestamp::latest());
        assert_eq!(at.minus(forever), Timestamp::earliest());
        assert!(Timestamp::earliest() < at && at < Timestamp::latest());
    }

    #[test]
    fn durations_accept_the_four_units_and_reject_others() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("3d"), Ok(Duration::from_secs(259_200)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5w").is_err());
        assert!(parse_duration("m").is_err());
    }

    #[test]
    fn a_duration_too_long_to_count_in_seconds_is_refused() {
        assert_eq!(
            parse_duration("307445734561825861m"),
            Err("`307445734561825861m` is too long a duration".into())
        );
        assert_eq!(
            parse_duration("18446744073709551615s"),
            Ok(Duration::from_secs(u64::MAX))
        );
    }
}
