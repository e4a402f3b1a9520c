//! What development runs on when nothing is configured: the master key
//! generated once into `holdfast.key` (mode 0600) and the ingest key derived
//! from it.

use std::path::Path;

use anyhow::Context;
use base64::Engine;

use super::DEVELOPMENT_KEY_ID;
use crate::platform::crypto::MasterKey;
use crate::platform::signing::SigningKey;

/// The development ingest key, derived from the master key so every
/// installation has its own and `holdfast sign` can recompute it.
pub fn development_ingest_key(master_key: &MasterKey) -> SigningKey {
    SigningKey::new(
        DEVELOPMENT_KEY_ID,
        &master_key.derive("holdfast development ingest key v1"),
    )
}

/// Reads the development master key from `path`, creating it (mode 0600) if absent.
pub(super) fn development_master_key(path: &Path) -> anyhow::Result<(MasterKey, bool)> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = MasterKey::parse_base64(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Ok((key, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 32];
            ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
                .map_err(|_| anyhow::anyhow!("the system random number generator failed"))?;
            let text = base64::engine::general_purpose::STANDARD.encode(bytes);
            write_private_file(path, text.as_bytes()).with_context(|| format!("Failed to write {}", path.display()))?;
            Ok((MasterKey::from_bytes(bytes), true))
        }
        Err(e) => Err(e).with_context(|| format!("Failed to read {}", path.display())),
    }
}

pub(super) fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}
