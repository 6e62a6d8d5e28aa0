-- Lenient imports (`dataset import --skip-invalid --rejects FILE`): how many records a version's
-- import rejected, and the SHA-256 of the rejects file it wrote (NULL when nothing was rejected).
ALTER TABLE dataset_versions ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0 CHECK (rejected >= 0);
ALTER TABLE dataset_versions ADD COLUMN rejects_sha256 TEXT;
