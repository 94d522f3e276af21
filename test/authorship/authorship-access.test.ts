/**
 * Who may read authorship: as every read route, a member in any role (a viewer too) and
 * anyone with a valid token for a public project; 401 without a valid token, 403 for an
 * outsider (audited like other denials), 404 for an unknown document. Without a database
 * (STORAGE=memory) there is no log to derive it from: 501.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { DocumentAuthor, PaperBlame } from '../../server/authorship/authorship-types.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { apiClient, type ErrorBody } from '../helpers/http.js';
import { destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { acknowledged, path, startDurableServer, writePaper } from '../helpers/versions.js';
import { waitFor } from '../helpers/wait.js';

const SECRET = 'test-secret-authorship-access-0123456789';
const ADMIN = 'admin-authorship-access-0123456789';
const PRIVATE = 'authorship/private paper';
const PUBLIC = 'authorship/public paper';
const ROUTES = ['/authors', '/blame'];

describe('token mode', () => {
  let database: TestDatabase;
  let server: RunningServer;
  const api = apiClient(() => server.port);
  const tokens: Record<string, string> = {};
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    database = await createTestDatabase('authaccess');
    server = await startDurableServer(database, { authSecret: SECRET, adminToken: ADMIN });
    const admin = async <T>(p: string, body: unknown): Promise<T> => (await api<T>('POST', `/api/admin${p}`, { token: ADMIN, body })).body;
    for (const who of ['owner', 'viewer', 'outsider']) {
      ids[who] = (await admin<{ id: string }>('/users', { email: `${who}@example.org`, name: `The ${who}` })).id;
      tokens[who] = (await admin<{ token: string }>('/tokens', { userId: ids[who] })).token;
    }
    const project = (await admin<{ id: string }>('/projects', { name: 'Private', ownerId: ids.owner })).id;
    await admin(`/projects/${project}/members`, { userId: ids.viewer, role: 'viewer' });
    const open = (await admin<{ id: string }>('/projects', { name: 'Public', ownerId: ids.owner, visibility: 'public' })).id;
    await admin('/documents', { projectId: project, name: PRIVATE, kind: 'paper' });
    await admin('/documents', { projectId: open, name: PUBLIC, kind: 'paper' });
    for (const name of [PRIVATE, PUBLIC]) {
      const doc = new Y.Doc();
      const provider = hocuspocusProvider(server.port, name, doc, { token: tokens.owner });
      await waitFor(() => provider.isSynced, 5_000, 'synced');
      writePaper(doc, ['Written by the owner.']);
      await acknowledged(provider);
    }
    destroyProviders();
  });

  afterAll(async () => {
    destroyProviders();
    await server?.close();
    await database?.drop();
  });

  it('members in any role read it, the viewer as the owner', async () => {
    for (const route of ROUTES) {
      const owner = await api('GET', path(PRIVATE, route), { token: tokens.owner });
      const viewer = await api('GET', path(PRIVATE, route), { token: tokens.viewer });
      expect(owner.status, route).toBe(200);
      expect(viewer, route).toMatchObject({ status: 200, body: owner.body });
    }
    const authors = await api<DocumentAuthor[]>('GET', path(PRIVATE, '/authors'), { token: tokens.viewer });
    expect(authors.body).toEqual([
      {
        userId: ids.owner,
        name: 'The owner',
        insertedChars: 'Written by the owner.'.length,
        deletedChars: 0,
        firstEditAt: expect.any(String),
        lastEditAt: expect.any(String),
      },
    ]);
    const blame = await api<PaperBlame>('GET', path(PRIVATE, '/blame'), { token: tokens.viewer });
    expect(blame.body).toEqual({ text: 'Written by the owner.', spans: [{ from: 0, to: 21, userId: ids.owner, name: 'The owner' }] });
  });

  it('an outsider reads a public project’s document, and gets 403 for a private one', async () => {
    for (const route of ROUTES) {
      expect((await api('GET', path(PUBLIC, route), { token: tokens.outsider })).status, route).toBe(200);
      const denied = await api<ErrorBody>('GET', path(PRIVATE, route), { token: tokens.outsider });
      expect(denied.status, route).toBe(403);
      expect(denied.body.error, route).toMatch(/no access/);
    }
  });

  it('401 without a valid token, 404 for an unknown document', async () => {
    for (const route of ROUTES) {
      const none = await api<ErrorBody>('GET', path(PRIVATE, route));
      expect(none.status, route).toBe(401);
      expect(none.headers.get('www-authenticate'), route).toBe('Bearer');
      expect((await api('GET', path(PRIVATE, route), { token: 'not.a.jwt' })).status, route).toBe(401);
      expect((await api('GET', path('authorship/no such paper', route), { token: tokens.owner })).status, route).toBe(404);
    }
  });
});

describe('STORAGE=memory', () => {
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
    expect((await api('POST', '/api/documents', { body: { name: 'memory/paper', kind: 'paper' } })).status).toBe(201);
  });
  afterAll(() => server?.close());

  it('has no log to derive authorship from: 501', async () => {
    for (const route of ROUTES) {
      const response = await api<ErrorBody>('GET', path('memory/paper', route));
      expect(response.status, route).toBe(501);
      expect(response.body.error, route).toMatch(/STORAGE=memory/);
    }
  });
});
