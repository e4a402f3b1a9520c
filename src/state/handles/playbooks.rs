//! Loading, signing and listing playbooks.
//!
//! Each `*.toml` file in the playbook directory is read once at start,
//! digested (SHA-256 of its exact bytes), verified (see
//! [`crate::domain::playbook::verify`]) and, when trusted keys are configured
//! (`HOLDFAST_PLAYBOOK_KEYS`), checked against its detached Ed25519 signature
//! `<file>.sig`. A playbook that fails is listed with its reasons and never
//! runs. Without a playbook directory, the playbooks shipped with Holdfast are
//! used (built into the binary).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use base64::Engine;
use ring::signature::{Ed25519KeyPair, KeyPair};

use crate::domain::alert::AlertKind;
use crate::domain::playbook::{self, Playbook, PlaybookKind};
use crate::platform::signing::PlaybookKeys;

/// The playbooks shipped in `playbooks/`, used when the directory is absent.
const BUILT_IN: [(&str, &str); 4] = [
    (
        "contain-large-withdrawal.toml",
        include_str!("../../../playbooks/contain-large-withdrawal.toml"),
    ),
    (
        "contain-suspicious-login.toml",
        include_str!("../../../playbooks/contain-suspicious-login.toml"),
    ),
    (
        "recover-account.toml",
        include_str!("../../../playbooks/recover-account.toml"),
    ),
    (
        "unfreeze-account.toml",
        include_str!("../../../playbooks/unfreeze-account.toml"),
    ),
];

/// One playbook file and its verdict.
#[derive(Clone, Debug)]
pub struct LoadedPlaybook {
    pub file: String,
    pub id: Option<String>,
    pub version: Option<u32>,
    pub title: Option<String>,
    /// SHA-256 of the file's exact bytes, lowercase hex.
    pub digest: String,
    pub signed_by: Option<String>,
    /// Present only when the playbook passed every check.
    pub playbook: Option<Arc<Playbook>>,
    pub reasons: Vec<String>,
}

impl LoadedPlaybook {
    pub fn verified(&self) -> bool {
        self.playbook.is_some()
    }
}

/// Every playbook found, verified or not.
#[derive(Clone, Debug, Default)]
pub struct Playbooks {
    entries: Vec<LoadedPlaybook>,
}

impl Playbooks {
    /// Loads `dir`, or the built-in playbooks when `dir` does not exist.
    pub fn load(dir: &Path, keys: &PlaybookKeys) -> anyhow::Result<Self> {
        if !dir.exists() {
            tracing::warn!(dir = %dir.display(), "no playbook directory: using the playbooks built into Holdfast");
            let files = BUILT_IN
                .iter()
                .map(|(name, text)| ((*name).to_owned(), text.as_bytes().to_vec(), None));
            return Ok(Self::from_files(files, keys));
        }
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir)
            .with_context(|| format!("Failed to read the playbook directory {}", dir.display()))?
        {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let bytes = std::fs::read(&path).with_context(|| format!("Failed to read {}", path.display()))?;
            let signature = std::fs::read_to_string(path.with_extension("toml.sig")).ok();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            files.push((name, bytes, signature));
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Self::from_files(files, keys))
    }

    fn from_files(files: impl IntoIterator<Item = (String, Vec<u8>, Option<String>)>, keys: &PlaybookKeys) -> Self {
        let mut entries: Vec<LoadedPlaybook> = Vec::new();
        for (file, bytes, signature) in files {
            let mut entry = check_file(&file, &bytes, signature.as_deref(), keys);
            if let Some(id) = &entry.id
                && entries.iter().any(|e| e.id.as_ref() == Some(id))
            {
                entry
                    .reasons
                    .push(format!("another playbook file already has the id `{id}`"));
                entry.playbook = None;
            }
            if entry.verified() {
                tracing::info!(file = %entry.file, digest = %entry.digest, "playbook verified");
            } else {
                tracing::error!(file = %entry.file, reasons = ?entry.reasons, "playbook failed verification and will not run");
            }
            entries.push(entry);
        }
        Self { entries }
    }

    pub fn entries(&self) -> &[LoadedPlaybook] {
        &self.entries
    }

    /// A verified playbook by id.
    pub fn runnable(&self, id: &str) -> Option<(&LoadedPlaybook, &Arc<Playbook>)> {
        self.entries
            .iter()
            .find(|e| e.id.as_deref() == Some(id))
            .and_then(|e| e.playbook.as_ref().map(|p| (e, p)))
    }

    /// The verified containment playbook for alerts of `kind` (the first by id).
    pub fn containment_for(&self, kind: AlertKind) -> Option<(&LoadedPlaybook, &Arc<Playbook>)> {
        self.entries
            .iter()
            .filter_map(|e| e.playbook.as_ref().map(|p| (e, p)))
            .filter(|(_, p)| p.kind == PlaybookKind::Containment && p.applies_to.contains(&kind))
            .min_by(|a, b| a.1.id.cmp(&b.1.id))
    }
}

