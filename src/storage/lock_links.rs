//! Lock links (a report of theft without signing in, SPEC §13) and the
//! exchange app's lock requests, each answered once.

use super::{Database, WriteTx, on_backend, select_locked};
use crate::domain::ids::AccountId;
use crate::domain::time::Timestamp;

/// A live lock link.
#[derive(Clone, Debug)]
pub struct LockLinkRow {
    pub token_hash: Vec<u8>,
    pub account_id: AccountId,
    pub sealed: Vec<u8>,
    pub key_id: String,
    pub expires_at: Timestamp,
}

super::from_row!(LockLinkRow, |row| Ok(LockLinkRow {
    token_hash: row.try_get("token_hash")?,
    account_id: row.try_get("account_id")?,
    sealed: row.try_get("sealed")?,
    key_id: row.try_get("key_id")?,
    expires_at: row.try_get("expires_at")?,
}));

impl WriteTx {
    /// The account's live lock link, locked.
    pub async fn lock_live_lock_link(
        &mut self,
        account_id: &AccountId,
        now: Timestamp,
    ) -> Result<Option<LockLinkRow>, sqlx::Error> {
        select_locked!(
            self,
            [
                "SELECT token_hash, account_id, sealed, key_id, expires_at FROM lock_links
                 WHERE account_id = $1 AND used_at IS NULL AND expires_at > $2
                 ORDER BY created_at DESC LIMIT 1"
            ],
            "FOR UPDATE",
            |q| q.bind(account_id).bind(now),
            fetch_optional
        )
    }

    pub async fn insert_lock_link(
        &mut self,
        token_hash: &[u8],
        account_id: &AccountId,
        sealed: &[u8],
        key_id: &str,
        at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query(
            "INSERT INTO lock_links (token_hash, account_id, sealed, key_id, created_at, expires_at, sent_at)
             VALUES ($1, $2, $3, $4, $5, $6, $5)",
        )
        .bind(token_hash)
        .bind(account_id)
        .bind(sealed)
        .bind(key_id)
        .bind(at)
        .bind(expires_at)
        .execute(c)
        .await
        .map(drop))
    }

    /// Uses up a live lock link; returns its account, or `None` when the
    /// link is unknown, used or expired.
    pub async fn use_lock_link(&mut self, token_hash: &[u8], now: Timestamp) -> Result<Option<AccountId>, sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query_scalar(
            "UPDATE lock_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
             RETURNING account_id",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(c)
        .await)
    }

    /// The first answer to a lock request, sealed, and the account it named.
    pub async fn lock_request(
        &mut self,
        request_id: &str,
    ) -> Result<Option<(AccountId, Vec<u8>, String)>, sqlx::Error> {
        select_locked!(
            self,
            ["SELECT account_id, answer, key_id FROM lock_requests WHERE request_id = $1"],
            "FOR UPDATE",
            |q| q.bind(request_id),
            fetch_optional
        )
    }

    pub async fn insert_lock_request(
        &mut self,
        request_id: &str,
        account_id: &AccountId,
        sealed: &[u8],
        key_id: &str,
        at: Timestamp,
    ) -> Result<(), sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query(
            "INSERT INTO lock_requests (request_id, account_id, answer, key_id, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(request_id)
        .bind(account_id)
        .bind(sealed)
        .bind(key_id)
        .bind(at)
        .execute(c)
        .await
        .map(drop))
    }
}

impl Database {
    /// The account a live lock link would freeze.
    pub async fn lock_link_account(&self, token_hash: &[u8], now: Timestamp) -> Result<Option<AccountId>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_scalar(
            "SELECT account_id FROM lock_links WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(pool)
        .await)
    }
}
