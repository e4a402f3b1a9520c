//! Opening a database: the connection pools of either backend (one writer and
//! read-only readers on SQLite), its migrations, and the connections reads
//! borrow.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::{Backend, Database, WriteTx, on_backend};
use crate::platform::config::DatabaseKind;
use crate::platform::crypto::AuditKeys;

#[derive(Clone)]
pub(super) enum Pools {
    Postgres(PgPool),
    Sqlite { writer: SqlitePool, reader: SqlitePool },
}

/// How long a request waits for a pooled connection before it fails.
pub(super) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

impl Database {
    /// Opens pools for `url` (`postgres://…` or `sqlite:…`); nothing is migrated here.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let pools = match DatabaseKind::of_url(url) {
            Some(DatabaseKind::Postgres) => {
                let options = PgConnectOptions::from_str(url).context("Failed to parse the PostgreSQL URL")?;
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options)
                    .await
                    .context("Failed to connect to PostgreSQL")?;
                Pools::Postgres(pool)
            }
            Some(DatabaseKind::Sqlite) => {
                let options = SqliteConnectOptions::from_str(url)
                    .context("Failed to parse the SQLite URL")?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // FULL: a commit is on disk before Holdfast answers the request.
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(ACQUIRE_TIMEOUT);
                let writer = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options.clone())
                    .await
                    .context("Failed to open the SQLite database")?;
                let reader = SqlitePoolOptions::new()
                    .max_connections(max_connections.clamp(1, 8))
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options.create_if_missing(false).read_only(true))
                    .await
                    .context("Failed to open the SQLite database for reading")?;
                Pools::Sqlite { writer, reader }
            }
            None => anyhow::bail!("the database URL must start with postgres://, postgresql:// or sqlite:"),
        };
        Ok(Self {
            pools,
            audit_keys: None,
            audit_chains: Arc::default(),
        })
    }

    /// The same database, sealing audit entries with `keys`.
    pub fn with_audit_keys(mut self, keys: AuditKeys) -> Self {
        self.audit_keys = Some(Arc::new(keys));
        self
    }

    /// The keys the audit chain is sealed with, if configured.
    pub fn audit_keys(&self) -> Option<&AuditKeys> {
        self.audit_keys.as_deref()
    }

    pub fn kind(&self) -> DatabaseKind {
        match self.pools {
            Pools::Postgres(_) => DatabaseKind::Postgres,
            Pools::Sqlite { .. } => DatabaseKind::Sqlite,
        }
    }

    /// Applies the migrations of this backend (`migrations/postgres` or `migrations/sqlite`).
    /// Safe to run from several instances at once: PostgreSQL takes an advisory lock.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match &self.pools {
            Pools::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await,
            Pools::Sqlite { writer, .. } => sqlx::migrate!("./migrations/sqlite").run(writer).await,
        }
        .context("Failed to apply database migrations")
    }

    /// The pool for reads outside a transaction.
    pub(crate) fn reader(&self) -> Backend<&PgPool, &SqlitePool> {
        match &self.pools {
            Pools::Postgres(pool) => Backend::Postgres(pool),
            Pools::Sqlite { reader, .. } => Backend::Sqlite(reader),
        }
    }

    /// A connection from the read pool, for several statements in a row.
    pub(crate) async fn reader_connection(&self) -> Result<ReaderConnection, sqlx::Error> {
        Ok(match &self.pools {
            Pools::Postgres(pool) => ReaderConnection(Backend::Postgres(pool.acquire().await?)),
            Pools::Sqlite { reader, .. } => ReaderConnection(Backend::Sqlite(reader.acquire().await?)),
        })
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<WriteTx, sqlx::Error> {
        let tx = match &self.pools {
            Pools::Postgres(pool) => Backend::Postgres(pool.begin().await?),
            // IMMEDIATE: take the write lock at the start, so a transaction
            // that reads before it writes waits for another writer (the busy
            // timeout) instead of failing when that writer commits first.
            Pools::Sqlite { writer, .. } => Backend::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?),
        };
        Ok(WriteTx {
            tx,
            audit_keys: self.audit_keys.clone(),
            audit: Vec::new(),
            audit_chains: self.audit_chains.clone(),
            effects: Vec::new(),
            trace: crate::platform::trace_context::current(),
        })
    }

    /// Answers when the database does (for `/readyz`).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_backend!(self.reader(), pool => sqlx::query("SELECT 1").execute(pool).await.map(drop))
    }

    pub async fn close(&self) {
        match &self.pools {
            Pools::Postgres(pool) => pool.close().await,
            Pools::Sqlite { writer, reader } => {
                reader.close().await;
                writer.close().await;
            }
        }
    }
}

/// A pooled read connection of either backend.
pub(crate) struct ReaderConnection(
    Backend<sqlx::pool::PoolConnection<sqlx::Postgres>, sqlx::pool::PoolConnection<sqlx::Sqlite>>,
);

impl ReaderConnection {
    pub(crate) fn as_conn(&mut self) -> Backend<&mut sqlx::PgConnection, &mut sqlx::SqliteConnection> {
        match &mut self.0 {
            Backend::Postgres(c) => Backend::Postgres(&mut **c),
            Backend::Sqlite(c) => Backend::Sqlite(&mut **c),
        }
    }
}
