/**
 * Open mode (no AUTH_SECRET): the API needs no token, everyone is the anonymous editor.
 * In memory (STORAGE=memory) and on PostgreSQL; without ADMIN_TOKEN the admin API does
 * not exist (404); with it but without AUTH_SECRET, minting a token is refused clearly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PROJECT_ID } from '../../server/persistence/documents.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { apiClient, type ErrorBody } from '../helpers/http.js';

interface Listed {
  id: string;
  name: string;
  kind: string;
  projectId: string;
  updatedAt: string | null;
}

describe('open mode in memory', () => {
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

  it('GET /api/me is the anonymous editor, with or without a token', async () => {
    expect(await api('GET', '/api/me')).toMatchObject({ status: 200, body: { id: null, name: null } });
    expect(await api('GET', '/api/me', { token: 'anything' })).toMatchObject({ status: 200, body: { id: null, name: null } });
  });

  it('creates documents in the default project and lists them', async () => {
    expect(await api('GET', '/api/documents')).toMatchObject({ status: 200, body: [] });
    const created = await api('POST', '/api/documents', { body: { name: 'open/one', kind: 'paper' } });
    expect(created).toMatchObject({ status: 201, body: { id: expect.any(String), name: 'open/one', kind: 'paper' } });
    expect((await api('POST', '/api/documents', { body: { name: 'open/tree', kind: 'research_tree' } })).status).toBe(201);

    const listed = await api<Listed[]>('GET', '/api/documents');
    expect(listed.status).toBe(200);
    expect(listed.body.map((document) => document.name).sort()).toEqual(['open/one', 'open/tree']);
    expect(listed.body.find((document) => document.name === 'open/one')).toEqual({
      id: created.body.id,
      name: 'open/one',
      kind: 'paper',
      projectId: DEFAULT_PROJECT_ID,
      updatedAt: null,
    });
    expect((await api<Listed[]>('GET', `/api/documents?projectId=${crypto.randomUUID()}`)).body).toEqual([]);
    expect((await api<Listed[]>('GET', `/api/documents?projectId=${DEFAULT_PROJECT_ID}`)).body).toHaveLength(2);
  });

  it('answers 409 for a taken name and 400 naming the field', async () => {
    const taken = await api<ErrorBody>('POST', '/api/documents', { body: { name: 'open/one', kind: 'research_tree' } });
    expect(taken.status).toBe(409);
    const bad = await api<ErrorBody>('POST', '/api/documents', { body: { name: 'open/two' } });
    expect(bad).toMatchObject({ status: 400, body: { error: 'kind: Required' } });
  });

  it('history: 404 for an unknown document; none kept in memory (501)', async () => {
    expect((await api('GET', '/api/documents/nothing/history')).status).toBe(404);
    expect((await api('GET', '/api/documents/open%2Fone/history')).status).toBe(501);
  });

  it('has no admin API without ADMIN_TOKEN (404)', async () => {
    for (const [method, path] of [
      ['POST', '/api/admin/users'],
      ['POST', '/api/admin/tokens'],
      ['GET', '/api/admin/audit'],
      ['POST', '/api/admin/sessions/x/revoke'],
    ] as const) {
      const body = method === 'POST' ? { email: 'a@example.org', name: 'A' } : undefined;
      const response = await api<ErrorBody>(method, path, { token: 'guess', body });
      expect(response.status).toBe(404);
    }
  });
});

describe('open mode on PostgreSQL', () => {
  const ADMIN = 'admin-http-open-0123456789abcdef';
  let database: TestDatabase;
  let server: RunningServer;
  const api = apiClient(() => server.port);

  beforeAll(async () => {
    database = await createTestDatabase('httpopen');
    server = await startServer({
      config: {
        port: 0,
        host: '127.0.0.1',
        storage: 'durable',
        databaseUrl: database.url,
        authSecret: undefined,
        adminToken: ADMIN,
        transport: 'uws',
        logLevel: 'silent',
      },
    });
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
  });

  it('creates and lists documents without a token', async () => {
    expect((await api('POST', '/api/documents', { body: { name: 'open-pg/one', kind: 'paper' } })).status).toBe(201);
    expect((await api('POST', '/api/documents', { body: { name: 'open-pg/one', kind: 'paper' } })).status).toBe(409);
    const listed = await api<Listed[]>('GET', '/api/documents');
    expect(listed.body).toEqual([
      { id: expect.any(String), name: 'open-pg/one', kind: 'paper', projectId: DEFAULT_PROJECT_ID, updatedAt: expect.any(String) },
    ]);
    expect((await api('GET', '/api/documents/open-pg%2Fone/history')).status).toBe(200);
    const nowhere = await api<ErrorBody>('POST', '/api/documents', {
      body: { name: 'open-pg/two', kind: 'paper', projectId: crypto.randomUUID() },
    });
    expect(nowhere.status).toBe(404);
  });

  it('refuses to mint tokens without AUTH_SECRET, saying so', async () => {
    const user = await api<{ id: string }>('POST', '/api/admin/users', { token: ADMIN, body: { email: 'open@example.org', name: 'Open' } });
    expect(user.status).toBe(201);
    const minted = await api<ErrorBody>('POST', '/api/admin/tokens', { token: ADMIN, body: { userId: user.body.id } });
    expect(minted.status).toBe(409);
    expect(minted.body.error).toMatch(/^AUTH_SECRET is not set/);
  });
});
