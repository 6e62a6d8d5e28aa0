-- 01-init: the intervention registry, its hash-chained history, and immutable dataset versions.
-- Landed migrations are never edited; add a new numbered folder instead.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE interventions (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    created_at     TEXT NOT NULL,
    retired_at     TEXT,
    retired_by     TEXT,
    retired_reason TEXT
) STRICT;

CREATE TABLE intervention_versions (
    intervention_id INTEGER NOT NULL REFERENCES interventions(id),
    version         INTEGER NOT NULL CHECK (version >= 1),
    family          TEXT NOT NULL,
    intent          TEXT NOT NULL,
    cost            REAL NOT NULL CHECK (cost >= 0),
    targets         TEXT NOT NULL, -- JSON array of feature names
    confounds       TEXT NOT NULL, -- JSON array of feature names
    owner           TEXT,
    description     TEXT,
    created_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    PRIMARY KEY (intervention_id, version)
) STRICT;

CREATE TABLE acceptance_observations (
    id              INTEGER PRIMARY KEY,
    intervention_id INTEGER NOT NULL REFERENCES interventions(id),
    bucket          TEXT NOT NULL,
    attempts        INTEGER NOT NULL CHECK (attempts > 0),
    accepted        INTEGER NOT NULL CHECK (accepted >= 0 AND accepted <= attempts),
    note            TEXT,
    recorded_at     TEXT NOT NULL,
    recorded_by     TEXT NOT NULL
) STRICT;
CREATE INDEX acceptance_by_intervention ON acceptance_observations(intervention_id, bucket);

-- Append-only, hash-chained: hash = SHA-256(prev_hash || canonical JSON of the event).
CREATE TABLE registry_events (
    seq       INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    subject   TEXT NOT NULL,
    before    TEXT, -- canonical JSON of the state before, NULL for a creation
    after     TEXT, -- canonical JSON of the state after
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL UNIQUE
) STRICT;

CREATE TABLE datasets (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
) STRICT;

CREATE TABLE dataset_versions (
    id           INTEGER PRIMARY KEY,
    dataset_id   INTEGER NOT NULL REFERENCES datasets(id),
    version      INTEGER NOT NULL CHECK (version >= 1),
    parent_id    INTEGER REFERENCES dataset_versions(id),
    digest       TEXT NOT NULL,
    schema       TEXT NOT NULL, -- JSON FeatureSchema
    n_rows       INTEGER NOT NULL,
    dropped_ties INTEGER NOT NULL DEFAULT 0,
    source       TEXT,
    note         TEXT,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    UNIQUE (dataset_id, version)
) STRICT;
CREATE INDEX dataset_versions_by_digest ON dataset_versions(digest);

-- The rows of a version as imported, in import order (id order within a version).
-- Feature blobs are little-endian f64 in schema order: per side, or delta alone.
CREATE TABLE comparisons (
    id             INTEGER PRIMARY KEY,
    version_id     INTEGER NOT NULL REFERENCES dataset_versions(id),
    cid            TEXT NOT NULL,
    bucket         TEXT NOT NULL,
    grp            TEXT,
    prompt_id      TEXT,
    label          INTEGER NOT NULL CHECK (label IN (0, 1)),
    labeler        TEXT,
    a_intervention TEXT,
    b_intervention TEXT,
    a_features     BLOB,
    b_features     BLOB,
    delta          BLOB,
    prompt         TEXT,
    a_text         TEXT,
    b_text         TEXT
) STRICT;
CREATE INDEX comparisons_by_version ON comparisons(version_id);

-- Columnar copy of what analysis reads, in chunks of rows (derived from `comparisons` in the same
-- transaction): Δφ in raw units (n×d f64 LE, row-major), labels (u8), and u32 LE indexes into the
-- version's dictionaries of buckets, arms and groups.
CREATE TABLE version_chunks (
    version_id INTEGER NOT NULL REFERENCES dataset_versions(id),
    chunk      INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    delta      BLOB NOT NULL,
    labels     BLOB NOT NULL,
    buckets    BLOB NOT NULL,
    arms       BLOB NOT NULL,
    groups     BLOB NOT NULL,
    PRIMARY KEY (version_id, chunk)
) STRICT;

CREATE TABLE version_dictionary (
    version_id INTEGER NOT NULL REFERENCES dataset_versions(id),
    kind       TEXT NOT NULL CHECK (kind IN ('bucket', 'arm', 'group')),
    idx        INTEGER NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (version_id, kind, idx)
) STRICT;

-- Append-only tables refuse updates and deletes from any client that keeps the triggers.
CREATE TRIGGER registry_events_no_update BEFORE UPDATE ON registry_events
BEGIN SELECT RAISE(ABORT, 'registry_events is append-only'); END;
CREATE TRIGGER registry_events_no_delete BEFORE DELETE ON registry_events
BEGIN SELECT RAISE(ABORT, 'registry_events is append-only'); END;
CREATE TRIGGER dataset_versions_no_update BEFORE UPDATE ON dataset_versions
BEGIN SELECT RAISE(ABORT, 'dataset versions are immutable'); END;
CREATE TRIGGER dataset_versions_no_delete BEFORE DELETE ON dataset_versions
BEGIN SELECT RAISE(ABORT, 'dataset versions are immutable'); END;
CREATE TRIGGER comparisons_no_update BEFORE UPDATE ON comparisons
BEGIN SELECT RAISE(ABORT, 'dataset versions are immutable'); END;
CREATE TRIGGER comparisons_no_delete BEFORE DELETE ON comparisons
BEGIN SELECT RAISE(ABORT, 'dataset versions are immutable'); END;
CREATE TRIGGER version_chunks_no_update BEFORE UPDATE ON version_chunks
BEGIN SELECT RAISE(ABORT, 'dataset versions are immutable'); END;
CREATE TRIGGER version_chunks_no_delete BEFORE DELETE ON version_chunks
BEGIN SELECT RAISE(ABORT, 'dataset versions are immutable'); END;
