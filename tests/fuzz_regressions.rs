//! Replays the fuzz seeds and every input that once broke a property through
//! the same checks the fuzz targets run (`fuzz/src/`), so a fixed crash stays
//! fixed without cargo-fuzz or libFuzzer.
//!
//! Seeds are the files named `seed-*` in `fuzz/corpus/<target>/` (the rest of
//! a corpus is what libFuzzer grew locally and is not kept); crashing inputs
//! are every file in `fuzz/regressions/<target>/`.

#[path = "../fuzz/src/lib.rs"]
mod properties;

use std::path::{Path, PathBuf};

/// The kept inputs of one fuzz target: its seeds, then its regressions.
fn inputs_of(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let files_in = |dir: PathBuf, keep: fn(&str) -> bool| -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .map(|entry| entry.expect("a directory entry reads").path())
            .filter(|path| path.is_file() && path.file_name().and_then(|n| n.to_str()).is_some_and(keep))
            .collect();
        files.sort();
        files
    };
    let mut inputs = files_in(fuzz.join("corpus").join(target), |name| name.starts_with("seed-"));
    assert!(!inputs.is_empty(), "fuzz/corpus/{target}/ has no seed-* file");
    inputs.extend(files_in(fuzz.join("regressions").join(target), |name| {
        !name.starts_with('.')
    }));
    inputs
}

/// Runs every kept input of `target` through `check`, naming the file that fails.
fn replay(target: &str, check: fn(&[u8])) {
    for path in inputs_of(target) {
        let data = std::fs::read(&path).expect("a kept fuzz input reads");
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(
            outcome.is_ok(),
            "{} breaks a property (see the panic above)",
            path.display()
        );
    }
}

#[test]
fn every_kept_alert_body_keeps_the_alert_parser_properties() {
    replay("alert", properties::alert::check);
}

#[test]
fn every_kept_signed_request_keeps_the_signature_properties() {
    replay("signature", properties::signature::check);
}

#[test]
fn every_kept_playbook_file_keeps_the_playbook_verifier_properties() {
    replay("playbook", properties::playbook::check);
}

#[test]
fn every_kept_rules_file_keeps_the_priority_rules_properties() {
    replay("priority", properties::priority::check);
}
