-- Row-level security: defence in depth for the HTTP reads (the platform's database design).
--
-- Who is confined. The server connects as whatever DATABASE_URL names; migrations run
-- on that same connection at start, so that role OWNS these tables, and PostgreSQL does
-- not apply row-level security to a table's owner (nor to superusers) unless the table
-- is FORCEd — which it is not here. Reads made on behalf of a user therefore switch to
-- the role below for one transaction (persistence/user-context.ts):
--   begin; set local role scriptorium_reader;
--   set_config('app.current_user_id', <user>, true); <the handler's reads>; commit
-- and these policies let that role see only rows of the user's projects (member in any
-- role) and of public projects — the rule ProjectAuthorizer applies — so a handler that
-- forgot its own check still cannot hand out another project's rows.
--
-- Who is not. The writer — the group-committed update log, compaction, retention, the
-- admin API, document creation — keeps running as the connecting (owner) role, to which
-- these policies do not apply. That is a decision, not an oversight: one group commit
-- is a single INSERT ... SELECT FROM unnest(...) carrying many users' rows for many
-- documents, so there is no single app.current_user_id it could be checked against;
-- and every row in it was already authorized when its update was accepted (the socket's
-- grant: viewers' updates never reach storage). A per-row WITH CHECK policy that looked
-- up each row's user's role instead would cost a membership lookup per logged update on
-- the hot path, and would refuse an edit whose author lost the membership while it sat
-- in the queue although other clients had already received it. So the writer is the owner role (bypasses RLS), and the reader role
-- is the one that is confined. Note: if you run the server as a role that does NOT own
-- the tables, RLS applies to it and, having no policy, it sees and writes nothing.
--
-- Roles are cluster-wide (several databases share one cluster, e.g. the test suites),
-- so the role is created only when missing; two databases migrating at the same moment
-- may both find it missing, hence the exception handler.
do $$
begin
  if not exists (select from pg_roles where rolname = 'scriptorium_reader') then
    begin
      create role scriptorium_reader nologin;
    exception when duplicate_object or unique_violation then
      null; -- created by a concurrent migration of another database
    end;
  end if;
  -- SET ROLE needs membership; superusers (the tests' postgres, PGlite) have it implicitly.
  -- A non-superuser owner gets it here (it needs CREATEROLE, or an administrator runs
  -- `grant scriptorium_reader to <owner role>` beforehand).
  if not pg_has_role(current_user, 'scriptorium_reader', 'member') then
    execute format('grant scriptorium_reader to %I', current_user);
  end if;
end
$$;

-- What the HTTP reads touch. Read-only: no INSERT/UPDATE/DELETE for the reader at all
-- (and user-context.ts also makes the transaction read only). users, institutions and
-- audit_logs are not granted: no user-scoped read needs them.
grant select on projects, project_members, documents, collaborations, document_versions, research_trees
  to scriptorium_reader;

-- The user the current transaction reads for; null when unset. current_setting(..., true)
-- is null before the setting was ever made on a connection and '' after a transaction
-- that set it locally ended: both mean "nobody", for whom only public projects are visible.
create function scriptorium_current_user_id() returns uuid
  language sql stable
  as $$ select nullif(current_setting('app.current_user_id', true), '')::uuid $$;

alter table projects enable row level security;
alter table project_members enable row level security;
alter table documents enable row level security;
alter table collaborations enable row level security;
alter table document_versions enable row level security;
alter table research_trees enable row level security;

-- Each policy states one rule and the next builds on it, because a subquery inside a
-- policy is itself filtered by the policies of the tables it reads:
--   project_members: a user sees their own memberships (enough for every "my role in
--     P" lookup), not who else is in a project. It reads no other table, so nothing
--     here is recursive.
--   projects: public ones, and those the user is a member of in any role
--     (ProjectAuthorizer grants no more: 'institution' visibility is not granted yet).
--   documents, research_trees: those whose project is visible.
--   collaborations, document_versions: those whose document is visible.
create policy project_members_reader on project_members for select to scriptorium_reader
  using (user_id = scriptorium_current_user_id());

create policy projects_reader on projects for select to scriptorium_reader
  using (visibility = 'public'
         or exists (select 1 from project_members pm
                     where pm.project_id = projects.id and pm.user_id = scriptorium_current_user_id()));

create policy documents_reader on documents for select to scriptorium_reader
  using (exists (select 1 from projects p where p.id = documents.project_id));

create policy research_trees_reader on research_trees for select to scriptorium_reader
  using (exists (select 1 from projects p where p.id = research_trees.project_id));

create policy collaborations_reader on collaborations for select to scriptorium_reader
  using (exists (select 1 from documents d where d.id = collaborations.document_id));

create policy document_versions_reader on document_versions for select to scriptorium_reader
  using (exists (select 1 from documents d where d.id = document_versions.document_id));
