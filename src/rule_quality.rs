//! Rule quality (SPEC §14): for each priority rule and each alert kind, the
//! incidents it fired in over the last 7 or 30 days and how they ended.
//! `GET /v1/rules/quality?days=` ([`api`]) and the console's page
//! (`console::rules`) call [`compute`]. The counts are SQL over the window's
//! incidents (`storage/rule_quality`); drills are left out.

use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::CurrentAgent;
use crate::domain::agent::Permission;
use crate::domain::rule_quality::{Outcomes, window};
use crate::domain::time::Timestamp;
use crate::edge::error::ApiError;
use crate::state::AppState;

pub mod api;

/// One priority rule (or alert kind) and how the incidents it fired in ended. Counts only: a share is never given without its count.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = RuleQualityLine)]
pub struct Line {
    /// The rule's name in the rules file, or the alert kind.
    pub name: String,
    /// Incidents opened in the window it fired in (drills left out).
    #[schema(minimum = 0)]
    pub fired: i64,
    /// Of those, resolved as a confirmed takeover.
    #[schema(minimum = 0)]
    pub confirmed_takeover: i64,
    /// Resolved as a false positive.
    #[schema(minimum = 0)]
    pub false_positive: i64,
    /// Resolved as a user error.
    #[schema(minimum = 0)]
    pub user_error: i64,
    /// Dismissed.
    #[schema(minimum = 0)]
    pub dismissed: i64,
    /// Not ended yet.
    #[schema(minimum = 0)]
    pub open: i64,
}

impl Line {
    fn new((name, outcomes): (String, Outcomes)) -> Self {
        Self {
            name,
            fired: outcomes.fired,
            confirmed_takeover: outcomes.confirmed_takeover,
            false_positive: outcomes.false_positive,
            user_error: outcomes.user_error,
            dismissed: outcomes.dismissed,
            open: outcomes.open(),
        }
    }

    /// The counts the rules of [`Outcomes`] read.
    pub fn outcomes(&self) -> Outcomes {
        Outcomes {
            fired: self.fired,
            confirmed_takeover: self.confirmed_takeover,
            false_positive: self.false_positive,
            user_error: self.user_error,
            dismissed: self.dismissed,
        }
    }
}

/// Rule quality over one window.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RuleQuality {
    #[schema(schema_with = window_lengths)]
    pub days: u32,
    /// Incidents opened at or after this instant are counted.
    #[schema(value_type = String, format = DateTime)]
    pub since: Timestamp,
    /// Every rule that fired in the window, by name.
    pub rules: Vec<Line>,
    /// Every alert kind of the window's incidents.
    pub kinds: Vec<Line>,
    /// Rules more than half of whose ended incidents were false positives or
    /// dismissed, the noisiest first.
    pub mostly_false_positives: Vec<String>,
    /// Rules that fired in at least one confirmed takeover, the most first.
    pub caught_confirmed_takeovers: Vec<String>,
}

/// The window lengths [`window`] accepts.
fn window_lengths() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::Integer)
        .enum_values(Some(crate::domain::rule_quality::WINDOWS))
        .build()
}

/// Rule quality over the last `days` days (7 or 30, else `422`); leads only.
#[tracing::instrument(skip_all, fields(agent = %agent.username))]
pub async fn compute(state: &AppState, agent: &CurrentAgent, days: u32) -> Result<RuleQuality, ApiError> {
    agent.require(Permission::ReadRuleQuality)?;
    let length = window(days).ok_or_else(|| ApiError::invalid("days", "must be 7 or 30"))?;
    let since = state.clock().now().minus(length);
    let (rules, kinds) = tokio::try_join!(state.db().rule_outcomes(since), state.db().kind_outcomes(since))?;
    let rules: Vec<Line> = rules.into_iter().map(Line::new).collect();
    let mut noisy: Vec<&Line> = rules.iter().filter(|l| l.outcomes().mostly_false_positives()).collect();
    noisy.sort_by(|a, b| {
        b.outcomes()
            .noise()
            .cmp(&a.outcomes().noise())
            .then(a.name.cmp(&b.name))
    });
    let mut caught: Vec<&Line> = rules.iter().filter(|l| l.outcomes().caught_takeovers()).collect();
    caught.sort_by(|a, b| {
        (b.confirmed_takeover)
            .cmp(&a.confirmed_takeover)
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
