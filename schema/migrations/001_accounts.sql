-- Who works where: institutions, their users, projects and project membership.
-- UUID keys (gen_random_uuid() is built in since PostgreSQL 13 and in PGlite).

create table institutions (
  id          uuid primary key default gen_random_uuid(),
  name        text not null,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);

create table users (
  id             uuid primary key default gen_random_uuid(),
  institution_id uuid references institutions (id) on delete set null,
  email          text not null unique,
  name           text not null,
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now()
);
create index users_institution_id_idx on users (institution_id);

create table projects (
  id             uuid primary key default gen_random_uuid(),
  institution_id uuid references institutions (id) on delete cascade,
  owner_id       uuid references users (id) on delete set null,
  name           text not null,
  description    text,
  -- private: members only; institution: readable by the institution's users;
  -- public: readable by any valid token.
  visibility     text not null default 'private'
                 check (visibility in ('private', 'institution', 'public')),
  created_at     timestamptz not null default now(),
  updated_at     timestamptz not null default now()
);
create index projects_institution_id_idx on projects (institution_id);
create index projects_owner_id_idx on projects (owner_id);

create table project_members (
  project_id  uuid not null references projects (id) on delete cascade,
  user_id     uuid not null references users (id) on delete cascade,
  role        text not null check (role in ('owner', 'editor', 'viewer')),
  -- Fine-grained overrides on top of the role (e.g. {"export": false}).
  permissions jsonb not null default '{}'::jsonb,
  created_at  timestamptz not null default now(),
  primary key (project_id, user_id)
);
-- The primary key serves lookups by project; this one serves "projects of a user".
create index project_members_user_id_idx on project_members (user_id);
