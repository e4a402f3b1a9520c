//! Holds: restrictions on an account, each tied to the incident that placed
//! it. The exchange's hot check (`api`) reads them; `change` is the one place
//! they are placed and lifted.

pub mod api;
pub mod change;

pub use change::{Placement, Pushed, lift, place};
