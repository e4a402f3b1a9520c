//! Agents' TOTP codes (RFC 6238: SHA-1, 6 digits, 30-second steps, 160-bit
//! secrets), accepted with one step of drift either way.

use totp_rs::{Algorithm, Builder, Totp};

use crate::domain::time::Timestamp;

pub const ISSUER: &str = "Holdfast";
pub const SECRET_BYTES: usize = 20;
pub const STEP_SECONDS: u64 = 30;

fn totp(secret: &[u8], username: &str) -> Totp {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret.to_vec())
        .with_issuer(Some(ISSUER))
        .with_account_name(username.replace(':', "_"))
        .build()
        .expect("a 160-bit secret and standard parameters are valid")
}

/// The time step `code` belongs to, if it is valid at `now` (±1 step).
pub fn matching_step(secret: &[u8], code: &str, now: Timestamp) -> Option<i64> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds = u64::try_from(now.unix_seconds()).ok()?;
    totp(secret, "agent")
        .check(code, seconds)
        .and_then(|step| i64::try_from(step).ok())
}

/// The code for `now`, as an authenticator app shows it.
pub fn code_at(secret: &[u8], now: Timestamp) -> String {
    totp(secret, "agent")
        .generate(u64::try_from(now.unix_seconds()).unwrap_or(0))
        .to_string()
}

/// The base32 form authenticator apps take.
pub fn base32(secret: &[u8]) -> String {
    totp_rs::Secret::from(secret.to_vec()).to_base32()
}

pub fn otpauth_uri(secret: &[u8], username: &str) -> String {
    totp(secret, username).to_url().expect("a valid TOTP has a URI")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const SECRET: &[u8; 20] = b"12345678901234567890";

    #[test]
    fn the_rfc_6238_test_vector_matches() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); 6 digits: 287082.
        assert_eq!(code_at(SECRET, Timestamp::from_unix_seconds(59).unwrap()), "287082");
    }

    #[test]
    fn codes_are_accepted_one_step_either_side_and_not_further() {
        let now = Timestamp::from_unix_seconds(1_795_000_005).unwrap();
        let code = code_at(SECRET, now);
        let step = matching_step(SECRET, &code, now).unwrap();
        assert_eq!(
            matching_step(SECRET, &code, now.plus(Duration::from_secs(30))),
            Some(step)
        );
        assert_eq!(
            matching_step(SECRET, &code, now.minus(Duration::from_secs(30))),
            Some(step)
        );
        assert_eq!(matching_step(SECRET, &code, now.plus(Duration::from_secs(90))), None);
        assert_eq!(matching_step(SECRET, "12345", now), None);
        assert_eq!(matching_step(SECRET, "abcdef", now), None);
    }

    #[test]
    fn the_uri_names_the_issuer_and_standard_parameters() {
        let uri = otpauth_uri(SECRET, "alice");
        assert!(uri.starts_with("otpauth://totp/Holdfast:alice?"), "{uri}");
        assert!(uri.contains(&format!("secret={}", base32(SECRET))));
        assert!(uri.contains("issuer=Holdfast"));
    }
}
