//! Rule quality (SPEC §14): for each priority rule and each alert kind, the
//! incidents it fired in over the last 7 or 30 days and how they ended.
//! `GET /v1/rules/quality?days=` ([`api`]) and the console's page
//! (`console::rules`) call [`compute`]. The counts are SQL over the window's
//! incidents (`storage/rule_quality`); drills are left out.

use serde::Serialize;

use crate::auth::CurrentAgent;
use crate::domain::agent::Permission;
use crate::domain::rule_quality::{Outcomes, window};
use crate::domain::time::Timestamp;
use crate::edge::error::ApiError;
use crate::state::AppState;

pub mod api;

/// One rule or alert kind and how its incidents ended.
#[derive(Clone, Debug, Serialize)]
pub struct Line {
    pub name: String,
    #[serde(flatten)]
    pub outcomes: Outcomes,
    /// Incidents not ended yet.
    pub open: i64,
}

impl Line {
    fn new((name, outcomes): (String, Outcomes)) -> Self {
        Self {
            open: outcomes.open(),
            name,
            outcomes,
        }
    }
}

/// Rule quality over one window.
#[derive(Clone, Debug, Serialize)]
pub struct RuleQuality {
    pub days: u32,
    /// Incidents opened at or after this instant are counted.
    pub since: Timestamp,
    pub rules: Vec<Line>,
    pub kinds: Vec<Line>,
    /// Rules more than half of whose ended incidents were false positives or
    /// dismissed, the noisiest first.
    pub mostly_false_positives: Vec<String>,
    /// Rules that fired in at least one confirmed takeover, the most first.
    pub caught_confirmed_takeovers: Vec<String>,
}

/// Rule quality over the last `days` days (7 or 30, else `422`); leads only.
#[tracing::instrument(skip_all, fields(agent = %agent.username))]
pub async fn compute(state: &AppState, agent: &CurrentAgent, days: u32) -> Result<RuleQuality, ApiError> {
    agent.require(Permission::ReadRuleQuality)?;
    let length = window(days).ok_or_else(|| ApiError::invalid("days", "must be 7 or 30"))?;
    let since = state.clock().now().minus(length);
    let (rules, kinds) = tokio::try_join!(state.db().rule_outcomes(since), state.db().kind_outcomes(since))?;
    let rules: Vec<Line> = rules.into_iter().map(Line::new).collect();
    let mut noisy: Vec<&Line> = rules.iter().filter(|l| l.outcomes.mostly_false_positives()).collect();
    noisy.sort_by(|a, b| b.outcomes.noise().cmp(&a.outcomes.noise()).then(a.name.cmp(&b.name)));
    let mut caught: Vec<&Line> = rules.iter().filter(|l| l.outcomes.caught_takeovers()).collect();
    caught.sort_by(|a, b| {
        (b.outcomes.confirmed_takeover)
            .cmp(&a.outcomes.confirmed_takeover)
            .then(a.name.cmp(&b.name))
    });
    Ok(RuleQuality {
        days,
        since,
        mostly_false_positives: noisy.iter().map(|l| l.name.clone()).collect(),
        caught_confirmed_takeovers: caught.iter().map(|l| l.name.clone()).collect(),
        kinds: kinds.into_iter().map(Line::new).collect(),
        rules,
    })
}

/// Reads the `days` a caller asked for: absent means 7; anything but a
/// whole number is a `422` like a wrong number.
pub fn parse_days(text: Option<&str>) -> Result<u32, ApiError> {
    match text.map(str::trim) {
        None | Some("") => Ok(7),
        Some(text) => text.parse().map_err(|_| ApiError::invalid("days", "must be 7 or 30")),
    }
}
