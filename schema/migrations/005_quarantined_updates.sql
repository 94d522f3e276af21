-- Log rows that Yjs refuses to apply are quarantined instead of being skipped: the
-- folded set becomes { position <= covered_position and tx < covered_tx and not
-- quarantined }, so compaction can move covered_position past such a row without
-- counting it as folded into documents.state, and history retention never deletes
-- it (see persistence/compaction.ts).
-- A constant default adds the column without rewriting the table (PostgreSQL 11+).
alter table collaborations add column quarantined boolean not null default false;
-- Loads and compactions look up a document's quarantined rows below its covered
-- position; there are normally none, so the partial index stays next to empty and
-- adds no index entry on the append path (rows are inserted unquarantined).
create index collaborations_quarantined_idx on collaborations (document_id) where quarantined;
