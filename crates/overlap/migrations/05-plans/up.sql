-- 05-plans: recorded budget plans (append-only).

CREATE TABLE plans (
    id            INTEGER PRIMARY KEY,
    version_id    INTEGER NOT NULL REFERENCES dataset_versions(id),
    policy_name   TEXT NOT NULL,
    policy_digest TEXT NOT NULL,
    budget        REAL,          -- NULL: minimum cost to meet every target
    label_cost    REAL NOT NULL,
    plan          TEXT NOT NULL, -- JSON of the plan as printed by `plan --format json`
    tool_version  TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL
) STRICT;
CREATE INDEX plans_by_version ON plans(version_id);

CREATE TRIGGER plans_no_update BEFORE UPDATE ON plans
BEGIN SELECT RAISE(ABORT, 'plans are append-only'); END;
CREATE TRIGGER plans_no_delete BEFORE DELETE ON plans
BEGIN SELECT RAISE(ABORT, 'plans are append-only'); END;
