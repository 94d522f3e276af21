/**
 * Users, projects and memberships (migration 001): what the admin API writes, the one
 * query for a user's role in a project (`projectAccess`, which the Authorizer decides
 * on), and the listings of the read/write API. The listings follow the Authorizer's rule:
 * members read their projects' documents, every user reads public projects'.
 */
import type { ProjectRole } from '../auth/roles.js';
import type { DocumentSummary, ProjectSummary } from '../http/api-types.js';
import type { Db, Queryable } from './db.js';
import type { DocumentKind } from './documents.js';

export const PROJECT_VISIBILITIES = ['private', 'institution', 'public'] as const;
export type ProjectVisibility = (typeof PROJECT_VISIBILITIES)[number];

export interface UserRow {
  readonly id: string;
  readonly email: string;
  readonly name: string;
}

export interface ProjectRow {
  readonly id: string;
  readonly name: string;
  readonly ownerId: string | null;
  readonly visibility: ProjectVisibility;
}

/** Creates a user; null when the email is taken. */
export async function createUser(db: Queryable, user: { email: string; name: string }): Promise<{ id: string } | null> {
  const { rows } = await db.query<{ id: string }>(
    'insert into users (email, name) values ($1, $2) on conflict (email) do nothing returning id',
    [user.email, user.name],
  );
  return rows[0] ?? null;
}

export async function userExists(db: Queryable, id: string): Promise<boolean> {
  const { rows } = await db.query('select 1 from users where id = $1', [id]);
  return rows.length > 0;
}

export async function findUser(db: Queryable, id: string): Promise<UserRow | null> {
  const { rows } = await db.query<UserRow>('select id, email, name from users where id = $1', [id]);
  return rows[0] ?? null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `users.name` of each id (lower-cased), in one query; ids that are not users are left out. */
export async function userNames(db: Queryable, ids: Iterable<string | null>): Promise<Map<string, string>> {
  const wanted = [...new Set([...ids].filter((id): id is string => id !== null && UUID.test(id)).map((id) => id.toLowerCase()))];
  if (wanted.length === 0) return new Map();
  const { rows } = await db.query<{ id: string; name: string }>('select id, name from users where id = any($1::uuid[])', [wanted]);
  return new Map(rows.map((row) => [row.id, row.name]));
}

export async function findProject(db: Queryable, id: string): Promise<ProjectRow | null> {
  const { rows } = await db.query<{ id: string; name: string; owner_id: string | null; visibility: ProjectVisibility }>(
    'select id, name, owner_id, visibility from projects where id = $1',
    [id],
  );
  const row = rows[0];
  return row ? { id: row.id, name: row.name, ownerId: row.owner_id, visibility: row.visibility } : null;
}

/**
 * Creates a project and makes its owner an `owner` member, in one transaction (a project
 * is never left without its owner). Null when the owner is not a user.
 */
export async function createProject(
  db: Db,
  project: { name: string; ownerId: string; visibility: ProjectVisibility },
): Promise<{ id: string } | null> {
  return db.transaction(async (tx) => {
    // The foreign key locks the owner's row for the rest of the transaction, so the
    // membership insert below cannot lose its user to a concurrent delete.
    const { rows } = await tx.query<{ id: string }>(
      `insert into projects (name, owner_id, visibility)
       select $1, u.id, $3 from users u where u.id = $2
       returning id`,
      [project.name, project.ownerId, project.visibility],
    );
    const created = rows[0];
    if (!created) return null;
    await tx.query(`insert into project_members (project_id, user_id, role) values ($1, $2, 'owner')`, [created.id, project.ownerId]);
    return created;
  });
}

export type SetMemberResult = 'set' | 'no-project' | 'no-user';

/** Gives the user `role` in the project, replacing the role they had. */
export async function setMember(db: Queryable, projectId: string, userId: string, role: ProjectRole): Promise<SetMemberResult> {
  const { rows } = await db.query(
    `insert into project_members (project_id, user_id, role)
     select p.id, u.id, $3 from projects p, users u where p.id = $1 and u.id = $2
     on conflict (project_id, user_id) do update set role = excluded.role
     returning 1`,
    [projectId, userId, role],
  );
  if (rows.length > 0) return 'set';
  return (await findProject(db, projectId)) ? 'no-user' : 'no-project';
}

/** Removes the membership; false when there was none. */
export async function removeMember(db: Queryable, projectId: string, userId: string): Promise<boolean> {
  const { rows } = await db.query('delete from project_members where project_id = $1 and user_id = $2 returning 1', [projectId, userId]);
  return rows.length > 0;
}

/** The user's role in a project and the project's visibility; null when there is no such project. */
export async function projectAccess(
  db: Queryable,
  projectId: string,
  userId: string,
): Promise<{ role: ProjectRole | null; visibility: ProjectVisibility } | null> {
  const { rows } = await db.query<{ role: ProjectRole | null; visibility: ProjectVisibility }>(
    `select pm.role, p.visibility
       from projects p
       left join project_members pm on pm.project_id = p.id and pm.user_id = $2
      where p.id = $1`,
    [projectId, userId],
  );
  return rows[0] ?? null;
}

interface RawSummary {
  id: string;
  name: string;
  kind: DocumentKind;
  project_id: string;
  updated_at: Date;
}

const toSummary = (r: RawSummary): DocumentSummary => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  projectId: r.project_id,
  updatedAt: r.updated_at.toISOString(),
});

/** Every document outside the trash (open mode: the anonymous editor may open them all), optionally of one project. */
export async function listDocuments(db: Queryable, filter: { projectId?: string | undefined } = {}): Promise<DocumentSummary[]> {
  const { rows } = await db.query<RawSummary>(
    `select id, name, kind, project_id, updated_at from documents
      where deleted_at is null and ($1::uuid is null or project_id = $1::uuid)
      order by name`,
    [filter.projectId ?? null],
  );
  return rows.map(toSummary);
}

/** The projects a user is a member of (with their role) and the public ones (role null), by name. */
export async function listUserProjects(db: Queryable, userId: string): Promise<ProjectSummary[]> {
  const { rows } = await db.query<{ id: string; name: string; role: ProjectRole | null }>(
    `select p.id, p.name, pm.role
       from projects p
       left join project_members pm on pm.project_id = p.id and pm.user_id = $1
      where pm.user_id is not null or p.visibility = 'public'
      order by p.name, p.id`,
    [userId],
  );
  return rows.map(({ id, name, role }) => ({ id, name, role }));
}

/** The documents a user may read: those of projects they are a member of, and of public projects (none in the trash). */
export async function listReadableDocuments(
  db: Queryable,
  userId: string,
  filter: { projectId?: string | undefined } = {},
): Promise<DocumentSummary[]> {
  const { rows } = await db.query<RawSummary>(
    `select d.id, d.name, d.kind, d.project_id, d.updated_at
       from documents d
       join projects p on p.id = d.project_id
      where d.deleted_at is null
        and ($2::uuid is null or d.project_id = $2::uuid)
        and (p.visibility = 'public'
             or exists (select 1 from project_members pm where pm.project_id = d.project_id and pm.user_id = $1))
      order by d.name`,
    [userId, filter.projectId ?? null],
  );
  return rows.map(toSummary);
}
