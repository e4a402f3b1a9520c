//! The signature headers: `KeyRing::verify` with arbitrary key id, timestamp
//! and signature header values and body, against a fixed key ring and clock.
//!
//! Input layout: the first byte says which headers are present (bit 0 the key
//! id, bit 1 the timestamp, bit 2 the signature) and, in its upper five bits,
//! how far from the clock a correct signature is made (see [`signed_at`]).
//! Then the key id, the timestamp and the signature, each ending at the first
//! `\n`; the rest is the body.
//!
//! Properties: an accepted request names a key of the ring, carries a
//! timestamp written exactly as it was signed and within 300 s of the clock,
//! and a signature equal to that key's HMAC of the timestamp and this body;
//! no neighbouring body is accepted with the same headers. And for any body, a
//! correct signature by either key is accepted inside the window, refused as
//! stale outside it, and refused for any other body, timestamp or key id.

use holdfast::domain::time::Timestamp;
use holdfast::platform::signing::{KeyRing, MAX_CLOCK_SKEW_SECONDS, SignatureError, SigningKey};

/// The fixed clock: 2026-11-18T22:13:20Z.
pub const NOW: i64 = 1_795_000_000;

/// Two keys with secrets made for fuzzing only.
const KEYS: [&str; 2] = [
    "engine=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    "exchange=YW5vdGhlci1zZWNyZXQtZm9yLWZ1enppbmctb25seSE=",
];

pub fn check(data: &[u8]) {
    let Some((&layout, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.splitn(4, |&b| b == b'\n');
    let mut next = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let (key_id, timestamp, signature) = (next(), next(), next());
    let body = parts.next().unwrap_or_default();

    let ring = KeyRing::parse(&KEYS.join(",")).expect("the fuzzing key ring parses");
    let keys = KEYS.map(|text| SigningKey::parse(text).expect("a fuzzing key parses"));
    let now = Timestamp::from_unix_seconds(NOW).expect("the fixed clock is a valid instant");
    let window = MAX_CLOCK_SKEW_SECONDS.unsigned_abs();
    let present = |bit: u8, value: &str| (layout & bit != 0).then(|| value.to_owned());
    let (key_header, timestamp_header, signature_header) =
        (present(1, &key_id), present(2, &timestamp), present(4, &signature));

    let verdict = ring.verify(
        key_header.as_deref(),
        timestamp_header.as_deref(),
        signature_header.as_deref(),
        body,
        now,
    );
    if let Ok(verified) = verdict.as_ref().map(|key| key.id) {
        let id = verified;
        assert_eq!(id, key_id, "accepted under a key id other than the one sent");
        let key = keys
            .iter()
            .find(|k| k.id() == id)
            .expect("accepted by a key outside the ring");
        let signed: i64 = timestamp
            .trim()
            .parse()
            .expect("accepted a timestamp that is not a number");
        assert_eq!(
            signed.to_string(),
            timestamp.trim(),
            "accepted a timestamp not written as it was signed"
        );
        assert!(
            NOW.abs_diff(signed) <= window,
            "accepted a timestamp {signed} outside the window"
        );
        assert!(
            signature.trim().eq_ignore_ascii_case(&key.sign(signed, body)),
            "accepted a signature that is not the key's HMAC of this timestamp and body"
        );
        for other in super::neighbours(body) {
            assert_eq!(
                ring.verify(Some(id), Some(&timestamp), Some(&signature), &other, now)
                    .map(|verified| verified.id),
                Err(SignatureError::BadSignature),
                "the same headers were accepted for a different body"
            );
        }
    } else if key_header.is_none() {
        assert_eq!(
            verdict.map(|verified| verified.id),
            Err(SignatureError::Missing("X-Holdfast-Key-Id"))
        );
    }

    let at = signed_at(layout, &timestamp);
    let header = at.to_string();
    for (index, key) in keys.iter().enumerate() {
        let good = key.sign(at, body);
        let verdict = ring
            .verify(Some(key.id()), Some(&header), Some(&good), body, now)
            .map(|verified| verified.id);
        if NOW.abs_diff(at) <= window {
            assert_eq!(verdict, Ok(key.id()), "a correct signature made at {at} was refused");
        } else {
            assert_eq!(
                verdict,
                Err(SignatureError::Stale),
                "a signature made at {at} was not stale"
            );
        }
        for other in super::neighbours(body) {
            assert!(
                ring.verify(Some(key.id()), Some(&header), Some(&good), &other, now)
                    .is_err(),
                "a signature was accepted for a different body"
            );
        }
        let later = (at + 1).to_string();
        assert!(
            ring.verify(Some(key.id()), Some(&later), Some(&good), body, now)
                .is_err(),
            "a signature was accepted for a different timestamp"
        );
        let other_key = &keys[1 - index];
        assert!(
            ring.verify(Some(other_key.id()), Some(&header), Some(&good), body, now)
                .is_err(),
            "a signature by one key was accepted under another key id"
        );
    }
}

/// When the correct signatures of this input are made: the timestamp header
/// when it is a number near the clock, otherwise the clock moved by -320 to
/// +300 seconds in steps of 20 (the layout byte's upper bits), which puts both
/// edges of the window within reach.
fn signed_at(layout: u8, timestamp: &str) -> i64 {
    match timestamp.trim().parse::<i64>() {
        Ok(at) if NOW.abs_diff(at) <= 1_000 => at,
        _ => NOW + (i64::from(layout >> 3) - 16) * 20,
    }
}
