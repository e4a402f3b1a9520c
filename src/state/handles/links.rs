//! Where links to Holdfast point, and the key case tokens are sealed with.

use crate::platform::crypto::SecretBox;

/// Where links to Holdfast point, and the key case tokens are sealed with.
pub struct Links<'a> {
    pub secrets: &'a SecretBox,
    pub public_url: &'a str,
}

impl Links<'_> {
    pub fn case_url(&self, token: &str) -> String {
        format!("{}/holder/cases/{token}", self.public_url)
    }

    pub fn not_me_url(&self, token: &str) -> String {
        format!("{}/not-me", self.case_url(token))
    }
}
