//! Why a holder's step did not go through, as the flow reports it; each
//! adapter (JSON, web page) says it in its own way.

use crate::domain::unfreeze::StepError;
use crate::domain::validation::FieldError;

/// Why a holder's step did not go through.
#[derive(Debug)]
pub enum HolderError {
    /// The link is unknown or was replaced by a newer one.
    UnknownLink,
    Expired,
    Step(StepError),
    /// The answers do not cover every activity exactly once.
    Answers(Vec<FieldError>),
    /// The exchange could not check a second factor; nothing was counted.
    ExchangeUnavailable,
    Other(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for HolderError {
    fn from(error: E) -> Self {
        HolderError::Other(error.into())
    }
}
