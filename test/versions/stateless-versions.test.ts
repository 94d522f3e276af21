/**
 * Versions over the Hocuspocus socket (Stateless request/response), in token mode: an editor
 * lists, names, fetches, diffs and restores without HTTP; answers go to the sender only;
 * other Stateless messages are still relayed; a viewer may read versions but naming and
 * restoring are refused with 403 — over the socket and over HTTP alike (one rule).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { apiClient, type ErrorBody } from '../helpers/http.js';
import {
  acknowledged,
  paperLines,
  path,
  startDurableServer,
  statelessClient,
  storedVersions,
  writePaper,
  type VersionBody,
  type VersionList,
} from '../helpers/versions.js';

const SECRET = 'test-secret-versions-stateless-0123456789';
const ADMIN = 'admin-versions-stateless-0123456789';

let database: TestDatabase;
let server: RunningServer;
const api = apiClient(() => server.port);
const admin = <T = Record<string, unknown>>(method: string, p: string, body?: unknown) => api<T>(method, p, { token: ADMIN, body });
const users = {} as Record<'editor' | 'viewer', string>;
const tokens = {} as Record<'editor' | 'viewer', string>;
const name = 'stateless/paper';

beforeAll(async () => {
  database = await createTestDatabase('verstateless');
  server = await startDurableServer(database, {
    authSecret: SECRET,
    adminToken: ADMIN,
    autoVersionQuietMs: 3_600_000,
    autoVersionMaxMs: 3_600_000,
  });
  for (const who of ['editor', 'viewer'] as const) {
    users[who] = (await admin<{ id: string }>('POST', '/api/admin/users', { email: `${who}@example.org`, name: `The ${who}` })).body.id;
    tokens[who] = (await admin<{ token: string }>('POST', '/api/admin/tokens', { userId: users[who] })).body.token;
  }
  const project = (await admin<{ id: string }>('POST', '/api/admin/projects', { name: 'Versions', ownerId: users.editor })).body.id;
  expect((await admin('POST', `/api/admin/projects/${project}/members`, { userId: users.viewer, role: 'viewer' })).status).toBe(204);
  expect((await admin('POST', '/api/admin/documents', { projectId: project, name, kind: 'paper' })).status).toBe(201);
});

afterAll(async () => {
  destroyProviders();
  await server?.close();
  await database?.drop();
});

describe('versions over Stateless', () => {
  const editorDoc = new Y.Doc();
  const viewerDoc = new Y.Doc();
  let editor: ReturnType<typeof hocuspocusProvider>;
  let viewer: ReturnType<typeof hocuspocusProvider>;
  let ask: ReturnType<typeof statelessClient>;
  let viewerAsks: ReturnType<typeof statelessClient>;
  const viewerReceived: string[] = [];

  it('names, lists, fetches and diffs versions', async () => {
    editor = hocuspocusProvider(server.port, name, editorDoc, { token: tokens.editor });
    viewer = hocuspocusProvider(server.port, name, viewerDoc, { token: tokens.viewer });
    viewer.on('stateless', ({ payload }: { payload: string }) => viewerReceived.push(payload));
    ask = statelessClient(editor);
    viewerAsks = statelessClient(viewer);
    writePaper(editorDoc, ['Alpha']);
    await acknowledged(editor);
    await waitFor(() => viewer.isSynced, 10_000, 'viewer synced');

    const first = await ask<VersionBody>('versions.create', { label: 'Alpha' });
    expect(first).toMatchObject({
      scriptorium: 'versions.create',
      status: 201,
      body: { version: 1, label: 'Alpha', kind: 'named', createdBy: users.editor, createdByName: 'The editor' },
    });
    writePaper(editorDoc, ['Alpha', 'Beta']);
    await acknowledged(editor);
    expect((await ask<VersionBody>('versions.create', {})).body).toMatchObject({ version: 2, label: null, parentVersion: 1 });

    const list = await ask<VersionList>('versions.list');
    expect(list.status).toBe(200);
    expect(list.body.versions.map((v) => v.version)).toEqual([2, 1]);
    // The same body as over HTTP.
    expect(list.body).toEqual((await api<VersionList>('GET', path(name, '/versions'), { token: tokens.editor })).body);

    const one = await ask<{ content: { text: string } }>('versions.get', { version: 1 });
    expect(one.status).toBe(200);
    expect(one.body.content.text).toBe('Alpha');

    const tree = await ask<{ kind: string; content: { text: string } }>('document.get');
    expect(tree.body.content.text).toBe('Alpha\nBeta');

    const diff = await ask<{ from: number; to: string; diff: { kind: string } }>('versions.diff', { version: 1, to: 'current' });
    expect(diff.status).toBe(200);
    expect(diff.body).toMatchObject({ from: 1, to: 'current', diff: { kind: 'paper' } });
    expect(JSON.stringify(diff.body.diff)).toContain('Beta');
  });

  it('restores over the socket: the other client receives it, the log names the editor', async () => {
    const restore = await ask<{ restoredFrom: number; version: VersionBody }>('versions.restore', { version: 1 });
    expect(restore.status).toBe(200);
    expect(restore.body).toMatchObject({ restoredFrom: 1, version: { label: 'Restored from v1', createdBy: users.editor } });
    await waitFor(() => paperLines(viewerDoc).join('|') === 'Alpha', 10_000, 'the viewer sees the restored content');
    expect(paperLines(editorDoc)).toEqual(['Alpha']);
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    try {
      const { rows } = await sql.query<{ user_id: string; operation_type: string }>(
        `select c.user_id, c.operation_type from collaborations c join documents d on d.id = c.document_id where d.name = $1 and c.operation_type = 'restore'`,
        [name],
      );
      expect(rows).toEqual([{ user_id: users.editor, operation_type: 'restore' }]);
    } finally {
      await sql.end();
    }
  });

  it('answers the sender only, and still relays every other Stateless message', async () => {
    const before = viewerReceived.length;
    await ask('versions.list');
    editor.sendStateless(JSON.stringify({ cursor: 'hello' }));
    await waitFor(() => viewerReceived.length > before, 5_000, 'the relayed message');
    await sleep(100);
    expect(viewerReceived.slice(before)).toEqual(['{"cursor":"hello"}']);
  });

  it('lets a viewer read versions but not name or restore them (403 over the socket and over HTTP)', async () => {
    const count = (await storedVersions(database, name)).length;
    expect((await viewerAsks<VersionList>('versions.list')).status).toBe(200);
    expect((await viewerAsks('versions.get', { version: 1 })).status).toBe(200);
    const name1 = await viewerAsks<ErrorBody>('versions.create', { label: 'mine' });
    expect(name1.status).toBe(403);
    expect(name1.body.error).toMatch(/owner or editor/);
    const restore = await viewerAsks<ErrorBody>('versions.restore', { version: 2 });
    expect(restore.status).toBe(403);
    expect((await api<ErrorBody>('POST', path(name, '/versions'), { token: tokens.viewer, body: { label: 'mine' } })).status).toBe(403);
    expect((await api<ErrorBody>('POST', path(name, '/versions/2/restore'), { token: tokens.viewer })).status).toBe(403);
    expect((await api<VersionList>('GET', path(name, '/versions'), { token: tokens.viewer })).status).toBe(200);
    expect((await api<ErrorBody>('GET', path(name, '/versions'))).status).toBe(401);
    expect((await storedVersions(database, name)).length).toBe(count);
    expect(paperLines(editorDoc)).toEqual(['Alpha']);
  });

  it('answers malformed requests with 400 and their requestId', async () => {
    const bad = await ask<ErrorBody>('versions.get', { version: 'one' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/version/);
    const unknown = await ask<ErrorBody>('versions.explode');
    expect(unknown.status).toBe(400);
    const missing = await ask<ErrorBody>('versions.get', { version: 77 });
    expect(missing.status).toBe(404);
  });
});
