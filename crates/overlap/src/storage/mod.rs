//! The only module that knows SQL: one SQLite file holding the registry, dataset versions and every
//! recorded result.
//!
//! Entry points: [`Store::init`] (create or upgrade) and [`Store::open`] (existing databases only).
//! Migrations are numbered SQL files embedded at compile time and applied in order inside one
//! transaction; the schema version lives in `PRAGMA user_version`. Every public method that writes
//! does so in one transaction, so a failing command leaves the content unchanged. Returns `model`
//! types; never prints, never decides exit codes.

mod audits;
mod datasets;
mod registry;
mod reports;
mod results;
mod work_orders;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use thiserror::Error;

pub use audits::{
    AuditItemRecord, AuditSampleRecord, EmitFailure, NewAuditItem, NewAuditSample, NewVerdict,
    VerdictRecord,
};
pub use datasets::{
    DatasetSummary, Finished, ImportFailure, ImportOutcome, NewVersion, RowSink, VersionShape,
};
pub use registry::{ChainBreak, RegistryEvent, StateBreak};
pub use reports::{NewReport, ReportRecord};
pub use results::{BrokenResult, EvaluationRecord, NewEvaluation, NewPlan, ResultsCheck};
pub use work_orders::{NewWorkOrder, WorkOrderItem, WorkOrderLine, WorkOrderRecord};

/// Numbered migrations, in order. A landed entry is never edited; add a new one instead.
/// `tests/it/schema.rs` checks this list against the `migrations/` folder.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("01-init", include_str!("../../migrations/01-init/up.sql")),
    (
        "02-results",
        include_str!("../../migrations/02-results/up.sql"),
    ),
    (
        "03-audits",
        include_str!("../../migrations/03-audits/up.sql"),
    ),
    (
        "04-reports",
        include_str!("../../migrations/04-reports/up.sql"),
    ),
    ("05-plans", include_str!("../../migrations/05-plans/up.sql")),
    (
        "06-work-orders",
        include_str!("../../migrations/06-work-orders/up.sql"),
    ),
    (
        "07-bindings",
        include_str!("../../migrations/07-bindings/up.sql"),
    ),
    (
        "08-rejects",
        include_str!("../../migrations/08-rejects/up.sql"),
    ),
    (
        "09-text-layout",
        include_str!("../../migrations/09-text-layout/up.sql"),
    ),
];

/// The schema version this binary writes and understands.
pub fn schema_version() -> u32 {
    MIGRATIONS.len() as u32
}

#[derive(Debug, Error)]
pub enum StorageError {
    #[error(
        "no database at {0}: create one with `overlap init` (or choose another with --db / OVERLAP_DB)"
    )]
    Missing(PathBuf),
    #[error(
        "the database at {path} has schema version {found}, newer than this overlap binary knows ({known}); upgrade overlap"
    )]
    TooNew {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the database holds data this binary cannot read: {0}")]
    Corrupt(String),
    /// Another process held the write lock for longer than this one would wait.
    #[error(
        "the database is busy: another overlap command held its write lock for more than {} s; try again, or wait longer with --wait SECONDS",
        .waited.as_secs_f64()
    )]
    Busy { waited: Duration },
    /// Not a source: rusqlite's message already contains SQLite's, and printing the chain would
    /// repeat it.
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
        match e.sqlite_error_code() {
            Some(DatabaseBusy | DatabaseLocked) => StorageError::Busy {
                waited: DEFAULT_BUSY_TIMEOUT,
            },
            _ => StorageError::Sqlite(e),
        }
    }
}

/// The error for a failed BEGIN IMMEDIATE, saying how long this store waited.
fn locking_error(e: rusqlite::Error, waited: Duration) -> StorageError {
    match StorageError::from(e) {
        StorageError::Busy { .. } => StorageError::Busy { waited },
        other => other,
    }
}

/// How long a command waits for another's write lock before failing with [`StorageError::Busy`].
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

impl From<rusqlite::types::FromSqlError> for StorageError {
    fn from(e: rusqlite::types::FromSqlError) -> Self {
        StorageError::Corrupt(e.to_string())
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// An open database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    busy_timeout: Duration,
}

impl Store {
    /// Creates the database if needed and applies pending migrations. Returns the store and the
    /// schema version it had before (0 for a new file).
    pub fn init(path: &Path) -> Result<(Store, u32)> {
        let conn = Connection::open(path)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
        };
        store.configure()?;
        let before = store.user_version()?;
        store.migrate()?;
        Ok((store, before))
    }

