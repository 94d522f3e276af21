/**
 * A change the server makes on someone's behalf is theirs: a version restore and HTTP edit ops
 * (server-origin updates, stored with the caller's user id, each made on a copy with a client
 * id of its own) are attributed to the user who asked for them, and what they left untouched
 * to whoever wrote it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { DocumentAuthor, PaperBlame } from '../../server/authorship/authorship-types.js';
import type { RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { apiClient } from '../helpers/http.js';
import { destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { acknowledged, paperLines, path, startDurableServer, writePaper } from '../helpers/versions.js';
import { waitFor } from '../helpers/wait.js';

const SECRET = 'test-secret-authorship-restore-0123456789';
const ADMIN = 'admin-authorship-restore-0123456789';
const NAME = 'authorship/restored';

let database: TestDatabase;
let server: RunningServer;

beforeAll(async () => {
  database = await createTestDatabase('authrestore');
  server = await startDurableServer(database, { authSecret: SECRET, adminToken: ADMIN });
});

afterAll(async () => {
  destroyProviders();
  await server?.close();
  await database?.drop();
});

it('attributes a restore and edit ops to the user who asked for them', async () => {
  const api = apiClient(() => server.port);
  const admin = async <T>(p: string, body: unknown): Promise<T> => (await api<T>('POST', `/api/admin${p}`, { token: ADMIN, body })).body;
  const ada = (await admin<{ id: string }>('/users', { email: 'ada@example.org', name: 'Ada' })).id;
  const bob = (await admin<{ id: string }>('/users', { email: 'bob@example.org', name: 'Bob' })).id;
  const adaToken = (await admin<{ token: string }>('/tokens', { userId: ada })).token;
  const bobToken = (await admin<{ token: string }>('/tokens', { userId: bob })).token;
  const { id: projectId } = await admin<{ id: string }>('/projects', { name: 'Restores', ownerId: ada });
  await admin(`/projects/${projectId}/members`, { userId: bob, role: 'editor' });
  await admin('/documents', { projectId, name: NAME, kind: 'paper' });

  const doc = new Y.Doc();
  const provider = hocuspocusProvider(server.port, NAME, doc, { token: adaToken });
  await waitFor(() => provider.isSynced, 5_000, 'synced');
  writePaper(doc, ['Kept', 'Old']);
  await acknowledged(provider);
  expect((await api('POST', path(NAME, '/versions'), { token: adaToken, body: { label: 'old' } })).status).toBe(201);
  // Ada rewrites the second paragraph; Bob restores the version.
  doc.transact(() => {
    const text = (doc.getXmlFragment('default').get(1) as Y.XmlElement).get(0) as Y.XmlText;
    text.delete(0, 3);
    text.insert(0, 'New');
  });
  await acknowledged(provider);
  expect((await api('POST', path(NAME, '/versions/1/restore'), { token: bobToken })).status).toBe(200);
  await waitFor(() => paperLines(doc).join('|') === 'Kept|Old', 5_000, 'the restore arrives');

  // Ada's edit ops over HTTP: answered once stored.
  const edits = await api('POST', path(NAME, '/edits'), {
    token: adaToken,
    body: { ops: [{ op: 'replace', find: 'Kept', with: 'Held' }] },
  });
  expect(edits.status).toBe(200);
  const appended = await api('POST', path(NAME, '/edits'), { token: bobToken, body: { ops: [{ op: 'append', markdown: 'Appended.' }] } });
  expect(appended.status).toBe(200);

  const blame = await api<PaperBlame>('GET', path(NAME, '/blame'), { token: adaToken });
  expect(blame.body.spans.map((span) => [blame.body.text.slice(span.from, span.to), span.name])).toEqual([
    ['Held', 'Ada'],
    ['Old', 'Bob'],
    ['Appended.', 'Bob'],
  ]);
  const authors = await api<DocumentAuthor[]>('GET', path(NAME, '/authors'), { token: bobToken });
  expect(authors.body.map(({ name, insertedChars, deletedChars }) => ({ name, insertedChars, deletedChars }))).toEqual([
    { name: 'Ada', insertedChars: 14, deletedChars: 7 },
    { name: 'Bob', insertedChars: 12, deletedChars: 3 },
  ]);
}, 30_000);
