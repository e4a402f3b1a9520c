//! Agents and their sessions.

use super::{Database, WriteTx, execute, on_backend, parsed, select_locked};
use crate::domain::agent::{FAILURE_MEMORY, FailureHistory, Role};
use crate::domain::ids::{AgentId, SessionId};
use crate::domain::time::Timestamp;

/// An agent as stored. The password hash and sealed TOTP seed never leave
/// the service.
#[derive(Clone)]
pub struct AgentRecord {
    pub id: AgentId,
    pub username: String,
    pub role: Role,
    pub password_hash: String,
    /// Nonce and AES-256-GCM ciphertext of the TOTP seed.
    pub totp_secret: Vec<u8>,
    pub totp_key_id: String,
    pub last_totp_step: i64,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

impl std::fmt::Debug for AgentRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

super::from_row!(AgentRecord, |row| Ok(AgentRecord {
    id: row.try_get("id")?,
    username: row.try_get("username")?,
    role: parsed("role", row.try_get("role")?, Role::parse)?,
    password_hash: row.try_get("password_hash")?,
    totp_secret: row.try_get("totp_secret")?,
    totp_key_id: row.try_get("totp_key_id")?,
    last_totp_step: row.try_get("last_totp_step")?,
    created_at: row.try_get("created_at")?,
    disabled_at: row.try_get("disabled_at")?,
}));

#[derive(Clone, Debug)]
pub struct SessionRecord {
    pub id: SessionId,
    pub agent_id: AgentId,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    pub elevated_until: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

super::from_row!(SessionRecord, |row| Ok(SessionRecord {
    id: row.try_get("session_id")?,
    agent_id: row.try_get("agent_id")?,
    created_at: row.try_get("session_created_at")?,
    last_seen_at: row.try_get("last_seen_at")?,
    expires_at: row.try_get("expires_at")?,
    elevated_until: row.try_get("elevated_until")?,
    revoked_at: row.try_get("revoked_at")?,
}));

macro_rules! agent_columns {
    () => {
        "a.id, a.username, a.role, a.password_hash, a.totp_secret, a.totp_key_id, a.last_totp_step, a.created_at,
         a.disabled_at"
    };
}

impl WriteTx {
    pub async fn insert_agent(&mut self, agent: &AgentRecord) -> Result<(), sqlx::Error> {
        execute!(
            self.conn(),
            "INSERT INTO agents (id, username, role, password_hash, totp_secret, totp_key_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &agent.id,
            &agent.username,
            agent.role.as_str(),
            &agent.password_hash,
            &agent.totp_secret,
            &agent.totp_key_id,
            agent.created_at
        )?;
        Ok(())
    }

    /// Locks an agent's row, so failed attempts and TOTP steps are counted one at a time.
    pub async fn lock_agent(&mut self, id: &AgentId) -> Result<Option<AgentRecord>, sqlx::Error> {
        select_locked!(
            self,
            ["SELECT ", agent_columns!(), " FROM agents a WHERE a.id = $1"],
            "FOR UPDATE",
            |query| query.bind(id),
            fetch_optional
        )
    }

    /// Records a failed sign-in or step-up against `username` from `source`,
    /// and forgets that username's failures too old to matter.
    pub async fn record_sign_in_failure(
        &mut self,
        username: &str,
        source: &str,
        at: Timestamp,
    ) -> Result<(), sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query("DELETE FROM sign_in_failures WHERE username = $1 AND at < $2")
            .bind(username)
            .bind(at.minus(FAILURE_MEMORY))
            .execute(&mut *c)
            .await
            .map(drop))?;
        on_backend!(self.conn(), c => sqlx::query("INSERT INTO sign_in_failures (username, source, at) VALUES ($1, $2, $3)")
            .bind(username)
            .bind(source)
            .bind(at)
            .execute(c)
            .await
            .map(drop))
    }

    /// Forgets `source`'s failures against `username` (it has just succeeded).
    pub async fn clear_sign_in_failures(&mut self, username: &str, source: &str) -> Result<(), sqlx::Error> {
        on_backend!(self.conn(), c => sqlx::query("DELETE FROM sign_in_failures WHERE username = $1 AND source = $2")
            .bind(username)
            .bind(source)
            .execute(c)
            .await
            .map(drop))
    }

    /// Accepts TOTP time step `step` for the agent if it is newer than every
    /// step accepted before: a compare-and-set, so of two requests carrying
    /// the same code exactly one wins.
    pub async fn accept_totp_step(&mut self, agent_id: &AgentId, step: i64) -> Result<bool, sqlx::Error> {
        let updated = execute!(
            self.conn(),
            "UPDATE agents SET last_totp_step = $2 WHERE id = $1 AND last_totp_step < $2",
            agent_id,
            step
        )?;
        Ok(updated == 1)
    }

    pub async fn insert_session(&mut self, session: &SessionRecord, token_hash: &[u8]) -> Result<(), sqlx::Error> {
        execute!(
            self.conn(),
            "INSERT INTO sessions (id, token_hash, agent_id, created_at, last_seen_at, expires_at, elevated_until)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &session.id,
            token_hash,
            &session.agent_id,
            session.created_at,
            session.last_seen_at,
            session.expires_at,
            session.elevated_until
        )?;
        Ok(())
    }

