//! Alerts from the risk engine: `POST /v1/alerts` (`api`) and the intake
//! workers that turn them into incidents in batched transactions (`intake`).

pub mod api;
pub mod intake;

pub use crate::state::handles::intake::{Ingested, Intake};
