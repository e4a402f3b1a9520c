//! Agents signing in: password + TOTP login, bearer sessions, step-up.
//!
//! Signing in does not elevate. Sensitive actions need a step-up in the last
//! five minutes (`POST /v1/auth/step-up`) or an `X-Holdfast-OTP` header that
//! steps up inline. Every accepted TOTP code advances the agent's last
//! accepted time step by compare-and-set, so a code (or any older one) is
//! accepted once. Five failed password or code attempts within fifteen
//! minutes lock the agent for fifteen minutes; attempts are counted per agent,
//! and separately rate-limited per client address.
//!
//! `attempts` holds those rules, `sign_in` and `session` use them, `api`
//! serves them, and `totp` checks the codes. The API and the console share
//! them all.

pub mod api;
pub mod attempts;
pub mod session;
pub mod sign_in;
pub mod totp;

pub use crate::edge::http::ClientAddress;
pub use attempts::totp_context;
pub use session::{CurrentAgent, OTP_HEADER, Touch, agent_for_session_token, otp_header, sign_out};
pub use sign_in::{SignedIn, sign_in};
