//! The use cases: what a command does, as one library call, between parsing its arguments and
//! printing its result.
//!
//! A use case runs in a [`Session`]: the open store, the instant the command started (read once,
//! so every record a command writes carries the same time and "today" is that instant's date) and
//! the actor. Each use case is one write transaction ([`Session::atomically`]); the files it
//! writes are staged beside their destination and moved into place only after the commit
//! ([`staging`]), so an error anywhere leaves neither records nor files. Use cases never print:
//! what a front end should show (policy warnings, stale files removed) is part of their result.

pub mod audit;
pub mod card;
pub mod compare;
pub mod dataset;
pub mod design;
pub mod gate;
pub mod next_batch;
pub mod plan;
pub mod policy_file;
pub mod report;
pub mod staging;
pub mod verify;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use crate::analysis::AnalysisError;
use crate::analysis::service::ServiceError;
use crate::audit::AuditError;
use crate::collection::CollectionError;
use crate::design::BucketDesignError;
use crate::ingest::{ImportError, InterventionState};
use crate::model::analysis::NoSuchBucket;
use crate::model::ids::NameError;
use crate::policy::evaluate::EvaluateError;
use crate::report::render::RenderError;
use crate::report::signing::{KeyFormatError, SigningError};
use crate::report::view::ViewError;
use crate::storage::{StorageError, Store};

pub use policy_file::{PolicyErrors, PolicyFile};

/// Who acts and when: the part of a session every record a command writes carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    clock: DateTime<Utc>,
    actor: String,
}

impl Stamp {
    /// A stamp for `actor` at `clock` (the command's start; callers read the clock once).
    pub fn new(clock: DateTime<Utc>, actor: impl Into<String>) -> Stamp {
        Stamp {
            clock,
            actor: actor.into(),
        }
    }

    /// The command's instant as RFC 3339 UTC, to the second.
    pub fn now(&self) -> String {
        self.clock.to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// The command's UTC date (the default date of gates and reports).
    pub fn today(&self) -> NaiveDate {
        self.clock.date_naive()
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }
}

/// An open store with the command's [`Stamp`].
pub struct Session {
    store: Store,
    stamp: Stamp,
}

impl Session {
    /// Opens the database at `db` (it must exist: `overlap init` creates it).
    pub fn open(db: &Path, stamp: Stamp) -> Result<Session, AppError> {
        Ok(Session {
            store: Store::open(db)?,
            stamp,
        })
    }

    pub fn new(store: Store, stamp: Stamp) -> Session {
        Session { store, stamp }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn stamp(&self) -> &Stamp {
        &self.stamp
    }

    /// The store and the stamp, for a use case that manages its own transaction.
    pub fn parts(&mut self) -> (&mut Store, &Stamp) {
        (&mut self.store, &self.stamp)
    }

    /// Runs `f` as the command's one write transaction: committed when it returns `Ok`, rolled
    /// back when it returns `Err`.
    pub fn atomically<T, E: From<StorageError>>(
        &mut self,
        f: impl FnOnce(&mut Store, &Stamp) -> Result<T, E>,
    ) -> Result<T, E> {
        let Session { store, stamp } = self;
        store.atomically(|store| f(store, stamp))
    }
}

/// Why a use case failed. Every variant names what was wrong and where; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Policy(#[from] PolicyErrors),
    #[error(transparent)]
    Evaluate(#[from] EvaluateError),
    #[error(transparent)]
    View(#[from] ViewError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Signing(#[from] SigningError),
    #[error(transparent)]
    Design(#[from] BucketDesignError),
    /// An argument out of its range (the message names it and the value).
    #[error("{0}")]
    Invalid(String),
    /// A plan that would buy nothing, with the reason of every rule and bucket.
    #[error("{0}")]
    NothingToPlan(String),
    #[error("{path} is not an overlap secret key: {source}")]
    Key {
        path: PathBuf,
        source: KeyFormatError,
    },
    #[error("policy baseline '{given}' is not NAME@V: {source}")]
    Baseline { given: String, source: NameError },
    #[error("cannot read {what} {}: {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a UTF-8 file name", path.display())]
    NotAFileName { path: PathBuf },
    #[error("cannot analyse {version} for the λ_min history: {source}")]
    History {
        version: String,
        source: Box<AppError>,
    },
    #[error("cannot encode the result as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    NoSuchBucket(#[from] NoSuchBucket),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("{context}: {source}")]
    Collection {
        context: String,
        source: CollectionError,
    },
}

/// Whether each registered intervention is active or retired, by name (what imports validate
/// arms against).
pub fn intervention_states(store: &Store) -> Result<HashMap<String, InterventionState>, AppError> {
    Ok(store
        .interventions()?
        .into_iter()
        .map(|i| {
            let state = if i.retired.is_some() {
                InterventionState::Retired
            } else {
                InterventionState::Active
            };
            (i.name, state)
        })
        .collect())
}
