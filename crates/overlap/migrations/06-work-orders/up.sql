-- 06-work-orders: every `design next` work order (append-only), with its lines per arm and the
-- candidate pairs it picked, so a later report can compare what was planned with what was collected
-- (work_order_items.candidate_id is the id the labeled comparison will carry).

CREATE TABLE work_orders (
    id                INTEGER PRIMARY KEY,
    version_id        INTEGER NOT NULL REFERENCES dataset_versions(id),
    bucket            TEXT NOT NULL,
    strategy          TEXT NOT NULL CHECK (strategy IN ('plugin', 'lcb', 'thompson')),
    batch             INTEGER NOT NULL CHECK (batch > 0),
    explore           REAL NOT NULL CHECK (explore >= 0 AND explore <= 1),
    budget            REAL,          -- total cost cap of the batch; NULL: none
    seed              INTEGER NOT NULL,
    cost              REAL NOT NULL CHECK (cost >= 0),
    lambda_min_before REAL NOT NULL,
    lambda_min_after  REAL NOT NULL, -- predicted
    worst_se_after    REAL,          -- predicted; NULL when unidentified
    params            TEXT NOT NULL, -- JSON: every option of the command
    result            TEXT NOT NULL, -- JSON of the order as printed by `design next --format json`
    tool_version      TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    created_by        TEXT NOT NULL
) STRICT;
CREATE INDEX work_orders_by_version ON work_orders(version_id, bucket);

CREATE TABLE work_order_arms (
    work_order_id  INTEGER NOT NULL REFERENCES work_orders(id),
    arm            TEXT NOT NULL,
    count          INTEGER NOT NULL CHECK (count >= 0),
    floor          INTEGER NOT NULL CHECK (floor >= 0),
    pilot          INTEGER NOT NULL CHECK (pilot >= 0),
    designed       INTEGER NOT NULL CHECK (designed >= 0),
    cost_per_label REAL NOT NULL CHECK (cost_per_label >= 0),
    n_before       INTEGER NOT NULL CHECK (n_before >= 0),
    PRIMARY KEY (work_order_id, arm),
    CHECK (count = floor + pilot + designed)
) STRICT;

CREATE TABLE work_order_items (
    work_order_id INTEGER NOT NULL REFERENCES work_orders(id),
    candidate_id  TEXT NOT NULL,
    arm           TEXT NOT NULL,
    rank          INTEGER NOT NULL CHECK (rank >= 1), -- within the arm, best first
    margin        REAL NOT NULL,
    score         REAL NOT NULL,
    PRIMARY KEY (work_order_id, candidate_id)
) STRICT;

CREATE TRIGGER work_orders_no_update BEFORE UPDATE ON work_orders
BEGIN SELECT RAISE(ABORT, 'work orders are append-only'); END;
CREATE TRIGGER work_orders_no_delete BEFORE DELETE ON work_orders
BEGIN SELECT RAISE(ABORT, 'work orders are append-only'); END;
CREATE TRIGGER work_order_arms_no_update BEFORE UPDATE ON work_order_arms
BEGIN SELECT RAISE(ABORT, 'work orders are append-only'); END;
CREATE TRIGGER work_order_arms_no_delete BEFORE DELETE ON work_order_arms
BEGIN SELECT RAISE(ABORT, 'work orders are append-only'); END;
CREATE TRIGGER work_order_items_no_update BEFORE UPDATE ON work_order_items
BEGIN SELECT RAISE(ABORT, 'work orders are append-only'); END;
CREATE TRIGGER work_order_items_no_delete BEFORE DELETE ON work_order_items
BEGIN SELECT RAISE(ABORT, 'work orders are append-only'); END;
