/**
 * The read/write API in token mode against a real server on PostgreSQL, for each kind of
 * caller: owner, editor, viewer, outsider, and tokens that must be refused (none, expired,
 * forged with another secret, `alg: none`, revoked session, unknown user, malformed
 * header). Refusals: 401 for the token, 403 (audited) for the document or project.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tokens } from '../../server/auth/tokens.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { algNoneToken, apiClient, type ErrorBody } from '../helpers/http.js';

const SECRET = 'test-secret-http-rw-0123456789abcdef';
const ADMIN = 'admin-http-rw-0123456789abcdef';
const ROOT = path.resolve(import.meta.dirname, '..', '..');

let database: TestDatabase;
let server: RunningServer;
const api = apiClient(() => server.port);
const admin = <T = Record<string, unknown>>(method: string, p: string, body?: unknown) => api<T>(method, p, { token: ADMIN, body });

type Who = 'owner' | 'editor' | 'viewer' | 'outsider';
const users = {} as Record<Who, string>;
const tokens = {} as Record<Who, string>;
let privateProject: string;
let publicProject: string;

interface Listed {
  id: string;
  name: string;
  kind: string;
  projectId: string;
  updatedAt: string;
}

async function created<T>(response: Promise<{ status: number; body: T }>): Promise<T> {
  const { status, body } = await response;
  if (status !== 201) throw new Error(`expected 201, got ${status}: ${JSON.stringify(body)}`);
  return body;
}

beforeAll(async () => {
  database = await createTestDatabase('httprw');
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
  });
  for (const who of ['owner', 'editor', 'viewer', 'outsider'] as const) {
    users[who] = (await created(admin<{ id: string }>('POST', '/api/admin/users', { email: `${who}@example.org`, name: `The ${who}` }))).id;
    tokens[who] = (await created(admin<{ token: string }>('POST', '/api/admin/tokens', { userId: users[who] }))).token;
  }
  privateProject = (await created(admin<{ id: string }>('POST', '/api/admin/projects', { name: 'Private', ownerId: users.owner }))).id;
  publicProject = (
    await created(admin<{ id: string }>('POST', '/api/admin/projects', { name: 'Public', ownerId: users.owner, visibility: 'public' }))
  ).id;
  expect((await admin('POST', `/api/admin/projects/${privateProject}/members`, { userId: users.editor, role: 'editor' })).status).toBe(204);
  expect((await admin('POST', `/api/admin/projects/${privateProject}/members`, { userId: users.viewer, role: 'viewer' })).status).toBe(204);
  await created(admin('POST', '/api/admin/documents', { projectId: privateProject, name: 'rw/private paper', kind: 'paper' }));
  await created(admin('POST', '/api/admin/documents', { projectId: publicProject, name: 'rw/public tree', kind: 'research_tree' }));
});

afterAll(async () => {
  await server?.close();
  await database?.drop();
});

const names = (listed: Listed[]) => listed.map((document) => document.name).sort();

describe('GET /api/me', () => {
  it.each(['owner', 'editor', 'viewer', 'outsider'] as const)('%s: the token’s user', async (who) => {
    const me = await api('GET', '/api/me', { token: tokens[who] });
    expect(me).toMatchObject({ status: 200, body: { id: users[who], name: `The ${who}`, email: `${who}@example.org` } });
  });
});

describe('tokens that are refused with 401 and the reason', () => {
  const other = new Tokens('another-secret-entirely-0123456789');
  const ours = new Tokens(SECRET);
  const cases: Array<[string, () => Promise<{ token?: string; authorization?: string }>, RegExp]> = [
    ['no token', async () => ({}), /authentication required/],
    ['an expired token', async () => ({ token: (await ours.mint(users.owner, -60)).token }), /token expired/],
    ['a token signed with another secret', async () => ({ token: (await other.mint(users.owner)).token }), /bad signature/],
    ['an alg: none token', async () => ({ token: algNoneToken(users.owner) }), /invalid token/],
    ['garbage', async () => ({ token: 'not.a.jwt' }), /invalid token/],
    ['a token of an unknown user', async () => ({ token: (await ours.mint(crypto.randomUUID())).token }), /unknown user/],
    ['a malformed Authorization header', async () => ({ authorization: `Token ${tokens.owner}` }), /Bearer/],
  ];

  it.each(cases)('%s', async (_label, credentials, reason) => {
    const options = await credentials();
    const requests = [
      api<ErrorBody>('GET', '/api/me', options),
      api<ErrorBody>('GET', '/api/documents', options),
      // Authentication comes first: even a bad body is answered 401.
      api<ErrorBody>('POST', '/api/documents', { ...options, body: { name: 'rw/never', kind: 'novel' } }),
      api<ErrorBody>('GET', `/api/documents/${encodeURIComponent('rw/private paper')}/history`, options),
    ];
    for (const response of await Promise.all(requests)) {
      expect(response.status).toBe(401);
      expect(response.body.error).toMatch(reason);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it('a revoked session', async () => {
    const { token, sessionId } = await created(
      admin<{ token: string; sessionId: string }>('POST', '/api/admin/tokens', { userId: users.editor }),
    );
    expect((await api('GET', '/api/documents', { token })).status).toBe(200);
    expect((await admin('POST', `/api/admin/sessions/${sessionId}/revoke`)).status).toBe(204);
    for (const response of await Promise.all([
      api<ErrorBody>('GET', '/api/me', { token }),
      api<ErrorBody>('GET', '/api/documents', { token }),
    ])) {
      expect(response).toMatchObject({ status: 401, body: { error: 'session revoked' } });
    }
    // The user's other sessions are untouched.
    expect((await api('GET', '/api/me', { token: tokens.editor })).status).toBe(200);
  });

  it('a token minted by `npm run token` is accepted', async () => {
    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, [path.join(ROOT, 'dist/cli/token.js'), '--user', users.viewer, '--ttl', '120'], {
      env: { ...process.env, AUTH_SECRET: SECRET },
    });
    const me = await api('GET', '/api/me', { token: stdout.trim() });
    expect(me).toMatchObject({ status: 200, body: { id: users.viewer } });
  });
});

describe('GET /api/documents', () => {
  it('lists what each caller can read: members their projects, everyone public projects', async () => {
    const listed = async (who: Who, query = '') => {
      const response = await api<Listed[]>('GET', `/api/documents${query}`, { token: tokens[who] });
      expect(response.status).toBe(200);
      return response.body;
    };
    for (const who of ['owner', 'editor', 'viewer'] as const)
      expect(names(await listed(who))).toEqual(['rw/private paper', 'rw/public tree']);
    expect(names(await listed('outsider'))).toEqual(['rw/public tree']);

    const [tree] = await listed('outsider');
    expect(tree).toEqual({
      id: expect.any(String),
      name: 'rw/public tree',
      kind: 'research_tree',
      projectId: publicProject,
      updatedAt: expect.any(String),
    });
    expect(Number.isNaN(Date.parse(tree!.updatedAt))).toBe(false);

    expect(names(await listed('editor', `?projectId=${privateProject}`))).toEqual(['rw/private paper']);
    expect(names(await listed('outsider', `?projectId=${privateProject}`))).toEqual([]);
    const bad = await api<ErrorBody>('GET', '/api/documents?projectId=private', { token: tokens.owner });
    expect(bad).toMatchObject({ status: 400, body: { error: 'projectId: Invalid UUID' } });
  });
});

describe('POST /api/documents', () => {
  it('creates for an owner or editor of the project (201 {id,name,kind})', async () => {
    const byOwner = await api('POST', '/api/documents', {
      token: tokens.owner,
      body: { name: 'rw/by owner', kind: 'paper', projectId: privateProject },
    });
    expect(byOwner).toMatchObject({ status: 201, body: { id: expect.any(String), name: 'rw/by owner', kind: 'paper' } });
    expect(Object.keys(byOwner.body).sort()).toEqual(['id', 'kind', 'name']);
    const byEditor = await api('POST', '/api/documents', {
      token: tokens.editor,
      body: { name: 'rw/by editor', kind: 'research_tree', projectId: privateProject },
    });
    expect(byEditor).toMatchObject({ status: 201, body: { name: 'rw/by editor', kind: 'research_tree' } });
    const listed = await api<Listed[]>('GET', `/api/documents?projectId=${privateProject}`, { token: tokens.viewer });
    expect(names(listed.body)).toEqual(['rw/by editor', 'rw/by owner', 'rw/private paper']);
  });

  it('answers 409 when the name is taken (in any project)', async () => {
    const again = await api<ErrorBody>('POST', '/api/documents', {
      token: tokens.editor,
      body: { name: 'rw/by owner', kind: 'paper', projectId: privateProject },
    });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/already exists/);
    const elsewhere = await api('POST', '/api/documents', {
      token: tokens.owner,
      body: { name: 'rw/public tree', kind: 'paper', projectId: privateProject },
    });
    expect(elsewhere.status).toBe(409);
  });

  it('answers 403 to a viewer, an outsider, and anyone but owners/editors of a public project', async () => {
    const viewer = await api<ErrorBody>('POST', '/api/documents', {
      token: tokens.viewer,
      body: { name: 'rw/by viewer', kind: 'paper', projectId: privateProject },
    });
    expect(viewer.status).toBe(403);
    expect(viewer.body.error).toMatch(/viewer/);
    const outsider = await api<ErrorBody>('POST', '/api/documents', {
      token: tokens.outsider,
      body: { name: 'rw/by outsider', kind: 'paper', projectId: privateProject },
    });
    expect(outsider.status).toBe(403);
    expect(outsider.body.error).toMatch(/not a member/);
    const onPublic = await api('POST', '/api/documents', {
      token: tokens.outsider,
      body: { name: 'rw/on public', kind: 'paper', projectId: publicProject },
    });
    expect(onPublic.status).toBe(403);
    const listed = await api<Listed[]>('GET', '/api/documents', { token: tokens.owner });
    expect(names(listed.body).filter((name) => /viewer|outsider|on public/.test(name))).toEqual([]);
  });

  it('answers 400 naming the field, and 404 for an unknown project', async () => {
    const cases: Array<[unknown, string]> = [
      [{ name: 'rw/x', kind: 'paper' }, 'projectId: Required'],
      [{ name: 'rw/x', kind: 'novel', projectId: privateProject }, 'kind: '],
      [{ name: '', kind: 'paper', projectId: privateProject }, 'name: '],
      [{ kind: 'paper', projectId: privateProject }, 'name: Required'],
      [{ name: 'rw/x', kind: 'paper', projectId: 'lab' }, 'projectId: Invalid UUID'],
      [{ name: 'rw/x', kind: 'paper', projectId: privateProject, owner: 'me' }, 'body: Unrecognized key'],
      ['name=rw/x', 'body: not valid JSON'],
    ];
    for (const [body, message] of cases) {
      const response = await api<ErrorBody>('POST', '/api/documents', { token: tokens.owner, body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error.startsWith(message), response.body.error).toBe(true);
    }
    const unknown = await api('POST', '/api/documents', {
      token: tokens.owner,
      body: { name: 'rw/x', kind: 'paper', projectId: crypto.randomUUID() },
    });
    expect(unknown.status).toBe(404);
  });
});

describe('GET /api/documents/:name/history', () => {
  const history = (name: string, who: Who) =>
    api<ErrorBody & { entries: unknown[] }>('GET', `/api/documents/${encodeURIComponent(name)}/history`, { token: tokens[who] });

  it('is readable by members (viewers too) and, for public projects, by everyone', async () => {
    for (const who of ['owner', 'editor', 'viewer'] as const) {
      const response = await history('rw/private paper', who);
      expect(response.status).toBe(200);
      expect(response.body.entries).toEqual([]);
    }
    expect((await history('rw/public tree', 'outsider')).status).toBe(200);
  });

  it('answers 403 to an outsider of a private project and 404 for an unknown document', async () => {
    const denied = await history('rw/private paper', 'outsider');
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatch(/no access/);
    expect((await history('rw/no such paper', 'owner')).status).toBe(404);
  });
});

describe('the audit log', () => {
  it('holds every 403, with who was refused what', async () => {
    const response = await admin<{
      entries: Array<{
        actor: string;
        actorUserId: string | null;
        action: string;
        resourceType: string;
        resourceId: string;
        details: Record<string, unknown>;
      }>;
    }>('GET', '/api/admin/audit?limit=1000');
    const denials = response.body.entries.filter((entry) => entry.action === 'permission.denied');
    const summary = denials.map((entry) => [entry.actor, entry.actorUserId, entry.resourceType, entry.details.method, entry.details.path]);
    expect(summary).toEqual(
      expect.arrayContaining([
        ['user', users.viewer, 'project', 'POST', '/api/documents'],
        ['user', users.outsider, 'project', 'POST', '/api/documents'],
        ['user', users.outsider, 'document', 'GET', `/api/documents/${encodeURIComponent('rw/private paper')}/history`],
      ]),
    );
    // Viewer and outsider on the private project, outsider on the public one, outsider's history read.
    expect(denials).toHaveLength(4);
    const history = denials.find((entry) => entry.resourceType === 'document')!;
    expect(history.details).toMatchObject({ name: 'rw/private paper', reason: expect.stringMatching(/no access/) });
    expect(
      response.body.entries
        .filter((entry) => entry.action === 'document.create' && entry.actor === 'user')
        .map((entry) => entry.actorUserId)
        .sort(),
    ).toEqual([users.owner, users.editor].sort());
  });
});
