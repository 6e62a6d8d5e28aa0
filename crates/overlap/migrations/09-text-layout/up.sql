-- Text-pair imports: the layout of the pairs ('conversational' when every pair's sides were
-- message lists, 'standard' otherwise; NULL for feature records), so that a TRL export writes
-- the form the data came in. Not part of the digest: the same pairs in either form are one
-- content.
ALTER TABLE dataset_versions ADD COLUMN text_layout TEXT CHECK (text_layout IN ('standard', 'conversational'));
