//! The transactional outbox: every message for the exchange is written in
//! the transaction of the change that calls for it ([`messages`]) and
//! delivered afterwards, retried under its idempotency key until the exchange
//! confirms it or the attempts run out ([`deliver`]).

pub mod deliver;
pub mod messages;

pub use messages::{AccountRequest, Notification, queue_action, queue_notification, queue_secret_notification};
