//! Signed requests (SPEC §2): HMAC-SHA256 over `"<timestamp>.<raw body>"`.
//!
//! The same scheme authenticates the risk engine to Holdfast and Holdfast to
//! the exchange. Verification is constant-time (`ring::hmac::verify`) and
//! rejects timestamps more than five minutes from the server clock, so a
//! captured request cannot be replayed later.

use std::collections::HashMap;
use std::fmt;

use base64::Engine;
use ring::hmac;

use crate::domain::time::Timestamp;

pub const KEY_ID_HEADER: &str = "x-holdfast-key-id";
pub const TIMESTAMP_HEADER: &str = "x-holdfast-timestamp";
pub const SIGNATURE_HEADER: &str = "x-holdfast-signature";

/// How far a request's timestamp may be from the server clock.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 300;

/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// A signing key: its id and HMAC key. `Debug` shows the id only.
#[derive(Clone)]
pub struct SigningKey {
    id: String,
    key: hmac::Key,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    pub fn new(id: &str, secret: &[u8]) -> Self {
        Self {
            id: id.to_owned(),
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    /// Parses `key_id=base64secret`, the form of every key variable.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (id, secret) = text
            .split_once('=')
            .ok_or_else(|| "expected key_id=secret (secret as standard base64)".to_owned())?;
        let id = id.trim();
        if id.is_empty() || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("key id `{id}` must be non-empty and without spaces"));
        }
        let secret = base64::engine::general_purpose::STANDARD
            .decode(secret.trim())
            .map_err(|_| format!("the secret of key `{id}` is not standard base64"))?;
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "the secret of key `{id}` is {} bytes; at least {MIN_SECRET_BYTES} are required",
                secret.len()
            ));
        }
        Ok(Self::new(id, &secret))
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The `X-Holdfast-Signature` value for `body` sent at `timestamp`.
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        let tag = hmac::sign(&self.key, &signed_bytes(timestamp, body));
        format!("v1={}", hex::encode(tag.as_ref()))
    }

    /// The three headers of a signed request.
    pub fn headers(&self, now: Timestamp, body: &[u8]) -> [(&'static str, String); 3] {
        let timestamp = now.unix_seconds();
        [
            (KEY_ID_HEADER, self.id.clone()),
            (TIMESTAMP_HEADER, timestamp.to_string()),
            (SIGNATURE_HEADER, self.sign(timestamp, body)),
        ]
    }
}

fn signed_bytes(timestamp: i64, body: &[u8]) -> Vec<u8> {
    let prefix = format!("{timestamp}.");
    let mut bytes = Vec::with_capacity(prefix.len() + body.len());
    bytes.extend_from_slice(prefix.as_bytes());
    bytes.extend_from_slice(body);
    bytes
}

/// Reads the timestamp header: unix seconds written the one way the signer
/// formats them (no `+`, no leading zeros). The HMAC covers the number as
/// written, so accepting other spellings of it would let one signature stand
/// for several different headers.
fn parse_unix_seconds(text: &str) -> Option<i64> {
    let text = text.trim();
    let seconds: i64 = text.parse().ok()?;
    (seconds.to_string() == text).then_some(seconds)
}

/// Why a signed request was refused. Every variant is a `401`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the {0} header is missing")]
    Missing(&'static str),
    #[error("the key id is not known")]
    UnknownKey,
    #[error("the timestamp is not unix seconds")]
    MalformedTimestamp,
    #[error("the timestamp is more than 300 seconds from the server clock")]
    Stale,
    #[error("the signature does not match the body")]
    BadSignature,
}

/// The keys trusted to sign inbound requests.
#[derive(Clone, Debug, Default)]
pub struct KeyRing {
    keys: HashMap<String, SigningKey>,
}

