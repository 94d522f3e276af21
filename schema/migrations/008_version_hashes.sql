-- Versions are stored once per distinct Yjs state: content_hash identifies the state
-- (sha-256 of its canonical snapshot encoding, see server/versions/state-identity.ts),
-- and the unique index makes "never store the same state twice" hold in the database,
-- also when two instances take a version of the same state at once. Rows from before
-- this migration have no hash (nulls are distinct, so they never conflict).
alter table document_versions add column content_hash bytea;
-- Bytes of `state`, so listing versions never reads (or detoasts) the states themselves.
alter table document_versions add column size integer;
create unique index document_versions_document_hash_idx on document_versions (document_id, content_hash);
