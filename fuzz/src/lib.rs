//! What Holdfast's parsers of untrusted input must keep true, whatever bytes
//! they are given.
//!
//! Each module's `check` takes one input, feeds it to the parser as the
//! service does, and panics when a property fails; "did not panic" alone is
//! never the whole check. The fuzz targets in `fuzz_targets/` call them, and
//! the main crate's `tests/fuzz_regressions.rs` compiles this file as a module
//! and replays the kept seeds and every saved crashing input through them, so
//! a fixed crash stays fixed under `cargo nextest run`.
//!
//! For that reason only crates Holdfast itself depends on are used here.

pub mod alert;
pub mod playbook;
pub mod priority;
pub mod signature;

/// Bodies or files that differ from `bytes` in a small way: one byte more at
/// either end, one byte fewer, one bit flipped. A signature over `bytes` must
/// accept none of them.
fn neighbours(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut others = vec![[bytes, &b"\n"[..]].concat(), [&b" "[..], bytes].concat()];
    if let Some((_, rest)) = bytes.split_first() {
        others.push(rest.to_vec());
        let mut flipped = bytes.to_vec();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x01;
        others.push(flipped);
    }
    others
}
