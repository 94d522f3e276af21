/**
 * `GET /api/projects`: the caller's projects with their role (token mode: memberships, and
 * public projects with role null, read under row-level security), the default project in open
 * mode, 401 without a valid token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PROJECT_ID } from '../../server/persistence/documents.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { apiClient } from '../helpers/http.js';

const SECRET = 'test-secret-http-projects-0123456789';
const ADMIN = 'admin-http-projects-0123456789abcdef';

interface Project {
  id: string;
  name: string;
  role: string | null;
}

async function created<T>(response: Promise<{ status: number; body: T }>): Promise<T> {
  const { status, body } = await response;
  if (status !== 201) throw new Error(`expected 201, got ${status}: ${JSON.stringify(body)}`);
  return body;
}

describe('token mode', () => {
  let database: TestDatabase;
  let server: RunningServer;
  const api = apiClient(() => server.port);
  const admin = <T = Record<string, unknown>>(method: string, p: string, body?: unknown) => api<T>(method, p, { token: ADMIN, body });
  const tokens: Record<string, string> = {};
  const projects: Record<string, string> = {};

  beforeAll(async () => {
    database = await createTestDatabase('httpprojects');
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
    const users: Record<string, string> = {};
    for (const who of ['ada', 'grace', 'outsider']) {
      users[who] = (await created(admin<{ id: string }>('POST', '/api/admin/users', { email: `${who}@example.org`, name: who }))).id;
      tokens[who] = (await created(admin<{ token: string }>('POST', '/api/admin/tokens', { userId: users[who] }))).token;
    }
    projects.engines = (await created(admin<{ id: string }>('POST', '/api/admin/projects', { name: 'Engines', ownerId: users.ada! }))).id;
    projects.compilers = (
      await created(admin<{ id: string }>('POST', '/api/admin/projects', { name: 'Compilers', ownerId: users.grace! }))
    ).id;
    projects.shared = (
      await created(
        admin<{ id: string }>('POST', '/api/admin/projects', { name: 'Shared notes', ownerId: users.grace!, visibility: 'public' }),
      )
    ).id;
    expect((await admin('POST', `/api/admin/projects/${projects.engines}/members`, { userId: users.grace, role: 'viewer' })).status).toBe(
      204,
    );
    expect((await admin('POST', `/api/admin/projects/${projects.shared}/members`, { userId: users.ada, role: 'editor' })).status).toBe(204);
  });

  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  it('lists each user’s memberships with their role and the public projects with role null', async () => {
    const ada = await api<Project[]>('GET', '/api/projects', { token: tokens.ada });
    expect(ada.status).toBe(200);
    expect(ada.body).toEqual([
      { id: projects.engines, name: 'Engines', role: 'owner' },
      { id: DEFAULT_PROJECT_ID, name: 'Open mode', role: null },
      { id: projects.shared, name: 'Shared notes', role: 'editor' },
    ]);
    const grace = await api<Project[]>('GET', '/api/projects', { token: tokens.grace });
    expect(grace.body).toEqual([
      { id: projects.compilers, name: 'Compilers', role: 'owner' },
      { id: projects.engines, name: 'Engines', role: 'viewer' },
      { id: DEFAULT_PROJECT_ID, name: 'Open mode', role: null },
      { id: projects.shared, name: 'Shared notes', role: 'owner' },
    ]);
    const outsider = await api<Project[]>('GET', '/api/projects', { token: tokens.outsider });
    expect(outsider.body).toEqual([
      { id: DEFAULT_PROJECT_ID, name: 'Open mode', role: null },
      { id: projects.shared, name: 'Shared notes', role: null },
    ]);
  });

  it('refuses a request without a valid token', async () => {
    expect((await api('GET', '/api/projects')).status).toBe(401);
    expect((await api('GET', '/api/projects', { token: 'not-a-token' })).status).toBe(401);
  });
});

describe('open mode', () => {
  let server: RunningServer;
  const api = apiClient(() => server.port);

  beforeAll(async () => {
    server = await startServer({
      config: {
        port: 0,
        host: '127.0.0.1',
        storage: 'memory',
        authSecret: undefined,
        adminToken: undefined,
        transport: 'uws',
        logLevel: 'silent',
      },
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('lists the default project, where everyone is an editor', async () => {
    const response = await api<Project[]>('GET', '/api/projects');
    expect(response.status).toBe(200);
    expect(response.body).toEqual([{ id: DEFAULT_PROJECT_ID, name: 'Open mode', role: 'editor' }]);
  });
});
