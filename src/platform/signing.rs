//! Signed requests (SPEC §2): HMAC-SHA256 over `"<timestamp>.<raw body>"`;
//! and the Ed25519 keys trusted to sign playbooks.
//!
//! The same scheme authenticates the risk engine to Holdfast and Holdfast to
//! the exchange. Verification is constant-time (`ring::hmac::verify`) and
//! rejects timestamps more than five minutes from the server clock, so a
//! captured request cannot be replayed later.

use std::collections::HashMap;
use std::fmt;

use base64::Engine;
use ring::hmac;
use ring::signature::{ED25519, UnparsedPublicKey};

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

    /// Whether `other` holds the same secret, whatever its id (compared by
    /// their tags over one fixed message; neither secret is exposed).
    pub fn same_secret(&self, other: &SigningKey) -> bool {
        let probe = b"holdfast: do two keys hold one secret?";
        hmac::sign(&self.key, probe).as_ref() == hmac::sign(&other.key, probe).as_ref()
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

/// What an inbound key may do (SPEC §1): post alerts, read holds, act for
/// a signed-in holder (the exchange's app locking an account, SPEC §13),
/// post drill alerts (SPEC §14).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Alerts,
    Holds,
    Holder,
    /// Alerts for `drill-…` accounts only, and nothing else in production.
    Drill,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Alerts, Scope::Holds, Scope::Holder, Scope::Drill];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Alerts => "alerts",
            Scope::Holds => "holds",
            Scope::Holder => "holder",
            Scope::Drill => "drill",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Scope::Alerts => 1,
            Scope::Holds => 2,
            Scope::Holder => 4,
            Scope::Drill => 8,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The set of scopes a key grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scopes(u8);

impl Scopes {
    /// Every scope: what the development key grants.
    pub const ALL: Scopes = Scopes(15);
    /// What an entry that names no scopes grants: `alerts` and `holds`.
    pub const UNNAMED: Scopes = Scopes(3);

    /// Parses `scope+scope`; each must be a known scope, and at least one is named.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut bits = 0;
        for name in text.split('+').map(str::trim) {
            let scope = Scope::ALL
                .into_iter()
                .find(|scope| scope.as_str() == name)
                .ok_or_else(|| format!("`{name}` is not a scope; the scopes are alerts, holds, holder and drill"))?;
            bits |= scope.bit();
        }
        Ok(Scopes(bits))
    }

    pub fn allows(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Whether the set grants `scope` and something else besides (production
    /// refuses a `holder` or `drill` key that does: SPEC §1).
    pub fn mixes(self, scope: Scope) -> bool {
        self.allows(scope) && self.0 != scope.bit()
    }
}

/// A key trusted for inbound requests, with what it may do.
#[derive(Clone, Debug)]
struct TrustedKey {
    key: SigningKey,
    scopes: Scopes,
    /// Whether the entry named its scopes (production requires it).
    scopes_named: bool,
}

/// The key that signed a request, once its signature checked out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedKey<'a> {
    pub id: &'a str,
    pub scopes: Scopes,
}

/// The keys trusted to sign inbound requests.
#[derive(Clone, Debug, Default)]
pub struct KeyRing {
    keys: HashMap<String, TrustedKey>,
}