/// Verifies one file's bytes (and signature when keys are configured).
pub fn check_file(file: &str, bytes: &[u8], signature: Option<&str>, keys: &PlaybookKeys) -> LoadedPlaybook {
    let digest = hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    let stem = file.strip_suffix(".toml").unwrap_or(file);
    let mut reasons = Vec::new();
    let text = std::str::from_utf8(bytes).unwrap_or_else(|_| {
        reasons.push("the file is not UTF-8".into());
        ""
    });
    let header: Option<toml::Table> = toml::from_str(text).ok();
    let field = |name: &str| header.as_ref().and_then(|t| t.get(name)).cloned();
    let id = field("id").and_then(|v| v.as_str().map(str::to_owned));
    let version = field("version")
        .and_then(|v| v.as_integer())
        .and_then(|v| u32::try_from(v).ok());
    let title = field("title").and_then(|v| v.as_str().map(str::to_owned));

    let signed_by = if keys.is_empty() {
        None
    } else {
        match keys.check(bytes, signature) {
            Ok(key_id) => Some(key_id),
            Err(reason) => {
                reasons.push(reason);
                None
            }
        }
    };
    let playbook = match playbook::verify(stem, text) {
        Ok(playbook) if reasons.is_empty() => Some(Arc::new(playbook)),
        Ok(_) => None,
        Err(problems) => {
            reasons.extend(problems);
            None
        }
    };
    let reasons = reasons.into_iter().map(|reason| format!("{file}: {reason}")).collect();
    LoadedPlaybook {
        file: file.to_owned(),
        id,
        version,
        title,
        digest,
        signed_by,
        playbook,
        reasons,
    }
}

/// A new signing key pair: the private key (PKCS#8, base64) for
/// `holdfast playbooks sign`, and the public key for `HOLDFAST_PLAYBOOK_KEYS`.
pub fn generate_key() -> anyhow::Result<(String, String)> {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
        .map_err(|_| anyhow::anyhow!("Failed to generate an Ed25519 key"))?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| anyhow::anyhow!("Failed to read the new key"))?;
    let engine = base64::engine::general_purpose::STANDARD;
    Ok((engine.encode(pkcs8.as_ref()), engine.encode(pair.public_key().as_ref())))
}

/// Signs a playbook file's exact bytes; returns the `.sig` file's contents.
pub fn sign(private_key: &str, key_id: &str, bytes: &[u8]) -> anyhow::Result<String> {
    let pkcs8 = base64::engine::general_purpose::STANDARD
        .decode(private_key.trim())
        .context("the private key is not base64")?;
    let pair = Ed25519KeyPair::from_pkcs8(&pkcs8)
        .map_err(|_| anyhow::anyhow!("the private key is not an Ed25519 PKCS#8 key"))?;
    let signature = pair.sign(bytes);
    Ok(format!(
        "ed25519 {key_id} {}\n",
        base64::engine::general_purpose::STANDARD.encode(signature.as_ref())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_for(public: &str) -> PlaybookKeys {
        PlaybookKeys::parse(&format!("security-team={public}")).unwrap()
    }

    #[test]
    fn every_shipped_playbook_verifies() {
        let playbooks = Playbooks::from_files(
            BUILT_IN
                .iter()
                .map(|(n, t)| ((*n).to_owned(), t.as_bytes().to_vec(), None)),
            &PlaybookKeys::default(),
        );
        for entry in playbooks.entries() {
            assert!(entry.verified(), "{}: {:?}", entry.file, entry.reasons);
        }
        assert!(playbooks.containment_for(AlertKind::SuspiciousLogin).is_some());
        assert!(playbooks.containment_for(AlertKind::LargeWithdrawal).is_some());
    }

    #[test]
    fn a_signed_playbook_verifies_and_a_tampered_one_does_not() {
        let (private, public) = generate_key().unwrap();
        let (name, text) = BUILT_IN[0];
        let signature = sign(&private, "security-team", text.as_bytes()).unwrap();
        let keys = keys_for(&public);

        let signed = check_file(name, text.as_bytes(), Some(&signature), &keys);
        assert!(signed.verified(), "{:?}", signed.reasons);
        assert_eq!(signed.signed_by.as_deref(), Some("security-team"));

        let tampered = text.replace("automatic = true", "automatic = false");
        let rejected = check_file(name, tampered.as_bytes(), Some(&signature), &keys);
        assert!(!rejected.verified());
        assert!(
            rejected.reasons[0].contains("does not match the file"),
            "{:?}",
            rejected.reasons
        );

        let unsigned = check_file(name, text.as_bytes(), None, &keys);
        assert!(unsigned.reasons[0].contains("unsigned"), "{:?}", unsigned.reasons);
    }

    #[test]
    fn a_signature_by_an_untrusted_key_is_refused() {
        let (private, _) = generate_key().unwrap();
        let (_, trusted) = generate_key().unwrap();
        let (name, text) = BUILT_IN[0];
        let signature = sign(&private, "someone-else", text.as_bytes()).unwrap();
        let entry = check_file(name, text.as_bytes(), Some(&signature), &keys_for(&trusted));
        assert!(entry.reasons[0].contains("not a trusted key"), "{:?}", entry.reasons);
    }

    #[test]
    fn the_digest_is_the_sha256_of_the_exact_bytes() {
        let entry = check_file("x.toml", b"abc", None, &PlaybookKeys::default());
        assert_eq!(
            entry.digest,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