impl KeyRing {
    /// Parses a comma-separated list of `key_id=secret`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys = HashMap::new();
        for entry in text.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
            let key = SigningKey::parse(entry)?;
            if keys.insert(key.id.clone(), key).is_some() {
                return Err("a key id appears twice".into());
            }
        }
        Ok(Self { keys })
    }

    pub fn from_keys(keys: impl IntoIterator<Item = SigningKey>) -> Self {
        Self {
            keys: keys.into_iter().map(|key| (key.id.clone(), key)).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks a request's signature headers against its raw body; returns the key id.
    pub fn verify(
        &self,
        key_id: Option<&str>,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: Timestamp,
    ) -> Result<&str, SignatureError> {
        let key_id = key_id.ok_or(SignatureError::Missing("X-Holdfast-Key-Id"))?;
        let timestamp = timestamp.ok_or(SignatureError::Missing("X-Holdfast-Timestamp"))?;
        let signature = signature.ok_or(SignatureError::Missing("X-Holdfast-Signature"))?;
        let key = self.keys.get(key_id).ok_or(SignatureError::UnknownKey)?;
        let timestamp = parse_unix_seconds(timestamp).ok_or(SignatureError::MalformedTimestamp)?;
        // `abs_diff`: a timestamp near i64::MIN or MAX must be stale, not overflow.
        if now.unix_seconds().abs_diff(timestamp) > MAX_CLOCK_SKEW_SECONDS.unsigned_abs() {
            return Err(SignatureError::Stale);
        }
        let tag = signature
            .trim()
            .strip_prefix("v1=")
            .and_then(|hex_tag| hex::decode(hex_tag).ok())
            .ok_or(SignatureError::BadSignature)?;
        hmac::verify(&key.key, &signed_bytes(timestamp, body), &tag).map_err(|_| SignatureError::BadSignature)?;
        Ok(&key.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes

    fn ring() -> KeyRing {
        KeyRing::parse(&format!("engine={SECRET}")).unwrap()
    }

    fn now() -> Timestamp {
        Timestamp::from_unix_seconds(1_795_000_000).unwrap()
    }

    #[test]
    fn a_correctly_signed_body_verifies() {
        let key = SigningKey::parse(&format!("engine={SECRET}")).unwrap();
        let [_, (_, ts), (_, sig)] = key.headers(now(), b"{}");
        assert_eq!(
            ring().verify(Some("engine"), Some(&ts), Some(&sig), b"{}", now()),
            Ok("engine")
        );
    }

    #[test]
    fn the_signature_is_lowercase_hex_hmac_of_timestamp_dot_body() {
        let key = SigningKey::new("k", b"01234567890123456789012345678901");
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, b"01234567890123456789012345678901"),
            b"1795000000.hello",
        );
        assert_eq!(
            key.sign(1_795_000_000, b"hello"),
            format!("v1={}", hex::encode(tag.as_ref()))
        );
    }

    #[test]
    fn a_changed_body_unknown_key_or_old_timestamp_is_refused() {
        let key = SigningKey::parse(&format!("engine={SECRET}")).unwrap();
        let [_, (_, ts), (_, sig)] = key.headers(now(), b"{}");
        let ring = ring();
        assert_eq!(
            ring.verify(Some("engine"), Some(&ts), Some(&sig), b"{ }", now()),
            Err(SignatureError::BadSignature)
        );
        assert_eq!(
            ring.verify(Some("other"), Some(&ts), Some(&sig), b"{}", now()),
            Err(SignatureError::UnknownKey)
        );
        let later = now().plus(std::time::Duration::from_secs(301));
        assert_eq!(
            ring.verify(Some("engine"), Some(&ts), Some(&sig), b"{}", later),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            ring.verify(Some("engine"), Some(&ts), None, b"{}", now()),
            Err(SignatureError::Missing("X-Holdfast-Signature"))
        );
    }

    #[test]
    fn a_timestamp_is_accepted_only_as_the_signer_wrote_it() {
        let key = SigningKey::parse(&format!("engine={SECRET}")).unwrap();
        let [_, (_, ts), (_, sig)] = key.headers(now(), b"{}");
        for respelled in [format!("+{ts}"), format!("0{ts}"), format!("{ts}.0")] {
            assert_eq!(
                ring().verify(Some("engine"), Some(&respelled), Some(&sig), b"{}", now()),
                Err(SignatureError::MalformedTimestamp),
                "{respelled}"
            );
        }
    }

    #[test]
    fn a_timestamp_at_the_ends_of_the_number_range_is_stale() {
        for extreme in [i64::MIN, i64::MAX] {
            assert_eq!(
                ring().verify(Some("engine"), Some(&extreme.to_string()), Some("v1=00"), b"{}", now()),
                Err(SignatureError::Stale)
            );
        }
    }

    #[test]
    fn short_secrets_and_malformed_entries_are_rejected_with_the_reason() {
        assert!(KeyRing::parse("k=c2hvcnQ=").unwrap_err().contains("at least 32"));
        assert!(KeyRing::parse("no-equals-sign").unwrap_err().contains("key_id=secret"));
        assert!(KeyRing::parse("k=***").unwrap_err().contains("base64"));
    }
}
