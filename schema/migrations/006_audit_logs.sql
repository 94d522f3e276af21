-- Who did what to access: admin actions (users, projects, memberships, documents, tokens),
-- session revocations, membership removals and every refused request (HTTP 403, socket
-- permission denials). Append-only; read newest first through GET /api/admin/audit.
create table audit_logs (
  id            uuid primary key default gen_random_uuid(),
  -- The user who acted (null for the admin token and the system). Set null rather than
  -- cascade: the trail outlives the account it mentions.
  actor_user_id uuid references users (id) on delete set null,
  actor         text not null check (actor in ('admin', 'user', 'system')),
  action        text not null,
  resource_type text,
  -- Text, not uuid: a resource may be named by something else (a session id, a document
  -- name that does not exist).
  resource_id   text,
  details       jsonb not null default '{}'::jsonb,
  created_at    timestamptz not null default now()
);
-- Newest-first pages: order by (created_at, id) with a keyset cursor; the id breaks ties
-- between rows written in the same microsecond.
create index audit_logs_created_at_idx on audit_logs (created_at, id);
create index audit_logs_actor_user_id_idx on audit_logs (actor_user_id);