impl KeyRing {
    /// Parses a comma-separated list of `key_id=secret` or
    /// `key_id:scope+scope=secret`; an entry without scopes grants `alerts`
    /// and `holds`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys = HashMap::new();
        for entry in text.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
            let (name, secret) = entry
                .split_once('=')
                .ok_or_else(|| "expected key_id=secret or key_id:scope+scope=secret".to_owned())?;
            let (id, scopes) = match name.split_once(':') {
                Some((id, scopes)) => {
                    let scopes = Scopes::parse(scopes).map_err(|e| format!("key `{}`: {e}", id.trim()))?;
                    (id, Some(scopes))
                }
                None => (name, None),
            };
            let key = SigningKey::parse(&format!("{id}={secret}"))?;
            let trusted = TrustedKey {
                key,
                scopes: scopes.unwrap_or(Scopes::UNNAMED),
                scopes_named: scopes.is_some(),
            };
            if keys.insert(trusted.key.id.clone(), trusted).is_some() {
                return Err("a key id appears twice".into());
            }
        }
        Ok(Self { keys })
    }

    /// A ring of keys that may do everything (the development key).
    pub fn from_keys(keys: impl IntoIterator<Item = SigningKey>) -> Self {
        Self {
            keys: keys
                .into_iter()
                .map(|key| {
                    let trusted = TrustedKey {
                        key,
                        scopes: Scopes::ALL,
                        scopes_named: false,
                    };
                    (trusted.key.id.clone(), trusted)
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The ids of keys whose entry did not name its scopes, sorted.
    pub fn keys_without_named_scopes(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .keys
            .values()
            .filter(|trusted| !trusted.scopes_named)
            .map(|trusted| trusted.key.id.as_str())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The ids of keys that grant `scope` together with another scope, sorted.
    pub fn keys_mixing(&self, scope: Scope) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .keys
            .values()
            .filter(|trusted| trusted.scopes_named && trusted.scopes.mixes(scope))
            .map(|trusted| trusted.key.id.as_str())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// A key granting `scope`, to sign with (`holdfast drill run`): one
    /// granting that scope alone first, then the first by id.
    pub fn signing_key_with(&self, scope: Scope) -> Option<&SigningKey> {
        let mut keys: Vec<&TrustedKey> = self.keys.values().filter(|t| t.scopes.allows(scope)).collect();
        keys.sort_by(|a, b| (a.scopes.mixes(scope), &a.key.id).cmp(&(b.scopes.mixes(scope), &b.key.id)));
        keys.first().map(|trusted| &trusted.key)
    }

    /// Checks a request's signature headers against its raw body; returns the
    /// key that signed it and what that key may do.
    pub fn verify(
        &self,
        key_id: Option<&str>,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: Timestamp,
    ) -> Result<VerifiedKey<'_>, SignatureError> {
        let key_id = key_id.ok_or(SignatureError::Missing("X-Holdfast-Key-Id"))?;
        let timestamp = timestamp.ok_or(SignatureError::Missing("X-Holdfast-Timestamp"))?;
        let signature = signature.ok_or(SignatureError::Missing("X-Holdfast-Signature"))?;
        let trusted = self.keys.get(key_id).ok_or(SignatureError::UnknownKey)?;
        let timestamp = parse_unix_seconds(timestamp).ok_or(SignatureError::MalformedTimestamp)?;
        // `abs_diff` cannot overflow, whatever the two values: a timestamp
        // near i64::MIN or i64::MAX is stale, never a panic.
        if now.unix_seconds().abs_diff(timestamp) > MAX_CLOCK_SKEW_SECONDS.unsigned_abs() {
            return Err(SignatureError::Stale);
        }
        let tag = signature
            .trim()
            .strip_prefix("v1=")
            .and_then(|hex_tag| hex::decode(hex_tag).ok())
            .ok_or(SignatureError::BadSignature)?;
        hmac::verify(&trusted.key.key, &signed_bytes(timestamp, body), &tag)
            .map_err(|_| SignatureError::BadSignature)?;
        Ok(VerifiedKey {
            id: &trusted.key.id,
            scopes: trusted.scopes,
        })
    }
}

/// The Ed25519 public keys trusted to sign playbooks, by key id.
#[derive(Clone, Debug, Default)]
pub struct PlaybookKeys(HashMap<String, Vec<u8>>);

impl PlaybookKeys {
    /// Parses `key_id=base64publickey,…`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys = HashMap::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, key) = entry.split_once('=').ok_or("expected key_id=base64publickey")?;
            let key = base64::engine::general_purpose::STANDARD
                .decode(key.trim())
                .map_err(|_| format!("the key `{id}` is not standard base64"))?;
            if key.len() != 32 {
                return Err(format!(
                    "the key `{id}` is {} bytes; an Ed25519 public key is 32",
                    key.len()
                ));
            }
            keys.insert(id.trim().to_owned(), key);
        }
        Ok(Self(keys))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks `<file>.sig` (`ed25519 <key id> <base64 signature>`) over `bytes`;
    /// returns the signing key's id.
    pub fn check(&self, bytes: &[u8], signature: Option<&str>) -> Result<String, String> {
        let signature = signature.ok_or("unsigned: no .sig file, and playbook signing keys are configured")?;
        let mut parts = signature.split_whitespace();
        let (Some("ed25519"), Some(key_id), Some(encoded), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("the .sig file is not `ed25519 <key id> <base64 signature>`".into());
        };
        let key = self
            .0
            .get(key_id)
            .ok_or_else(|| format!("signed by `{key_id}`, which is not a trusted key"))?;
        let signature = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| "the signature is not base64".to_owned())?;
        UnparsedPublicKey::new(&ED25519, key)
            .verify(bytes, &signature)
            .map_err(|_| format!("the signature by `{key_id}` does not match the file (tampered or re-edited)"))?;
        Ok(key_id.to_owned())
    }
}

#[cfg(test)]
mod tests;
