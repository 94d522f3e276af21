-- Undoes 007 in this database: policies, row-level security, the helper function and
-- the reader's grants.
drop policy if exists document_versions_reader on document_versions;
drop policy if exists collaborations_reader on collaborations;
drop policy if exists research_trees_reader on research_trees;
drop policy if exists documents_reader on documents;
drop policy if exists projects_reader on projects;
drop policy if exists project_members_reader on project_members;

alter table research_trees disable row level security;
alter table document_versions disable row level security;
alter table collaborations disable row level security;
alter table documents disable row level security;
alter table project_members disable row level security;
alter table projects disable row level security;

drop function if exists scriptorium_current_user_id();

revoke select on projects, project_members, documents, collaborations, document_versions, research_trees
  from scriptorium_reader;

-- The role scriptorium_reader itself is left in place, on purpose. Roles are
-- cluster-wide: other databases of the same cluster (other deployments, the test
-- suites' databases) may still hold grants to it and run reads as it, and dropping it
-- while one of them is between "the role exists" and its own GRANT would break that
-- migration. Left behind it is harmless: NOLOGIN, owns nothing, and after the revoke
-- above holds no privilege in this database. Drop it by hand (`drop role
-- scriptorium_reader`) once no database of the cluster uses it; PostgreSQL refuses
-- while any still does. A later `up` finds it and reuses it.
