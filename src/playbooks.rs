//! The playbooks feature: `GET /v1/playbooks` lists what was loaded at start.
//!
//! Loading, signing and checking playbooks lives below every feature, in
//! [`crate::state::handles::playbooks`], because the application state holds the
//! loaded set; it is re-exported here under its familiar name.

pub mod api;

pub use crate::state::handles::playbooks::{LoadedPlaybook, Playbooks, check_file, generate_key, sign};
