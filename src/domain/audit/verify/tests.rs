//! The chain walk's unit tests, one per way of tampering with a chain.

use super::super::{chain, legacy_entry_mac};
use super::*;
use crate::domain::time::Timestamp;

fn key() -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, b"test audit chain key, 32 bytes!!")
}

fn records(n: usize) -> Vec<AuditRecord> {
    let at = Timestamp::parse_rfc3339("2026-11-23T04:00:00Z").unwrap();
    (0..n)
        .map(|i| AuditRecord::with_action_text(at, "system", format!("test.event{i}")))
        .collect()
}

const CHAIN: Chain = Chain { number: 5, of: 16 };
const ZERO: Chain = Chain { number: 0, of: 16 };

fn stored_under(key: &hmac::Key, records: &[AuditRecord]) -> (Vec<StoredEntry>, i64, [u8; 32]) {
    let (links, head_seq, head_hash) = chain(key, CHAIN, 0, GENESIS, records);
    let entries = links
        .into_iter()
        .zip(records)
        .map(|((seq, prev, hash), record)| StoredEntry {
            chain: CHAIN.number,
            seq,
            record: record.clone(),
            prev_hash: prev.to_vec(),
            hash: hash.to_vec(),
            key_id: Some("k".into()),
        })
        .collect();
    (entries, head_seq, head_hash)
}

fn stored(records: &[AuditRecord]) -> (Vec<StoredEntry>, i64, [u8; 32]) {
    stored_under(&key(), records)
}

fn walk(
    mut verifier: ChainVerifier,
    entries: &[StoredEntry],
    head_seq: i64,
    head_hash: &[u8],
) -> Result<i64, ChainBreak> {
    let key = key();
    for entry in entries {
        verifier.check(entry, Some(&key))?;
    }
    verifier.finish(head_seq, head_hash)
}

fn verify_reaching(
    kept: Option<ChainHead>,
    entries: &[StoredEntry],
    head_seq: i64,
    head_hash: &[u8],
) -> Result<i64, ChainBreak> {
    walk(
        ChainVerifier::new(CHAIN, 0, kept).unwrap(),
        entries,
        head_seq,
        head_hash,
    )
}

fn verify(entries: &[StoredEntry], head_seq: i64, head_hash: &[u8]) -> Result<i64, ChainBreak> {
    verify_reaching(None, entries, head_seq, head_hash)
}

#[test]
fn an_intact_chain_verifies() {
    let (entries, seq, hash) = stored(&records(5));
    assert_eq!(verify(&entries, seq, &hash), Ok(5));
}

#[test]
fn a_changed_entry_is_named_with_its_chain() {
    let (mut entries, seq, hash) = stored(&records(5));
    entries[2].record.actor = "agent:mallory".into();
    let broken = verify(&entries, seq, &hash).unwrap_err();
    assert_eq!((broken.chain, broken.seq), (CHAIN.number, 3));
    assert!(broken.to_string().starts_with("audit chain 5, entry 3: "), "{broken}");
}

#[test]
fn an_entry_moved_to_another_chain_does_not_verify_there() {
    let (entries, _, _) = stored(&records(1));
    let next = Chain {
        number: CHAIN.number + 1,
        ..CHAIN
    };
    let mut verifier = ChainVerifier::new(next, 0, None).unwrap();
    let mut moved = StoredEntry {
        chain: next.number,
        ..entries.into_iter().next().unwrap()
    };
    assert!(
        verifier
            .check(&moved, Some(&key()))
            .unwrap_err()
            .problem
            .contains("MAC")
    );
    moved.chain = CHAIN.number;
    assert!(
        verifier
            .check(&moved, Some(&key()))
            .unwrap_err()
            .problem
            .contains("moved")
    );
}

