-- 02-results: recorded analyses and gate evaluations (append-only).

CREATE TABLE analyses (
    id           INTEGER PRIMARY KEY,
    version_id   INTEGER NOT NULL REFERENCES dataset_versions(id),
    params_key   TEXT NOT NULL, -- canonical JSON of the parameters
    tool_version TEXT NOT NULL,
    result       TEXT NOT NULL, -- JSON VersionAnalysis
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL
) STRICT;
CREATE INDEX analyses_lookup ON analyses(version_id, params_key, tool_version);

CREATE TABLE evaluations (
    id             INTEGER PRIMARY KEY,
    version_id     INTEGER NOT NULL REFERENCES dataset_versions(id),
    policy_name    TEXT NOT NULL,
    policy_digest  TEXT NOT NULL,
    policy_path    TEXT,
    exit_code      INTEGER NOT NULL,
    summary        TEXT NOT NULL, -- JSON counts
    findings       TEXT NOT NULL, -- JSON evaluation
    tool_version   TEXT NOT NULL,
    evaluated_on   TEXT NOT NULL, -- the --today date used for waivers
    created_at     TEXT NOT NULL,
    created_by     TEXT NOT NULL
) STRICT;
CREATE INDEX evaluations_by_version ON evaluations(version_id);

CREATE TRIGGER analyses_no_update BEFORE UPDATE ON analyses
BEGIN SELECT RAISE(ABORT, 'analyses are append-only'); END;
CREATE TRIGGER analyses_no_delete BEFORE DELETE ON analyses
BEGIN SELECT RAISE(ABORT, 'analyses are append-only'); END;
CREATE TRIGGER evaluations_no_update BEFORE UPDATE ON evaluations
BEGIN SELECT RAISE(ABORT, 'evaluations are append-only'); END;
CREATE TRIGGER evaluations_no_delete BEFORE DELETE ON evaluations
BEGIN SELECT RAISE(ABORT, 'evaluations are append-only'); END;
