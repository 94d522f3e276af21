-- Revoked token sessions (a token's `jti`). PostgreSQL is where a revocation is kept: it
-- survives a restart of the server (without REDIS_URL the session store lives in process
-- memory) and of Redis (which keeps nothing durable; with REDIS_URL it holds the shared,
-- fast copy). A row is kept until `keep_until`: as long as a token of that session could
-- still be valid (MAX_TOKEN_TTL_SECONDS after the revocation, plus the allowed clock skew of
-- `iat`); then it is purged.
create table revoked_sessions (
  session_id text primary key,
  revoked_at timestamptz not null default now(),
  keep_until timestamptz not null
);
-- The purge: delete where keep_until < now().
create index revoked_sessions_keep_until_idx on revoked_sessions (keep_until);
