//! Why a holder's case action did not go through, as the API and the pages
//! answer it: each variant names its status.

/// Why a holder's case action did not go through.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// No case behind the token (or no longer): a `404` like any unknown path.
    #[error("no such case")]
    Unknown,
    /// The case has ended (`409`).
    #[error("the case has ended")]
    Ended,
    /// The case has not ended yet (`409`).
    #[error("the case has not ended yet")]
    NotEnded,
    /// The holder already answered (`409`).
    #[error("already answered")]
    AlreadyAnswered,
    /// Too many messages this hour (`429`).
    #[error("too many messages")]
    TooMany,
    /// A bad field (`422`): the field and why.
    #[error("invalid {0}")]
    Invalid(&'static str, String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for CaseError {
    fn from(error: sqlx::Error) -> Self {
        CaseError::Other(error.into())
    }
}
