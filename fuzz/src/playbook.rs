//! Playbook files: `playbook::verify` on the text and `playbooks::check_file`
//! on the bytes, without signing keys and with one trusted key.
//!
//! Input layout: the file's bytes up to the first NUL byte (TOML allows none);
//! after it, when there is one, the text of the file's `.sig`. The file is
//! named after the `id` it declares, so a valid playbook reaches the checks of
//! a verified one.
//!
//! Properties: a verified playbook keeps every rule the verifier promises
//! (identity and approval before any lift, MFA on sensitive steps, automatic
//! steps only for containment, unique step names, id = file name, a cool-off
//! ends after it starts) and its steps' stored form round-trips; `check_file` agrees with `verify`, reports
//! every reason under the file's name and digests the exact bytes; the trusted
//! key's signature of these bytes is accepted and of no neighbouring bytes;
//! and a `.sig` that is accepted is the key's own signature of these bytes.

use std::collections::HashSet;
use std::time::Duration;

use base64::Engine;
use holdfast::domain::playbook::{self, Action, Playbook, PlaybookKind, Step};
use holdfast::domain::time::Timestamp;
use holdfast::platform::signing::PlaybookKeys;
use holdfast::playbooks::{check_file, sign};

/// A key pair made for fuzzing only; it signs nothing else.
const KEY_ID: &str = "security-team";
const PRIVATE_KEY: &str =
    "MFECAQEwBQYDK2VwBCIEIAcFXVj2G20jRwzjVOto8xv5YmaAqcIWxgiYO8URbo01gSEAtghETDVbh6S815v12zGp2uiDRPCxzYeVZ0dvxZBDg5c=";
const PUBLIC_KEY: &str = "tghETDVbh6S815v12zGp2uiDRPCxzYeVZ0dvxZBDg5c=";

pub fn check(data: &[u8]) {
    let (bytes, signature) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (
            &data[..nul],
            Some(String::from_utf8_lossy(&data[nul + 1..]).into_owned()),
        ),
        None => (data, None),
    };
    let no_keys = PlaybookKeys::default();
    let stem = check_file("fuzzed.toml", bytes, None, &no_keys)
        .id
        .unwrap_or_else(|| "fuzzed".to_owned());
    let file = format!("{stem}.toml");
    let text = std::str::from_utf8(bytes).ok();

    let verdict = text.map(|text| playbook::verify(&stem, text));
    if let Some(text) = text {
        assert_eq!(
            verdict,
            Some(playbook::verify(&stem, text)),
            "verifying the same text twice gave two verdicts"
        );
    }
    match &verdict {
        Some(Ok(playbook)) => check_verified(&stem, text.unwrap_or_default(), playbook),
        Some(Err(problems)) => assert!(!problems.is_empty(), "a refused playbook names no problem"),
        None => {}
    }
    let verifies = matches!(verdict, Some(Ok(_)));

    let unsigned = check_file(&file, bytes, signature.as_deref(), &no_keys);
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    assert_eq!(
        unsigned.digest,
        hex::encode(digest.as_ref()),
        "the digest is not of the exact bytes"
    );
    assert_eq!(unsigned.verified(), verifies, "check_file and verify disagree");
    assert_eq!(unsigned.signed_by, None, "signed by a key when none is trusted");
    assert_eq!(unsigned.reasons.is_empty(), unsigned.verified());
    for reason in &unsigned.reasons {
        assert!(
            reason.starts_with(&format!("{file}: ")),
            "a reason without the file's name: {reason}"
        );
    }
    if let (Some(Ok(playbook)), Some(loaded)) = (&verdict, &unsigned.playbook) {
        assert_eq!(loaded.as_ref(), playbook);
        assert_eq!(unsigned.id.as_ref(), Some(&playbook.id));
        assert_eq!(unsigned.version, Some(playbook.version));
        assert_eq!(unsigned.title.as_ref(), Some(&playbook.title));
    }

    let keys = PlaybookKeys::parse(&format!("{KEY_ID}={PUBLIC_KEY}")).expect("the fuzzing key parses");
    let good = sign(PRIVATE_KEY, KEY_ID, bytes).expect("the fuzzing key signs");
    let signed = check_file(&file, bytes, Some(&good), &keys);
    assert_eq!(
        signed.signed_by.as_deref(),
        Some(KEY_ID),
        "the trusted key's signature was refused"
    );
    assert_eq!(
        signed.verified(),
        verifies,
        "a signed file's verdict differs from its text's"
    );
    for other in super::neighbours(bytes) {
        let tampered = check_file(&file, &other, Some(&good), &keys);
        assert!(
            !tampered.verified() && tampered.signed_by.is_none(),
            "a signature was accepted for different bytes"
        );
    }

    let Some(signature) = signature else {
        return;
    };
    let fuzzed = check_file(&file, bytes, Some(&signature), &keys);
    if fuzzed.signed_by.is_some() {
        let decode = |sig: &str| {
            sig.split_whitespace()
                .nth(2)
                .and_then(|encoded| base64::engine::general_purpose::STANDARD.decode(encoded).ok())
        };
        assert_eq!(
            decode(&signature),
            decode(&good),
            "accepted a .sig that is not the trusted key's signature of these bytes"
        );
    }
}

fn check_verified(stem: &str, text: &str, playbook: &Playbook) {
    assert_eq!(playbook.id, stem, "verified under another file name");
    assert!(
        !playbook.id.is_empty()
            && playbook.id.len() <= 64
            && playbook
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
        "verified with the id {:?}",
        playbook.id
    );
    assert!(
        playbook::verify(&format!("{stem}-copy"), text).is_err(),
        "verified under a file name that is not its id"
    );
    assert!(playbook.version >= 1);
    assert!(!playbook.title.trim().is_empty());
    assert!(!playbook.applies_to.is_empty());
    assert!(!playbook.steps.is_empty());

    let mut names = HashSet::new();
    for (index, step) in playbook.steps.iter().enumerate() {
        assert!(names.insert(&step.name), "two steps are named {:?}", step.name);
        let earlier = &playbook.steps[..index];
        if matches!(step.action, Action::LiftHold { .. }) {
            assert!(
                earlier
                    .iter()
                    .any(|s| matches!(s.action, Action::VerifyIdentity { .. })),
                "a hold.lift without an identity.verify before it"
            );
            assert!(
                earlier
                    .iter()
                    .any(|s| matches!(s.action, Action::RequireApproval { .. })),
                "a hold.lift without an approval.require before it"
            );
            assert_ne!(
                playbook.kind,
                PlaybookKind::Containment,
                "a containment playbook lifts a hold"
            );
        }
        if step.action.is_sensitive() {
            assert!(step.mfa, "the sensitive step {:?} does not need MFA", step.name);
        }
        if let Action::PlaceHold {
            cool_off_seconds: Some(seconds),
            ..
        } = step.action
        {
            let now = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").expect("a valid instant");
            assert!(
                now.plus(Duration::from_secs(seconds)) > now,
                "a cool-off of {seconds} s would end before it starts"
            );
        }
        if step.automatic {
            assert!(step.action.is_containment() && !step.mfa && playbook.kind == PlaybookKind::Containment);
        }
        let stored = serde_json::to_string(step).expect("a step serialises");
        let back: Step = serde_json::from_str(&stored).expect("a step's stored form deserialises");
        assert_eq!(&back, step, "a step's stored form does not round-trip");
    }
    if playbook.kind == PlaybookKind::Containment {
        assert!(
            playbook
                .steps
                .iter()
                .any(|s| matches!(s.action, Action::PlaceHold { .. })),
            "a containment playbook places no hold"
        );
    }
}
