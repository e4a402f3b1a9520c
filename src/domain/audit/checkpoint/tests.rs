use super::*;

fn key() -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, b"test audit chain key, 32 bytes!!")
}

fn checkpoint() -> Checkpoint {
    let at = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").unwrap();
    Checkpoint {
        number: 1,
        cut: at,
        created_at: at,
        sha256: hex::encode([3; 32]),
        chains: vec![CheckpointChain {
            chain: 0,
            from_seq: 0,
            from_mac: hex::encode(GENESIS),
            through_seq: 4,
            through_mac: hex::encode([4; 32]),
            entries: 4,
            marker_seq: 7,
        }],
        key_id: String::new(),
        mac: String::new(),
    }
    .seal("k", &key())
}

#[test]
fn a_sealed_checkpoint_verifies_and_any_change_breaks_it() {
    let sealed = checkpoint();
    assert!(sealed.is_sealed_by(&key()));
    let other = hmac::Key::new(hmac::HMAC_SHA256, b"another key, also 32 bytes long!");
    assert!(!sealed.is_sealed_by(&other));
    let mut changed = sealed.clone();
    changed.chains[0].through_seq = 3;
    assert!(!changed.is_sealed_by(&key()));
    let mut changed = sealed.clone();
    changed.sha256 = hex::encode([5; 32]);
    assert!(!changed.is_sealed_by(&key()));
    let mut changed = sealed;
    changed.mac = "zz".into();
    assert!(!changed.is_sealed_by(&key()));
}

#[test]
fn the_marker_entry_names_the_checkpoint_and_only_its_own_details_match() {
    let sealed = checkpoint();
    let archived = &sealed.chains[0];
    let marker = sealed.marker(archived);
    assert_eq!(marker_claims(&marker), Some(1));
    assert!(sealed.is_marker(archived, &marker));
    let mut other = sealed.clone();
    other.sha256 = hex::encode([6; 32]);
    assert!(!other.is_marker(&other.chains[0], &marker));
    assert_eq!(
        marker_claims(&AuditRecord::with_action_text(sealed.cut, "system", "x.y")),
        None
    );
}

#[test]
fn an_archive_line_round_trips_through_json() {
    let line = ArchiveLine::Checkpoint(checkpoint());
    let text = serde_json::to_string(&line).unwrap();
    assert!(text.starts_with(r#"{"type":"checkpoint","#), "{text}");
    assert_eq!(serde_json::from_str::<ArchiveLine>(&text).unwrap(), line);
}