    pub async fn elevate_session(&mut self, session_id: &SessionId, until: Timestamp) -> Result<(), sqlx::Error> {
        execute!(
            self.conn(),
            "UPDATE sessions SET elevated_until = $2 WHERE id = $1",
            session_id,
            until
        )?;
        Ok(())
    }

    pub async fn touch_session(&mut self, session_id: &SessionId, at: Timestamp) -> Result<(), sqlx::Error> {
        execute!(
            self.conn(),
            "UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2",
            session_id,
            at
        )?;
        Ok(())
    }

    /// Ends one session (signing out); false when it had already ended.
    pub async fn revoke_session(&mut self, session_id: &SessionId, at: Timestamp) -> Result<bool, sqlx::Error> {
        execute!(
            self.conn(),
            "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            session_id,
            at
        )
        .map(|rows| rows == 1)
    }

    pub async fn revoke_sessions_of(&mut self, agent_id: &AgentId, at: Timestamp) -> Result<u64, sqlx::Error> {
        execute!(
            self.conn(),
            "UPDATE sessions SET revoked_at = $2 WHERE agent_id = $1 AND revoked_at IS NULL",
            agent_id,
            at
        )
    }

    pub async fn disable_agent(&mut self, agent_id: &AgentId, at: Timestamp) -> Result<(), sqlx::Error> {
        execute!(
            self.conn(),
            "UPDATE agents SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL",
            agent_id,
            at
        )?;
        Ok(())
    }

    /// Every agent's sealed seed, for re-sealing under a new master key.
    pub async fn lock_all_agents(&mut self) -> Result<Vec<AgentRecord>, sqlx::Error> {
        select_locked!(
            self,
            ["SELECT ", agent_columns!(), " FROM agents a ORDER BY a.id"],
            "FOR UPDATE",
            |query| query,
            fetch_all
        )
    }

    pub async fn reseal_agent_secret(
        &mut self,
        agent_id: &AgentId,
        sealed: &[u8],
        key_id: &str,
    ) -> Result<(), sqlx::Error> {
        execute!(
            self.conn(),
            "UPDATE agents SET totp_secret = $2, totp_key_id = $3 WHERE id = $1",
            agent_id,
            sealed,
            key_id
        )?;
        Ok(())
    }
}

impl Database {
    pub async fn agent_by_username(&self, username: &str) -> Result<Option<AgentRecord>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(concat!("SELECT ", agent_columns!(), " FROM agents a WHERE a.username = $1"))
            .bind(username)
            .fetch_optional(pool)
            .await)
    }

    /// The failures against `username` remembered at `now`, from `source`
    /// and from everywhere.
    pub async fn sign_in_failures(
        &self,
        username: &str,
        source: &str,
        now: Timestamp,
    ) -> Result<FailureHistory, sqlx::Error> {
        let rows: Vec<(String, Timestamp)> = on_backend!(self.reader(), pool => sqlx::query_as(
            "SELECT source, at FROM sign_in_failures WHERE username = $1 AND at > $2 ORDER BY at",
        )
        .bind(username)
        .bind(now.minus(FAILURE_MEMORY))
        .fetch_all(pool)
        .await)?;
        Ok(FailureHistory {
            from_source: rows.iter().filter(|(s, _)| s == source).map(|(_, at)| *at).collect(),
            from_everywhere: rows.into_iter().map(|(_, at)| at).collect(),
        })
    }

    /// Forgets every failure older than `before` (the periodic sweep).
    pub async fn forget_sign_in_failures(&self, before: Timestamp) -> Result<(), sqlx::Error> {
        let mut tx = self.begin().await?;
        on_backend!(tx.conn(), c => sqlx::query("DELETE FROM sign_in_failures WHERE at < $1")
            .bind(before)
            .execute(c)
            .await
            .map(drop))?;
        tx.commit().await?.no_follow_up();
        Ok(())
    }

    pub async fn agents(&self) -> Result<Vec<AgentRecord>, sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query_as(concat!("SELECT ", agent_columns!(), " FROM agents a ORDER BY a.username"))
            .fetch_all(pool)
            .await)
    }

    /// The session a bearer token opens, with its agent.
    pub async fn session_by_token(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<(SessionRecord, AgentRecord)>, sqlx::Error> {
        let row = on_backend!(self.reader(), pool => {
            let row = sqlx::query(concat!(
                "SELECT s.id AS session_id, s.agent_id, s.created_at AS session_created_at, s.last_seen_at, s.expires_at,
                        s.elevated_until, s.revoked_at, ", agent_columns!(), "
                 FROM sessions s JOIN agents a ON a.id = s.agent_id WHERE s.token_hash = $1"
            ))
            .bind(token_hash)
            .fetch_optional(pool)
            .await?;
            row.map(|row| Ok::<_, sqlx::Error>((sqlx::FromRow::from_row(&row)?, sqlx::FromRow::from_row(&row)?)))
                .transpose()?
        });
        Ok(row)
    }
}
