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
    let ring = ring();
    let verified = ring
        .verify(Some("engine"), Some(&ts), Some(&sig), b"{}", now())
        .unwrap();
    assert_eq!(verified.id, "engine");
    assert_eq!(
        verified.scopes,
        Scopes::UNNAMED,
        "an entry without scopes grants alerts and holds"
    );
    assert!(!verified.scopes.allows(Scope::Holder));
    assert!(!verified.scopes.allows(Scope::Drill));
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
    assert!(
        KeyRing::parse(&format!("k:={SECRET}"))
            .unwrap_err()
            .contains("not a scope")
    );
    let error = KeyRing::parse(&format!("k:alerts+admin={SECRET}")).unwrap_err();
    assert!(error.contains("`admin` is not a scope"), "{error}");
}

#[test]
fn an_entry_grants_only_the_scopes_it_names() {
    let ring = KeyRing::parse(&format!(
        "engine:alerts={SECRET}, exchange:holds={SECRET}, both:holds+alerts={SECRET}"
    ))
    .unwrap();
    let scopes = |id: &str| {
        let key = SigningKey::parse(&format!("{id}={SECRET}")).unwrap();
        let [_, (_, ts), (_, sig)] = key.headers(now(), b"");
        ring.verify(Some(id), Some(&ts), Some(&sig), b"", now()).unwrap().scopes
    };
    assert!(scopes("engine").allows(Scope::Alerts));
    assert!(!scopes("engine").allows(Scope::Holds));
    assert!(scopes("exchange").allows(Scope::Holds));
    assert!(!scopes("exchange").allows(Scope::Alerts));
    assert_eq!(scopes("both"), Scopes::UNNAMED);
    assert!(ring.keys_without_named_scopes().is_empty());
    assert!(ring.keys_mixing(Scope::Holder).is_empty());
    assert!(ring.keys_mixing(Scope::Drill).is_empty());
    let unscoped = KeyRing::parse(&format!("b={SECRET},a={SECRET},c:holds={SECRET}")).unwrap();
    assert_eq!(unscoped.keys_without_named_scopes(), ["a", "b"]);
}

#[test]
fn a_holder_key_is_named_and_found_when_it_grants_more() {
    let ring = KeyRing::parse(&format!("app:holder={SECRET}, wide:holder+holds={SECRET}")).unwrap();
    let scopes = |id: &str| {
        let key = SigningKey::parse(&format!("{id}={SECRET}")).unwrap();
        let [_, (_, ts), (_, sig)] = key.headers(now(), b"");
        ring.verify(Some(id), Some(&ts), Some(&sig), b"", now()).unwrap().scopes
    };
    assert!(scopes("app").allows(Scope::Holder));
    assert!(!scopes("app").allows(Scope::Alerts) && !scopes("app").allows(Scope::Holds));
    assert_eq!(ring.keys_mixing(Scope::Holder), ["wide"]);
    let development = KeyRing::from_keys([SigningKey::parse(&format!("dev={SECRET}")).unwrap()]);
    let [_, (_, ts), (_, sig)] = SigningKey::parse(&format!("dev={SECRET}")).unwrap().headers(now(), b"");
    let verified = development
        .verify(Some("dev"), Some(&ts), Some(&sig), b"", now())
        .unwrap();
    assert!(Scope::ALL.into_iter().all(|scope| verified.scopes.allows(scope)));
}

#[test]
fn a_drill_key_is_found_for_signing_and_one_mixing_scopes_is_named() {
    let ring = KeyRing::parse(&format!(
        "engine:alerts={SECRET}, rehearse:drill={SECRET}, wide:alerts+drill={SECRET}"
    ))
    .unwrap();
    assert_eq!(ring.signing_key_with(Scope::Drill).unwrap().id(), "rehearse");
    assert_eq!(ring.keys_mixing(Scope::Drill), ["wide"]);
    assert!(
        KeyRing::parse(&format!("e:alerts={SECRET}"))
            .unwrap()
            .signing_key_with(Scope::Drill)
            .is_none()
    );
}

#[test]
fn extreme_timestamps_are_stale_and_never_panic() {
    let key = SigningKey::parse(&format!("engine={SECRET}")).unwrap();
    for timestamp in [i64::MIN, i64::MIN + 1, i64::MAX, -1, 0] {
        let signature = key.sign(timestamp, b"{}");
        assert_eq!(
            ring().verify(
                Some("engine"),
                Some(&timestamp.to_string()),
                Some(&signature),
                b"{}",
                now()
            ),
            Err(SignatureError::Stale),
            "timestamp {timestamp}"
        );
    }
    let far_past = Timestamp::from_unix_seconds(-62_000_000_000).unwrap();
    let signature = key.sign(i64::MAX, b"{}");
    assert_eq!(
        ring().verify(
            Some("engine"),
            Some(&i64::MAX.to_string()),
            Some(&signature),
            b"{}",
            far_past
        ),
        Err(SignatureError::Stale)
    );
}
