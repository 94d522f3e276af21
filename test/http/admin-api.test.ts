/**
 * The admin API end to end against a real server on PostgreSQL: the ADMIN_TOKEN guard,
 * users, projects, memberships, documents, tokens, session revocation, the audit log,
 * bodies refused with a 400 that names the field (and change nothing), and an audit log
 * that cannot be written failing nothing.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessAccessEvents, type AccessEvent } from '../../server/auth/access-events.js';
import { Tokens } from '../../server/auth/tokens.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { apiClient, type ApiResponse, type ErrorBody } from '../helpers/http.js';

const SECRET = 'test-secret-http-admin-0123456789abcdef';
const ADMIN = 'admin-http-admin-0123456789abcdef';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let database: TestDatabase;
let server: RunningServer;
let sql: pg.Client;
const accessEvents = new InProcessAccessEvents();
const events: AccessEvent[] = [];
accessEvents.subscribe((event) => events.push(event));
const api = apiClient(() => server.port);
/** An admin call. */
const admin = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => api<T>(method, path, { token: ADMIN, body });

beforeAll(async () => {
  database = await createTestDatabase('httpadmin');
  server = await startServer({
    config: {
      port: 0,
      host: '127.0.0.1',
      storage: 'durable',
      databaseUrl: database.url,
      authSecret: SECRET,
      adminToken: ADMIN,
      transport: 'uws',
      logLevel: 'silent',
    },
    accessEvents,
  });
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
});

afterAll(async () => {
  await server?.close();
  await sql?.end();
  await database?.drop();
});

interface AuditPage {
  entries: Array<{ id: string }>;
  nextBefore: string | null;
}

const count = async (table: string): Promise<number> =>
  Number((await sql.query<{ n: string }>(`select count(*) as n from ${table}`)).rows[0]!.n);

describe('the admin guard', () => {
  it('answers 401 without the admin token, with a wrong one, and with a user token', async () => {
    const none = await api<ErrorBody>('POST', '/api/admin/users', { body: { email: 'a@example.org', name: 'A' } });
    expect(none.status).toBe(401);
    expect(none.body.error).toMatch(/ADMIN_TOKEN/);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');

    const wrong = await api<ErrorBody>('POST', '/api/admin/users', { token: `${ADMIN}x`, body: { email: 'a@example.org', name: 'A' } });
    expect(wrong).toMatchObject({ status: 401, body: { error: 'invalid admin token' } });
    const short = await api<ErrorBody>('GET', '/api/admin/audit', { token: 'a' });
    expect(short.status).toBe(401);
    const malformed = await api<ErrorBody>('GET', '/api/admin/audit', { authorization: `Basic ${ADMIN}` });
    expect(malformed.status).toBe(401);

    const userToken = (await new Tokens(SECRET).mint(crypto.randomUUID())).token;
    expect((await api('GET', '/api/admin/audit', { token: userToken })).status).toBe(401);
    expect(await count('users')).toBe(0);
  });
});

