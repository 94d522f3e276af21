-- Document lifecycle: a trash (deleted_at / deleted_by) and the names a document had before
-- a rename (document_aliases), so links and reconnecting providers keep finding it.

-- A document in the trash has deleted_at set: it leaves every list and cannot be opened, but
-- keeps its name (and aliases) until it is restored or purged (TRASH_RETENTION_DAYS).
alter table documents
  add column deleted_at timestamptz,
  add column deleted_by uuid references users (id) on delete set null;
-- The trash listing and the purge read only trashed rows: the partial index holds just them.
create index documents_deleted_at_idx on documents (deleted_at) where deleted_at is not null;
-- ON DELETE SET NULL from users.
create index documents_deleted_by_idx on documents (deleted_by) where deleted_by is not null;

-- Former names of a document. A name is either a document's current name (documents.name) or
-- one alias, never both: creation and rename check the other table inside their transaction
-- (persistence/documents.ts). Purging the document frees its aliases with it.
create table document_aliases (
  name        text primary key check (char_length(name) between 1 and 255),
  document_id uuid not null references documents (id) on delete cascade,
  created_at  timestamptz not null default now()
);
create index document_aliases_document_id_idx on document_aliases (document_id);

-- Row-level security as for the other tables the HTTP reads touch (migration 007): a reader
-- sees the aliases of the documents it sees.
grant select on document_aliases to scriptorium_reader;
alter table document_aliases enable row level security;
create policy document_aliases_reader on document_aliases for select to scriptorium_reader
  using (exists (select 1 from documents d where d.id = document_aliases.document_id));
