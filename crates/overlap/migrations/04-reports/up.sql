-- 04-reports: every nutrition label and design-adequacy report produced (append-only).

CREATE TABLE reports (
    id              INTEGER PRIMARY KEY,
    version_id      INTEGER NOT NULL REFERENCES dataset_versions(id),
    kind            TEXT NOT NULL CHECK (kind IN ('nutrition-label', 'design-adequacy')),
    format          TEXT NOT NULL CHECK (format IN ('md', 'html', 'json')),
    file            TEXT NOT NULL, -- the output path as given
    report_sha256   TEXT NOT NULL, -- SHA-256 of the exact bytes written
    signed          INTEGER NOT NULL CHECK (signed IN (0, 1)),
    key_fingerprint TEXT,          -- SHA-256 of the signing public key, when signed
    policy_name     TEXT NOT NULL,
    policy_digest   TEXT NOT NULL,
    report_date     TEXT NOT NULL, -- the --date the report was rendered for (YYYY-MM-DD)
    verdict         TEXT NOT NULL CHECK (verdict IN ('pass', 'fail')),
    tool_version    TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    CHECK ((signed = 1) = (key_fingerprint IS NOT NULL))
) STRICT;
CREATE INDEX reports_by_version ON reports(version_id);

CREATE TRIGGER reports_no_update BEFORE UPDATE ON reports
BEGIN SELECT RAISE(ABORT, 'reports are append-only'); END;
CREATE TRIGGER reports_no_delete BEFORE DELETE ON reports
BEGIN SELECT RAISE(ABORT, 'reports are append-only'); END;