    /// Opens an existing database, applying pending migrations; refuses a missing or newer one.
    pub fn open(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(StorageError::Missing(path.to_path_buf()));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
        };
        store.configure()?;
        if store.user_version()? == 0 && !store.has_table("meta")? {
            return Err(StorageError::Missing(path.to_path_buf()));
        }
        store.migrate()?;
        Ok(store)
    }

    /// An in-memory database with the full schema, for tests.
    pub fn in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory()?;
        let mut store = Store {
            conn,
            path: PathBuf::from(":memory:"),
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn configure(&self) -> Result<()> {
        // Concurrent invocations wait for each other instead of failing with SQLITE_BUSY.
        self.conn.busy_timeout(self.busy_timeout)?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        // 16 KiB pages: fewer B-tree splits and page allocations on bulk imports (measured ~15%
        // faster on a 1M-row import). Only takes effect on a new, empty database.
        self.conn.pragma_update(None, "page_size", 16384)?;
        if self.path != Path::new(":memory:") {
            self.conn
                .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        }
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        // 64 MiB of page cache keeps a large import's transaction from spilling pages into the WAL
        // before commit (each spilled page would be written twice).
        self.conn.pragma_update(None, "cache_size", -65536)?;
        Ok(())
    }

    /// How long this store waits for another process's write lock (default
    /// [`DEFAULT_BUSY_TIMEOUT`]); a write that still cannot get it fails with
    /// [`StorageError::Busy`].
    pub fn set_busy_timeout(&mut self, wait: Duration) -> Result<()> {
        self.conn.busy_timeout(wait)?;
        self.busy_timeout = wait;
        Ok(())
    }

    /// Opens a write transaction that takes the write lock up front (BEGIN IMMEDIATE): a deferred
    /// transaction upgrading from read to write gets SQLITE_BUSY at once, without the busy timeout
    /// ever applying. Every write goes through here or through [`Store::atomically`].
    fn write_transaction(&mut self) -> Result<rusqlite::Transaction<'_>> {
        let waited = self.busy_timeout;
        self.conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| locking_error(e, waited))
    }

    /// Runs `f` as one write transaction (BEGIN IMMEDIATE, so a writer waits its turn under the
    /// busy timeout instead of failing at its first write): committed when `f` returns `Ok`,
    /// rolled back when it returns `Err`. A command's several records (an analysis, an
    /// evaluation, a report) land together or not at all. Inside, only the single-statement
    /// record methods may be called (those that open their own transaction would fail).
    pub fn atomically<T, E: From<StorageError>>(
        &mut self,
        f: impl FnOnce(&mut Store) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let waited = self.busy_timeout;
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| E::from(locking_error(e, waited)))?;
        match f(self) {
            Ok(value) => {
                self.conn
                    .execute_batch("COMMIT")
                    .map_err(|e| E::from(StorageError::from(e)))?;
                Ok(value)
            }
            Err(e) => {
                // Rolling back can only fail if the transaction is already gone; the caller's
                // error is the one to report.
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    fn user_version(&self) -> Result<u32> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0))?)
    }

    fn has_table(&self, name: &str) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )? > 0)
    }

    fn migrate(&mut self) -> Result<()> {
        let found = self.user_version()?;
        let known = schema_version();
        if found > known {
            return Err(StorageError::TooNew {
                path: self.path.clone(),
                found,
                known,
            });
        }
        if found == known {
            return Ok(());
        }
        let tx = self.write_transaction()?;
        for (_, sql) in MIGRATIONS.iter().skip(found as usize) {
            tx.execute_batch(sql)?;
        }
        tx.pragma_update(None, "user_version", known)?;
        tx.commit()?;
        Ok(())
    }

    /// The schema as SQL text (tables, indexes, triggers), sorted by name, for snapshots.
    pub fn schema_sql(&self) -> Result<String> {
        let mut stmt = self
            .conn
            .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = String::new();
        for sql in rows {
            out.push_str(&sql?);
            out.push_str(";\n");
        }
        Ok(out)
    }
}
