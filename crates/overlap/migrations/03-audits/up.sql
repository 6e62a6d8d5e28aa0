-- 03-audits: audit samples drawn along weakest directions, the comparisons they hold, and the
-- reviewers' verdicts. All three tables are append-only.

-- One sample: what was drawn from which version, along which direction, how and with which seed.
-- AUTOINCREMENT so that an audit id (shown as audit-<id>) is never reused, even by a database
-- whose rows were removed behind the tool's back: a stale review sheet must never match a new sample.
CREATE TABLE audit_samples (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    version_id      INTEGER NOT NULL REFERENCES dataset_versions(id),
    bucket          TEXT NOT NULL,
    strategy        TEXT NOT NULL CHECK (strategy IN ('top', 'weighted')),
    seed            TEXT NOT NULL, -- decimal u64 (SQLite integers are signed 64-bit)
    requested       INTEGER NOT NULL CHECK (requested >= 1),
    include_audited INTEGER NOT NULL CHECK (include_audited IN (0, 1)),
    direction       TEXT NOT NULL, -- JSON {feature: loading}: the unit weakest direction used
    params          TEXT NOT NULL, -- JSON AnalysisParams of the analysis the direction came from
    pairs           TEXT NOT NULL, -- JSON [[f1, f2], …]: the feature pairs probed
    summary         TEXT NOT NULL, -- JSON: eligible counts and probe coverage at sampling time
    tool_version    TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL
) STRICT;
CREATE INDEX audit_samples_by_version ON audit_samples(version_id);

-- The comparisons of a sample, in the order of the review sheet.
CREATE TABLE audit_items (
    sample_id     INTEGER NOT NULL REFERENCES audit_samples(id),
    comparison_id INTEGER NOT NULL REFERENCES comparisons(id),
    position      INTEGER NOT NULL CHECK (position >= 1),
    selected_by   TEXT NOT NULL
                  CHECK (selected_by IN ('weakest-direction', 'crossed-probe', 'concordant-probe')),
    ordinal       INTEGER NOT NULL CHECK (ordinal >= 1), -- rank or draw within its selection
    alignment     REAL NOT NULL CHECK (alignment >= 0 AND alignment <= 1),
    pair          TEXT, -- JSON [f1, f2] for probes
    PRIMARY KEY (sample_id, comparison_id),
    UNIQUE (sample_id, position)
) STRICT;
CREATE INDEX audit_items_by_comparison ON audit_items(comparison_id);

-- One reviewer's verdict on one comparison, as imported from a filled review sheet. A reviewer
-- judges a comparison once, whichever sample handed it to them.
CREATE TABLE audit_verdicts (
    id            INTEGER PRIMARY KEY,
    sample_id     INTEGER NOT NULL,
    comparison_id INTEGER NOT NULL,
    reviewer      TEXT NOT NULL CHECK (length(reviewer) > 0),
    meaningful    INTEGER NOT NULL CHECK (meaningful IN (0, 1)),
    on_policy     INTEGER NOT NULL CHECK (on_policy IN (0, 1)),
    note          TEXT,
    source        TEXT NOT NULL, -- the file the verdict came from
    line          INTEGER NOT NULL,
    recorded_at   TEXT NOT NULL,
    recorded_by   TEXT NOT NULL,
    FOREIGN KEY (sample_id, comparison_id) REFERENCES audit_items(sample_id, comparison_id),
    UNIQUE (comparison_id, reviewer)
) STRICT;
CREATE INDEX audit_verdicts_by_sample ON audit_verdicts(sample_id);

CREATE TRIGGER audit_samples_no_update BEFORE UPDATE ON audit_samples
BEGIN SELECT RAISE(ABORT, 'audit samples are append-only'); END;
CREATE TRIGGER audit_samples_no_delete BEFORE DELETE ON audit_samples
BEGIN SELECT RAISE(ABORT, 'audit samples are append-only'); END;
CREATE TRIGGER audit_items_no_update BEFORE UPDATE ON audit_items
BEGIN SELECT RAISE(ABORT, 'audit samples are append-only'); END;
CREATE TRIGGER audit_items_no_delete BEFORE DELETE ON audit_items
BEGIN SELECT RAISE(ABORT, 'audit samples are append-only'); END;
CREATE TRIGGER audit_verdicts_no_update BEFORE UPDATE ON audit_verdicts
BEGIN SELECT RAISE(ABORT, 'audit verdicts are append-only'); END;
CREATE TRIGGER audit_verdicts_no_delete BEFORE DELETE ON audit_verdicts
BEGIN SELECT RAISE(ABORT, 'audit verdicts are append-only'); END;
