//! Secrets at rest, random tokens and password hashes.
//!
//! - TOTP seeds are sealed with AES-256-GCM (ring) under a key derived from
//!   the master key. Each sealed value records the id of the master key that
//!   sealed it, so the master key can be rotated: `holdfast keys rotate`
//!   re-seals everything under a new key, and the previous key can stay
//!   configured (`HOLDFAST_MASTER_KEY_PREVIOUS`) while instances restart.
//!   The associated data binds a sealed value to its owner and purpose, so a
//!   seed copied onto another agent's row does not open.
//! - Bearer tokens and flow tokens are 256 random bits; only their SHA-256 is
//!   stored.
//! - Passwords are hashed with Argon2id (OWASP parameters), on a blocking
//!   thread: hashing takes tens of milliseconds on purpose.

use std::fmt;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::digest::{SHA256, digest};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// The 32-byte key that encrypts secrets at rest. `Debug` hides it.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl MasterKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    pub fn parse_base64(text: &str) -> Result<Self, String> {
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| "is not standard base64".to_owned())?,
        );
        let bytes: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| format!("decodes to {} bytes; 32 are required", bytes.len()))?;
        Ok(Self::from_bytes(bytes))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A key for `purpose`, derived so that no two uses share key material.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let key = hmac::Key::new(hmac::HMAC_SHA256, self.bytes());
        hmac::sign(&key, purpose.as_bytes())
            .as_ref()
            .try_into()
            .expect("HMAC-SHA256 is 32 bytes")
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("sealed with master key `{0}`, which is not configured")]
    UnknownKey(String),
    #[error("the sealed value is corrupt or belongs to another owner")]
    Corrupt,
    #[error("the system random number generator failed")]
    Random,
}

struct SealingKey {
    id: String,
    key: LessSafeKey,
}

impl SealingKey {
    fn new(master: &MasterKey) -> Self {
        let derived = Zeroizing::new(master.derive("holdfast secrets at rest v1"));
        let key =
            LessSafeKey::new(UnboundKey::new(&AES_256_GCM, derived.as_slice()).expect("32 bytes is an AES-256 key"));
        Self {
            id: key_id(master),
            key,
        }
    }
}

/// The public id of a master key: a digest that identifies it without revealing it.
pub fn key_id(master: &MasterKey) -> String {
    hex::encode(&master.derive("holdfast master key id v1")[..8])
}

/// Seals and opens secrets under the current master key (and previous ones).
pub struct SecretBox {
    current: SealingKey,
    previous: Vec<SealingKey>,
}

impl SecretBox {
    pub fn new(current: &MasterKey, previous: &[MasterKey]) -> Self {
        Self {
            current: SealingKey::new(current),
            previous: previous.iter().map(SealingKey::new).collect(),
        }
    }

    pub fn current_key_id(&self) -> &str {
        &self.current.id
    }

    /// Seals `plaintext` for `context` (owner and purpose); returns the sealed
    /// bytes (nonce first) and the id of the key used.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<(Vec<u8>, String), CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| CryptoError::Random)?;
        let mut buffer = plaintext.to_vec();
        self.current
            .key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| CryptoError::Corrupt)?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&buffer);
        Ok((sealed, self.current.id.clone()))
    }

    pub fn open(&self, sealed: &[u8], key_id: &str, context: &str) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.id == key_id)
            .ok_or_else(|| CryptoError::UnknownKey(key_id.to_owned()))?;
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::Corrupt);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Corrupt)?;
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        let plaintext = key
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buffer)
            .map_err(|_| CryptoError::Corrupt)?
            .to_vec();
        Ok(Zeroizing::new(plaintext))
    }
}

/// The keys the audit chain is sealed with: one derived from each configured
/// master key, identified by that master key's id. Never stored.
pub struct AuditKeys {
    current: (String, hmac::Key),
    previous: Vec<(String, hmac::Key)>,
}

impl AuditKeys {
    pub fn new(current: &MasterKey, previous: &[MasterKey]) -> Self {
        let derive = |master: &MasterKey| {
            let bytes = Zeroizing::new(master.derive("holdfast audit chain v2"));
            (key_id(master), hmac::Key::new(hmac::HMAC_SHA256, bytes.as_slice()))
        };
        Self {
            current: derive(current),
            previous: previous.iter().map(derive).collect(),
        }
    }

    /// The key new entries are sealed with, and its id.
    pub fn current(&self) -> (&str, &hmac::Key) {
        (&self.current.0, &self.current.1)
    }

    /// The key of master key `key_id`, if configured.
    pub fn find(&self, key_id: &str) -> Option<&hmac::Key> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|(id, _)| id == key_id)
            .map(|(_, key)| key)
    }
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut bytes = [0u8; N];
    SystemRandom::new().fill(&mut bytes).map_err(|_| CryptoError::Random)?;
    Ok(bytes)
}

/// A new bearer or flow token: 256 random bits, URL-safe base64.
pub fn new_token() -> Result<String, CryptoError> {
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// What is stored instead of a token.
pub fn token_hash(token: &str) -> Vec<u8> {
    digest(&SHA256, token.as_bytes()).as_ref().to_vec()
}

/// Hashes a password with Argon2id. Slow by design: call from a blocking thread.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt =
        SaltString::encode_b64(&random_bytes::<16>()?).map_err(|e| anyhow::anyhow!("Failed to encode a salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("Failed to hash a password: {e}"))
}

/// Checks a password against its hash. Slow by design: call from a blocking thread.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// A hash to verify against when the username is unknown, so that an unknown
/// username costs the same time as a wrong password.
pub fn decoy_password_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password for unknown usernames").expect("hashing works"))
}

/// A random password for a new agent: 24 characters from an unambiguous alphabet.
pub fn new_password() -> Result<String, CryptoError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes = random_bytes::<24>()?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master(byte: u8) -> MasterKey {
        MasterKey::from_bytes([byte; 32])
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_owner() {
        let secrets = SecretBox::new(&master(1), &[]);
        let (sealed, key_id) = secrets.seal(b"seed", "totp:alice").unwrap();
        assert_eq!(
            secrets.open(&sealed, &key_id, "totp:alice").unwrap().as_slice(),
            b"seed"
        );
        assert!(matches!(
            secrets.open(&sealed, &key_id, "totp:bob"),
            Err(CryptoError::Corrupt)
        ));
    }

    #[test]
    fn a_previous_master_key_still_opens_what_it_sealed() {
        let old = SecretBox::new(&master(1), &[]);
        let (sealed, key_id) = old.seal(b"seed", "ctx").unwrap();
        let rotated = SecretBox::new(&master(2), &[master(1)]);
        assert_eq!(rotated.open(&sealed, &key_id, "ctx").unwrap().as_slice(), b"seed");
        let forgotten = SecretBox::new(&master(2), &[]);
        assert!(matches!(
            forgotten.open(&sealed, &key_id, "ctx"),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn a_tampered_ciphertext_does_not_open() {
        let secrets = SecretBox::new(&master(1), &[]);
        let (mut sealed, key_id) = secrets.seal(b"seed", "ctx").unwrap();
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(secrets.open(&sealed, &key_id, "ctx").is_err());
    }

    #[test]
    fn tokens_are_long_random_and_hashed_to_32_bytes() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 32);
    }

    #[test]
    fn passwords_verify_against_their_hash_only() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "wrong horse"));
    }
}