describe('users, projects, members, documents, tokens, sessions', () => {
  const ids: Record<string, string> = {};

  it('creates users (201 {id}) and refuses a duplicate email with 409', async () => {
    for (const who of ['owner', 'editor', 'viewer']) {
      const created = await admin<{ id: string }>('POST', '/api/admin/users', { email: `${who}@example.org`, name: `The ${who}` });
      expect(created.status).toBe(201);
      expect(Object.keys(created.body)).toEqual(['id']);
      expect(created.body.id).toMatch(UUID);
      ids[who] = created.body.id;
    }
    const duplicate = await admin<ErrorBody>('POST', '/api/admin/users', { email: 'owner@example.org', name: 'Another' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error).toMatch(/^email: .*already exists/);
    expect(await count('users')).toBe(3);
  });

  it('creates a project whose owner becomes an owner member', async () => {
    const created = await admin<{ id: string }>('POST', '/api/admin/projects', { name: 'Lab', ownerId: ids.owner });
    expect(created.status).toBe(201);
    expect(created.body.id).toMatch(UUID);
    ids.project = created.body.id;
    const { rows } = await sql.query(
      'select p.visibility, p.owner_id, m.user_id, m.role from projects p join project_members m on m.project_id = p.id where p.id = $1',
      [ids.project],
    );
    expect(rows).toEqual([{ visibility: 'private', owner_id: ids.owner, user_id: ids.owner, role: 'owner' }]);

    const publicProject = await admin<{ id: string }>('POST', '/api/admin/projects', {
      name: 'Open lab',
      ownerId: ids.owner,
      visibility: 'public',
    });
    expect(publicProject.status).toBe(201);
    expect((await sql.query('select visibility from projects where id = $1', [publicProject.body.id])).rows).toEqual([
      { visibility: 'public' },
    ]);

    const noOwner = await admin<ErrorBody>('POST', '/api/admin/projects', { name: 'Orphan', ownerId: crypto.randomUUID() });
    expect(noOwner.status).toBe(404);
    expect(noOwner.body.error).toMatch(/^ownerId: /);
  });

  it('sets members (204), replacing a role, and answers 404 for an unknown project or user', async () => {
    expect((await admin('POST', `/api/admin/projects/${ids.project}/members`, { userId: ids.editor, role: 'viewer' })).status).toBe(204);
    expect((await admin('POST', `/api/admin/projects/${ids.project}/members`, { userId: ids.editor, role: 'editor' })).status).toBe(204);
    expect((await admin('POST', `/api/admin/projects/${ids.project}/members`, { userId: ids.viewer, role: 'viewer' })).status).toBe(204);
    const { rows } = await sql.query('select user_id, role from project_members where project_id = $1 order by role', [ids.project]);
    expect(rows).toEqual([
      { user_id: ids.editor, role: 'editor' },
      { user_id: ids.owner, role: 'owner' },
      { user_id: ids.viewer, role: 'viewer' },
    ]);
    expect((await admin('POST', `/api/admin/projects/${crypto.randomUUID()}/members`, { userId: ids.editor, role: 'editor' })).status).toBe(
      404,
    );
    const noUser = await admin<ErrorBody>('POST', `/api/admin/projects/${ids.project}/members`, {
      userId: crypto.randomUUID(),
      role: 'editor',
    });
    expect(noUser.status).toBe(404);
    expect(noUser.body.error).toMatch(/^userId: /);
  });

  it('creates documents (201 {id,name}), 409 for a taken name, 404 for an unknown project', async () => {
    const created = await admin<{ id: string; name: string }>('POST', '/api/admin/documents', {
      projectId: ids.project,
      name: 'lab/paper one',
      kind: 'paper',
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.stringMatching(UUID), name: 'lab/paper one' });
    const tree = await admin('POST', '/api/admin/documents', { projectId: ids.project, name: 'lab/tree', kind: 'research_tree' });
    expect(tree.status).toBe(201);
    expect((await sql.query('select kind, project_id from documents where name = $1', ['lab/tree'])).rows).toEqual([
      { kind: 'research_tree', project_id: ids.project },
    ]);

    const taken = await admin<ErrorBody>('POST', '/api/admin/documents', {
      projectId: ids.project,
      name: 'lab/paper one',
      kind: 'research_tree',
    });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toMatch(/^name: /);
    const nowhere = await admin<ErrorBody>('POST', '/api/admin/documents', {
      projectId: crypto.randomUUID(),
      name: 'lab/nowhere',
      kind: 'paper',
    });
    expect(nowhere.status).toBe(404);
    expect(nowhere.body.error).toMatch(/^projectId: /);
  });

  it('mints tokens that the read/write API accepts; 404 for an unknown user', async () => {
    const minted = await admin<{ token: string; sessionId: string; expiresAt: string }>('POST', '/api/admin/tokens', {
      userId: ids.owner,
      ttlSeconds: 600,
    });
    expect(minted.status).toBe(201);
    expect(minted.body.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const expiresIn = Date.parse(minted.body.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(590_000);
    expect(expiresIn).toBeLessThanOrEqual(600_000);
    const me = await api('GET', '/api/me', { token: minted.body.token });
    expect(me).toMatchObject({ status: 200, body: { id: ids.owner, name: 'The owner', email: 'owner@example.org' } });

    const defaultTtl = await admin<{ expiresAt: string }>('POST', '/api/admin/tokens', { userId: ids.editor });
    expect(defaultTtl.status).toBe(201);
    expect(Date.parse(defaultTtl.body.expiresAt) - Date.now()).toBeGreaterThan(23 * 3600_000);

    const unknown = await admin<ErrorBody>('POST', '/api/admin/tokens', { userId: crypto.randomUUID() });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatch(/^userId: /);
    ids.ownerToken = minted.body.token;
    ids.ownerSession = minted.body.sessionId;
  });

  it('removes a member (204, membership-removed published); 404 when not a member', async () => {
    events.length = 0;
    expect((await admin('DELETE', `/api/admin/projects/${ids.project}/members/${ids.viewer}`)).status).toBe(204);
    expect(events).toEqual([{ type: 'membership-removed', userId: ids.viewer, projectId: ids.project }]);
    expect(
      (await sql.query('select 1 from project_members where project_id = $1 and user_id = $2', [ids.project, ids.viewer])).rows,
    ).toEqual([]);
    expect((await admin('DELETE', `/api/admin/projects/${ids.project}/members/${ids.viewer}`)).status).toBe(404);
    expect(events).toHaveLength(1);
    expect((await admin<ErrorBody>('DELETE', `/api/admin/projects/nope/members/${ids.viewer}`)).body.error).toMatch(/^id: Invalid UUID/);
  });

  it('revokes a session (204, session-revoked published): its token is refused from then on', async () => {
    events.length = 0;
    expect((await admin('POST', `/api/admin/sessions/${ids.ownerSession}/revoke`)).status).toBe(204);
    expect(events).toEqual([{ type: 'session-revoked', sessionId: ids.ownerSession }]);
    const refused = await api<ErrorBody>('GET', '/api/me', { token: ids.ownerToken });
    expect(refused).toMatchObject({ status: 401, body: { error: 'session revoked' } });
  });

  it('records every admin action in the audit log, newest first, in pages', async () => {
    const all = await admin<{
      entries: Array<{
        id: string;
        actor: string;
        action: string;
        resourceType: string;
        resourceId: string;
        details: Record<string, unknown>;
        createdAt: string;
      }>;
      nextBefore: string | null;
    }>('GET', '/api/admin/audit?limit=1000');
    expect(all.status).toBe(200);
    const actions = all.body.entries.map((entry) => entry.action);
    expect(actions.slice(0, 2)).toEqual(['session.revoke', 'project.member.remove']);
    expect(actions.filter((a) => a === 'user.create')).toHaveLength(3);
    expect(actions.filter((a) => a === 'project.create')).toHaveLength(2);
    expect(actions.filter((a) => a === 'project.member.set')).toHaveLength(3);
    expect(actions.filter((a) => a === 'document.create')).toHaveLength(2);
    expect(actions.filter((a) => a === 'token.mint')).toHaveLength(2);
    expect(all.body.entries.every((entry) => entry.actor === 'admin')).toBe(true);
    // Refused attempts (409, 404) are not actions: nothing was changed.
    expect(all.body.entries).toHaveLength(14);
    const revoke = all.body.entries[0]!;
    expect(revoke).toMatchObject({ resourceType: 'session', resourceId: ids.ownerSession, details: { userId: ids.owner } });
    // The trail never holds a credential.
    expect(JSON.stringify(all.body)).not.toContain(ids.ownerToken);
    const times = all.body.entries.map((entry) => Date.parse(entry.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(all.body.nextBefore).toBeNull();

    const pages: string[] = [];
    let before: string | null = null;
    do {
      const query: string = before ? `&before=${before}` : '';
      const page: ApiResponse<AuditPage> = await admin<AuditPage>('GET', `/api/admin/audit?limit=5${query}`);
      pages.push(...page.body.entries.map((entry) => entry.id));
      before = page.body.nextBefore;
    } while (before !== null);
    expect(pages).toEqual(all.body.entries.map((entry) => entry.id));
  });
});

describe('invalid input', () => {
  it.each([
    ['POST', '/api/admin/users', { email: 'not-an-address', name: 'X' }, 'email: Invalid email address'],
    ['POST', '/api/admin/users', { name: 'X' }, 'email: Required'],
    ['POST', '/api/admin/users', { email: 'x@example.org', name: '' }, 'name: '],
    ['POST', '/api/admin/users', { email: 'x@example.org', name: 'X', admin: true }, 'body: Unrecognized key: "admin"'],
    ['POST', '/api/admin/users', [1, 2], 'body: Invalid input: expected object'],
    ['POST', '/api/admin/users', '{"email": ', 'body: not valid JSON'],
    ['POST', '/api/admin/projects', { name: 'P', ownerId: 'someone' }, 'ownerId: Invalid UUID'],
    ['POST', '/api/admin/projects', { name: 'P', ownerId: crypto.randomUUID(), visibility: 'secret' }, 'visibility: '],
    ['POST', `/api/admin/projects/${crypto.randomUUID()}/members`, { userId: crypto.randomUUID(), role: 'admin' }, 'role: '],
    ['POST', '/api/admin/projects/42/members', { userId: crypto.randomUUID(), role: 'editor' }, 'id: Invalid UUID'],
    ['POST', '/api/admin/documents', { projectId: crypto.randomUUID(), name: 'n', kind: 'novel' }, 'kind: '],
    ['POST', '/api/admin/documents', { projectId: crypto.randomUUID(), name: '', kind: 'paper' }, 'name: '],
    ['POST', '/api/admin/documents', { projectId: crypto.randomUUID(), name: 'x'.repeat(256), kind: 'paper' }, 'name: '],
    ['POST', '/api/admin/tokens', { userId: crypto.randomUUID(), ttlSeconds: 1.5 }, 'ttlSeconds: '],
    ['POST', '/api/admin/tokens', { userId: crypto.randomUUID(), ttlSeconds: 86_401 }, 'ttlSeconds: '],
    ['GET', '/api/admin/audit?limit=0', undefined, 'limit: '],
    ['GET', '/api/admin/audit?before=yesterday', undefined, 'before: Invalid UUID'],
  ])('%s %s %j → 400 "%s…"', async (method, path, body, message) => {
    const before = { users: await count('users'), projects: await count('projects'), documents: await count('documents') };
    const response = await admin<ErrorBody>(method, path, body);
    expect(response.status).toBe(400);
    expect(response.body.error.startsWith(message), response.body.error).toBe(true);
    expect({ users: await count('users'), projects: await count('projects'), documents: await count('documents') }).toEqual(before);
  });

  it('lists every problem of a body, each with its field', async () => {
    const response = await admin<ErrorBody>('POST', '/api/admin/documents', { name: 5, kind: 'novel' });
    expect(response.status).toBe(400);
    expect(response.body.error).toContain('projectId: Required');
    expect(response.body.error).toContain('name: ');
    expect(response.body.error).toContain('kind: ');
  });

  it('answers 400 for an empty body and 413 for one beyond the limit', async () => {
    const empty = await fetch(`http://127.0.0.1:${server.port}/api/admin/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as ErrorBody).error).toMatch(/^body: Required/);
    const huge = await fetch(`http://127.0.0.1:${server.port}/api/admin/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'big@example.org', name: 'x'.repeat(2 * 1024 * 1024) }),
    }).catch(() => null);
    // The transport refuses it (it may cut the connection before the client is done sending).
    if (huge) expect(huge.status).toBe(413);
    expect((await sql.query('select 1 from users where email = $1', ['big@example.org'])).rows).toEqual([]);
  });
});

describe('an audit log that cannot be written', () => {
  it('fails no request: the action is done, the failure only logged', async () => {
    await sql.query('alter table audit_logs rename to audit_logs_away');
    try {
      const created = await admin<{ id: string }>('POST', '/api/admin/users', { email: 'unaudited@example.org', name: 'Unaudited' });
      expect(created.status).toBe(201);
      expect((await sql.query('select name from users where id = $1', [created.body.id])).rows).toEqual([{ name: 'Unaudited' }]);
    } finally {
      await sql.query('alter table audit_logs_away rename to audit_logs');
    }
  });
});
