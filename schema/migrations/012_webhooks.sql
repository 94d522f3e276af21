-- Webhooks (server/webhooks/): registrations, the outbox of deliveries, and what the dispatcher
-- needs to turn edits of the update log into debounced events.

-- A registration: POST <url> for each of `events`, for documents of `project_id` (null: every
-- project), signed with `secret` (HMAC-SHA256; kept as given, it is needed to sign).
create table webhooks (
  id         uuid primary key default gen_random_uuid(),
  url        text not null check (char_length(url) between 1 and 2048),
  events     text[] not null check (cardinality(events) between 1 and 6),
  project_id uuid references projects (id) on delete cascade,
  secret     text not null check (char_length(secret) between 16 and 1024),
  created_at timestamptz not null default now()
);
create index webhooks_project_id_idx on webhooks (project_id);

-- The outbox: one row per event and webhook subscribed to it (a delivery; its id is the
-- X-Scriptorium-Delivery header and the body's `id`), written in the transaction of the change
-- that caused the event. No foreign key to documents: the event outlives a purged document.
-- Times the dispatcher sets (attempts, next attempt, delivery) are its Clock's.
create table webhook_deliveries (
  id               uuid primary key default gen_random_uuid(),
  webhook_id       uuid not null references webhooks (id) on delete cascade,
  event            text not null,
  document_id      uuid,
  -- The body's `data` (`data.document` and, per event, `version`, `comment`, `authors`).
  data             jsonb not null,
  created_at       timestamptz not null default now(),
  status           text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  attempts         integer not null default 0,
  -- Null: due now. While an attempt runs: the end of its lease (no other instance takes it).
  next_attempt_at  timestamptz,
  first_attempt_at timestamptz,
  last_attempt_at  timestamptz,
  delivered_at     timestamptz,
  -- The receiver's HTTP status of the last attempt (null: no answer), and what went wrong.
  response_status  integer,
  last_error       text
);
-- What is due, in order (the dispatcher's claim).
create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at nulls first, created_at) where status = 'pending';
-- A webhook's recent deliveries (the admin API), and its foreign key.
create index webhook_deliveries_webhook_idx on webhook_deliveries (webhook_id, created_at desc);
-- The purge of finished deliveries.
create index webhook_deliveries_created_at_idx on webhook_deliveries (created_at) where status <> 'pending';

-- Documents changed through the update log since the dispatcher last looked: one row per
-- document and committing transaction, written by the update log's commit statement itself
-- (only while some webhook exists), deleted by the dispatcher in the transaction that writes
-- the resulting events. `tx` finds the transaction's log rows (their authors).
create table webhook_changes (
  document_id uuid not null,
  tx          bigint not null default (pg_current_xact_id()::text::bigint),
  primary key (document_id, tx)
);

-- Per document, what the dispatcher last announced: when (its Clock; the next changes wait
-- until WEBHOOK_DEBOUNCE_MS after it), and the Yjs state vector of the state whose comments it
-- had looked at: a comment or a `resolved` written after it is new. Null: not looked at since
-- comment webhooks cover the document.
create table webhook_documents (
  document_id   uuid primary key references documents (id) on delete cascade,
  notified_at   timestamptz not null,
  comments_seen bytea
);
