//! The leads' overview: `GET /v1/overview` and `/console/overview` over one
//! function, [`compute`].
//!
//! What it costs: every figure is one statement over an index (migrations
//! 0005, 0010 and 0017). The open incidents are an index-only count over the
//! partial index of live incidents; the day's breaches two range counts; the
//! response times to each milestone one statement that reads the index on
//! (reached at, duration) for the last 7 days only, once, and takes both
//! windows' counts, medians and 90th percentiles from it, so the whole table
//! is never read. With 10 million alerts and a million incidents over three
//! years stored, a debug build answers it in about 11 ms at the median
//! (`load/history.sh`, load/REPORT.md "History at scale").

use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::CurrentAgent;
use crate::domain::agent::Permission;
use crate::domain::incident::{IncidentStatus, Milestone};
use crate::domain::priority::Priority;
use crate::domain::time::Timestamp;
use crate::edge::error::ApiError;
use crate::state::AppState;
use crate::storage::WindowTimes;

const DAY: Duration = Duration::from_secs(24 * 3600);

/// The figures a lead watches.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Overview {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Live incidents by priority, then status (every priority and live status, zeros included).
    #[schema(inline)]
    pub open_incidents: Vec<OpenIncidents>,
    #[schema(inline)]
    pub sla_breaches_today: Breaches,
    pub time_to_acknowledge: Windows,
    pub time_to_contain: Windows,
    pub time_to_resolve: Windows,
    #[schema(inline)]
    pub reviews: Reviews,
    #[schema(inline)]
    pub satisfaction: Satisfaction,
}

/// Holders' ratings of their closed cases, by when they answered.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Satisfaction {
    #[schema(inline)]
    pub last_7d: Ratings,
    #[schema(inline)]
    pub last_30d: Ratings,
}

/// The mean score (1 to 5; `null` when nobody answered) and how many answered.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Ratings {
    #[schema(minimum = 1, maximum = 5, required)]
    pub mean: Option<f64>,
    #[schema(minimum = 0)]
    pub answers: i64,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OpenIncidents {
    pub priority: Priority,
    #[schema(minimum = 0)]
    pub total: i64,
    #[schema(inline)]
    pub by_status: Vec<StatusCount>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StatusCount {
    pub status: IncidentStatus,
    #[schema(minimum = 0)]
    pub count: i64,
}

/// Deadlines found missed since the start of the current UTC day.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Breaches {
    /// The start of the UTC day counted.
    #[schema(value_type = String, format = DateTime)]
    pub since: Timestamp,
    #[schema(minimum = 0)]
    pub acknowledge: i64,
    #[schema(minimum = 0)]
    pub contain: i64,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = OverviewWindows)]
pub struct Windows {
    pub last_24h: Percentiles,
    pub last_7d: Percentiles,
}

/// Response times of the incidents that reached the milestone in a window
/// (nearest-rank percentiles; `null` when none did).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = OverviewPercentiles)]
pub struct Percentiles {
    /// Incidents that reached the milestone in the window.
    #[schema(minimum = 0)]
    pub count: i64,
    /// Nearest-rank; null when no incident reached the milestone in the window.
    #[schema(minimum = 0, required)]
    pub median_seconds: Option<f64>,
    /// Nearest-rank; null when no incident reached the milestone in the window.
    #[schema(minimum = 0, required)]
    pub p90_seconds: Option<f64>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Reviews {
    /// Holders waiting for an agent's review.
    #[schema(minimum = 0)]
    pub waiting: i64,
    /// What a holder joining the queue now would be told to expect.
    pub estimated_wait_seconds: u64,
}

/// The incidents' response times to `milestone` over the last 24 hours and
/// the last 7 days: nearest-rank percentiles, the `ceil(count × p / 100)`th
/// shortest, read by one statement (`Database::response_time_percentiles`).
async fn windows(state: &AppState, milestone: Milestone, now: Timestamp) -> Result<Windows, ApiError> {
    let [day, week] = state
        .db()
        .response_time_percentiles(milestone, [now.minus(DAY), now.minus(7 * DAY)])
        .await?;
    let percentiles = |times: WindowTimes| {
        let seconds = |micros: Option<i64>| micros.map(|micros| micros as f64 / 1_000_000.0);
        Percentiles {
            count: times.count,
            median_seconds: seconds(times.median_micros),
            p90_seconds: seconds(times.p90_micros),
        }
    };
    Ok(Windows {
        last_24h: percentiles(day),
        last_7d: percentiles(week),
    })
}

async fn ratings(state: &AppState, since: Timestamp) -> Result<Ratings, ApiError> {
    let (mean, answers) = state.db().satisfaction_since(since).await?;
    Ok(Ratings {
        mean: mean.map(|mean| (mean * 100.0).round() / 100.0),
        answers,
    })
}

/// Computes the overview at the clock's now. Any agent may read it.
pub async fn compute(state: &AppState, agent: &CurrentAgent) -> Result<Overview, ApiError> {
    agent.require(Permission::ReadIncidents)?;
    let now = state.clock().now();
    let day_start =
        Timestamp::from_unix_seconds(now.unix_seconds() - now.unix_seconds().rem_euclid(86_400)).unwrap_or(now);
    let counts = state.db().live_incidents_by_priority_and_status().await?;
    let open_incidents = Priority::ALL
        .into_iter()
        .map(|priority| {
            let by_status: Vec<StatusCount> = IncidentStatus::ALL
                .into_iter()
                .filter(|status| !status.is_closed())
                .map(|status| StatusCount {
                    status,
                    count: counts
                        .iter()
                        .find(|(p, s, _)| p == priority.as_str() && s == status.as_str())
                        .map_or(0, |(_, _, n)| *n),
                })
                .collect();
            OpenIncidents {
                priority,
                total: by_status.iter().map(|s| s.count).sum(),
                by_status,
            }
        })
        .collect();
    let (acknowledge, contain) = state.db().breaches_between(day_start, day_start.plus(DAY)).await?;
    let waiting = state.db().flows_in_review_count().await?;
    let position = u32::try_from(waiting + 1).unwrap_or(u32::MAX);
    let estimated_wait_seconds = crate::unfreeze::notify::wait_at(state, position, now)
        .await
        .map_err(ApiError::Internal)?;
    Ok(Overview {
        at: now,
        open_incidents,
        sla_breaches_today: Breaches {
            since: day_start,
            acknowledge,
            contain,
        },
        time_to_acknowledge: windows(state, Milestone::Acknowledge, now).await?,
        time_to_contain: windows(state, Milestone::Contain, now).await?,
        time_to_resolve: windows(state, Milestone::Resolve, now).await?,
        reviews: Reviews {
            waiting,
            estimated_wait_seconds,
        },
        satisfaction: Satisfaction {
            last_7d: ratings(state, now.minus(7 * DAY)).await?,
            last_30d: ratings(state, now.minus(30 * DAY)).await?,
        },
    })
}

pub mod api;
