-- 07-bindings: recorded analyses, evaluations, audit verdicts, plans and reports are bound to what they came from. `binding` is
-- SHA-256 over the version's digest and the row's inputs and result (length-prefixed fields, see
-- storage::results); an analysis also keeps the registry head it was computed under. Rows recorded
-- before this migration have no binding: they are never reused and `store verify` lists them.

ALTER TABLE analyses ADD COLUMN registry_head TEXT;
ALTER TABLE analyses ADD COLUMN binding TEXT;
ALTER TABLE evaluations ADD COLUMN binding TEXT;
ALTER TABLE audit_verdicts ADD COLUMN binding TEXT;
ALTER TABLE plans ADD COLUMN binding TEXT;
ALTER TABLE reports ADD COLUMN binding TEXT;
