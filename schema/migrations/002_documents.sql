-- Documents, their update log (collaborations), versions and research-tree projections.

create table documents (
  id               uuid primary key default gen_random_uuid(),
  project_id       uuid not null references projects (id) on delete cascade,
  name             text not null unique check (char_length(name) between 1 and 255),
  kind             text not null default 'paper' check (kind in ('paper', 'research_tree')),
  -- Compacted Yjs state: every collaborations row with
  -- (position <= covered_position and tx < covered_tx) is folded into it.
  state            bytea,
  -- Transaction-id horizon of the last compaction: all transactions with a smaller
  -- id had finished when it read the log, so none of their rows can still appear.
  -- This (not the position alone) is what makes late-committing rows safe:
  -- positions are taken in one order and committed in another.
  covered_tx       bigint not null default 0,
  -- Highest log position folded into state. Rows above it are never treated as
  -- folded, which keeps the rule safe should transaction ids restart (restore
  -- into a new cluster) while the position sequence carries on.
  covered_position bigint not null default 0,
  compacted_at     timestamptz,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now()
);
create index documents_project_id_idx on documents (project_id);

-- The update log: one row per accepted Yjs update, kept as collaboration history
-- after compaction (retention is configurable, default forever).
create table collaborations (
  position       bigint generated always as identity primary key,
  document_id    uuid not null references documents (id) on delete cascade,
  user_id        uuid references users (id) on delete set null,
  session_id     text not null,
  operation_type text not null default 'update',
  operation_data jsonb,
  update         bytea not null,
  size           integer not null,
  -- Id of the inserting transaction (xid8 as bigint), compared against
  -- documents.covered_tx by compaction and load.
  tx             bigint not null default (pg_current_xact_id()::text::bigint),
  created_at     timestamptz not null default now()
);
-- History pages and position-ordered reads.
create index collaborations_document_position_idx on collaborations (document_id, position);
-- The unfolded tail: rows at or above a document's covered_tx.
create index collaborations_document_tx_idx on collaborations (document_id, tx);
create index collaborations_user_id_idx on collaborations (user_id);

create table document_versions (
  id                uuid primary key default gen_random_uuid(),
  document_id       uuid not null references documents (id) on delete cascade,
  version           integer not null check (version > 0),
  label             text,
  state             bytea not null,
  kind              text not null default 'auto' check (kind in ('auto', 'named')),
  parent_version_id uuid references document_versions (id) on delete set null,
  created_by        uuid references users (id) on delete set null,
  created_at        timestamptz not null default now(),
  unique (document_id, version)
);
-- (document_id, version) is covered by the unique constraint's index.
create index document_versions_parent_version_id_idx on document_versions (parent_version_id);
create index document_versions_created_by_idx on document_versions (created_by);

-- Queryable projection of a research-tree document.
create table research_trees (
  id                uuid primary key default gen_random_uuid(),
  project_id        uuid not null references projects (id) on delete cascade,
  document_id       uuid references documents (id) on delete cascade,
  name              text not null,
  structure         jsonb not null default '{"nodes": [], "edges": []}'::jsonb
                    check (structure ? 'nodes' and structure ? 'edges'),
  version           integer not null default 1 check (version > 0),
  parent_version_id uuid references research_trees (id) on delete set null,
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now()
);
create index research_trees_project_id_idx on research_trees (project_id);
create index research_trees_document_id_idx on research_trees (document_id);
create index research_trees_parent_version_id_idx on research_trees (parent_version_id);