#[test]
fn a_chain_rewritten_without_the_key_is_caught_at_the_first_changed_entry() {
    let mut all = records(5);
    all[2].actor = "agent:mallory".into();
    let forger = hmac::Key::new(hmac::HMAC_SHA256, b"whoever owns the database only..");
    let (entries, seq, hash) = stored_under(&forger, &all);
    assert_eq!(
        verify(&entries, seq, &hash).unwrap_err().seq,
        1,
        "no entry verifies under a guessed key"
    );
}

#[test]
fn a_removed_entry_is_named() {
    let (mut entries, seq, hash) = stored(&records(5));
    entries.remove(1);
    assert_eq!(verify(&entries, seq, &hash).unwrap_err().seq, 3);
}

#[test]
fn removing_the_last_entries_is_caught_by_the_head() {
    let (mut entries, seq, hash) = stored(&records(5));
    entries.truncate(3);
    assert_eq!(verify(&entries, seq, &hash).unwrap_err().seq, 4);
}

#[test]
fn a_cut_tail_with_a_rewound_head_is_caught_only_by_the_head_kept_outside() {
    let (mut entries, _, _) = stored(&records(5));
    let kept = ChainHead {
        chain: CHAIN.number,
        seq: 5,
        mac: entries[4].hash.clone().try_into().unwrap(),
    };
    entries.truncate(3);
    let (rewound_seq, rewound_hash) = (3, entries[2].hash.clone());
    assert_eq!(
        verify(&entries, rewound_seq, &rewound_hash),
        Ok(3),
        "consistent without the head kept outside"
    );
    let cut = verify_reaching(Some(kept), &entries, rewound_seq, &rewound_hash).unwrap_err();
    assert_eq!(cut.seq, 4);
    assert!(cut.problem.contains("kept outside"), "{cut}");
}

#[test]
fn heads_round_trip_and_a_wrong_one_is_named() {
    let (entries, seq, hash) = stored(&records(3));
    let kept = ChainHead {
        chain: CHAIN.number,
        seq: 2,
        mac: entries[1].hash.clone().try_into().unwrap(),
    };
    let heads = Heads(vec![
        ChainHead {
            chain: 0,
            seq: 0,
            mac: GENESIS,
        },
        kept,
    ]);
    assert_eq!(Heads::parse(&heads.to_string()), Some(heads.clone()));
    assert_eq!(heads.to_string().split(',').count(), 2);
    assert_eq!(Heads::parse("2:zz"), None);
    assert_eq!(Heads::parse("5:2:00"), None, "a MAC is 32 bytes");
    assert_eq!(
        Heads::parse(&format!("{kept},{kept}", kept = Heads(vec![kept]))),
        None,
        "each chain once"
    );
    assert_eq!(verify_reaching(Some(kept), &entries, seq, &hash), Ok(3));
    let wrong = ChainHead { mac: [7; 32], ..kept };
    assert_eq!(verify_reaching(Some(wrong), &entries, seq, &hash).unwrap_err().seq, 2);
}

#[test]
fn an_entry_appended_behind_the_heads_back_is_caught() {
    let all = records(6);
    let (entries, _, _) = stored(&all);
    let (_, seq, hash) = stored(&all[..5]);
    assert_eq!(verify(&entries, seq, &hash).unwrap_err().seq, 6);
}

#[test]
fn an_entry_without_a_key_id_or_with_an_unknown_key_is_refused() {
    let (mut entries, seq, hash) = stored(&records(2));
    entries[0].key_id = None;
    let mut verifier = ChainVerifier::new(CHAIN, 0, None).unwrap();
    let refused = verifier.check(&entries[0], None).unwrap_err();
    assert!(refused.problem.contains("no key id"), "{refused}");
    assert!(
        verify(&entries, seq, &hash).is_ok(),
        "the key, not the id, decides when it is configured"
    );
}

#[test]
fn a_renumbered_insertion_breaks_the_chain() {
    let (mut entries, seq, hash) = stored(&records(4));
    let forged = StoredEntry {
        chain: CHAIN.number,
        seq: 3,
        record: records(1).remove(0),
        prev_hash: entries[1].hash.clone(),
        hash: vec![0; 32],
        key_id: Some("k".into()),
    };
    for entry in &mut entries[2..] {
        entry.seq += 1;
    }
    entries.insert(2, forged);
    assert_eq!(verify(&entries, seq, &hash).unwrap_err().seq, 3);
}

