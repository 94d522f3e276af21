-- The research-tree projection (research_trees, one row per tree version of a document):
-- what the live row was rendered from, a write counter for compare-and-set, and at most one
-- row per (document, version) so that concurrent writers cannot fork a tree's history.
alter table research_trees
  -- Yjs snapshot (state vector + delete set) of the document state the structure was
  -- rendered from: a writer holding an older state leaves a newer structure alone.
  add column source_snapshot bytea,
  -- Incremented by every write of the row: writers compare-and-set on it.
  add column revision bigint not null default 0;
create unique index research_trees_document_version_key on research_trees (document_id, version);
