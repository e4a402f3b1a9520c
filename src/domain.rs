//! The domain: Holdfast's rules as plain Rust, tested without a server or a
//! database.

pub mod agent;
pub mod alert;
pub mod audit;
pub mod campaign;
pub mod case;
pub mod disposition;
pub mod drill;
pub mod exchange;
pub mod hold;
pub mod ids;
pub mod incident;
pub mod playbook;
pub mod priority;
pub mod replay;
pub mod rule_quality;
pub mod run;
pub mod time;
pub mod unfreeze;
pub mod validation;