#[test]
fn a_recorded_refusal_is_named_and_the_walk_goes_on_past_it() {
    let mut all = records(4);
    all[1] = AuditRecord::new(
        all[1].at,
        "system",
        crate::domain::audit::AuditAction::AuditEntryRefused,
    )
    .detail(serde_json::json!({"claimed_action": "hold.placed"}));
    let (entries, seq, hash) = stored(&all);
    let mut verifier = ChainVerifier::new(CHAIN, 0, None).unwrap();
    for entry in &entries {
        verifier.check(entry, Some(&key())).unwrap();
    }
    let refused = verifier.refused().cloned().unwrap();
    assert_eq!(refused.seq, 2);
    assert!(refused.problem.contains("hold.placed"), "{refused}");
    assert_eq!(verifier.finish(seq, &hash), Ok(4));
}

#[test]
fn legacy_entries_verify_in_chain_0_up_to_where_the_upgrade_found_it_and_nowhere_else() {
    let all = records(4);
    let mut prev = GENESIS;
    let mut entries = Vec::new();
    for (i, record) in all.iter().enumerate() {
        let seq = i as i64 + 1;
        let hash = match seq <= 2 {
            true => legacy_entry_mac(&key(), seq, record, &prev),
            false => entry_mac(&key(), ZERO, seq, record, &prev),
        };
        entries.push(StoredEntry {
            chain: 0,
            seq,
            record: record.clone(),
            prev_hash: prev.to_vec(),
            hash: hash.to_vec(),
            key_id: Some("k".into()),
        });
        prev = hash;
    }
    let verifier = ChainVerifier::new(ZERO, 2, None).unwrap();
    assert_eq!(walk(verifier, &entries, 4, &prev), Ok(4));

    // Moving the boundary either way breaks the entry it crosses: a new
    // entry cannot be passed off as a legacy one, nor the reverse.
    let raised = ChainVerifier::new(ZERO, 3, None).unwrap();
    assert_eq!(walk(raised, &entries, 4, &prev).unwrap_err().seq, 3);
    let lowered = ChainVerifier::new(ZERO, 1, None).unwrap();
    assert_eq!(walk(lowered, &entries, 4, &prev).unwrap_err().seq, 2);
    // A copy of the legacy entries is never accepted in another chain.
    assert!(ChainVerifier::new(CHAIN, 2, None).is_err());
}

#[test]
fn a_walk_resumed_after_a_checkpoint_counts_and_links_from_there() {
    let (entries, seq, hash) = stored(&records(5));
    let from = ChainHead {
        chain: CHAIN.number,
        seq: 2,
        mac: entries[1].hash.clone().try_into().unwrap(),
    };
    let resumed = || {
        ChainVerifier::new(CHAIN, 0, None)
            .unwrap()
            .starting_after(from)
            .unwrap()
    };
    assert_eq!(walk(resumed(), &entries[2..], seq, &hash), Ok(3));
    let cut = walk(resumed(), &entries[3..], seq, &hash).unwrap_err();
    assert_eq!(cut.seq, 4);
    assert!(cut.problem.contains("entries 3..3 are missing"), "{cut}");
    let elsewhere = ChainHead { mac: [8; 32], ..from };
    let unlinked = ChainVerifier::new(CHAIN, 0, None)
        .unwrap()
        .starting_after(elsewhere)
        .unwrap();
    assert_eq!(walk(unlinked, &entries[2..], seq, &hash).unwrap_err().seq, 3);
    let kept = ChainHead { mac: [9; 32], ..from };
    assert!(
        ChainVerifier::new(CHAIN, 0, Some(kept))
            .unwrap()
            .starting_after(from)
            .is_err()
    );
}
