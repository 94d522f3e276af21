/**
 * Blame of a research tree, token mode: who created each node and who changed it last (a
 * title set, a move, a field removed), and the authors' counts of title characters. Editors
 * take turns, each waiting for the server's acknowledgement, so every change is stored after
 * the one before.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { HocuspocusProvider } from '@hocuspocus/provider';
import type { DocumentAuthor, TreeBlame } from '../../server/authorship/authorship-types.js';
import { createNode, moveNode, renameNode } from '../../server/research-trees/operations.js';
import { NODES_MAP } from '../../server/research-trees/render.js';
import type { RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { apiClient } from '../helpers/http.js';
import { destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { acknowledged, path, startDurableServer } from '../helpers/versions.js';
import { sleep, waitFor } from '../helpers/wait.js';

const SECRET = 'test-secret-tree-blame-0123456789abcdef';
const ADMIN = 'admin-tree-blame-0123456789abcdef';
const NAME = 'authorship/tree';

let database: TestDatabase;
let server: RunningServer;

beforeAll(async () => {
  database = await createTestDatabase('authtree');
  server = await startDurableServer(database, { authSecret: SECRET, adminToken: ADMIN });
});

afterAll(async () => {
  destroyProviders();
  await server?.close();
  await database?.drop();
});

it('names the creator and the last editor of every node', async () => {
  const api = apiClient(() => server.port);
  const admin = async <T>(p: string, body: unknown): Promise<T> => (await api<T>('POST', `/api/admin${p}`, { token: ADMIN, body })).body;
  const users: Record<string, { id: string; token: string; doc: Y.Doc; provider?: HocuspocusProvider }> = {};
  for (const name of ['Ada', 'Bob', 'Cy']) {
    const { id } = await admin<{ id: string }>('/users', { email: `${name}@example.org`, name });
    const { token } = await admin<{ token: string }>('/tokens', { userId: id });
    users[name] = { id, token, doc: new Y.Doc() };
  }
  const { id: projectId } = await admin<{ id: string }>('/projects', { name: 'Trees', ownerId: users.Ada!.id });
  for (const name of ['Bob', 'Cy']) await admin(`/projects/${projectId}/members`, { userId: users[name]!.id, role: 'editor' });
  await admin('/documents', { projectId, name: NAME, kind: 'research_tree' });
  for (const user of Object.values(users)) user.provider = hocuspocusProvider(server.port, NAME, user.doc, { token: user.token });
  await waitFor(() => Object.values(users).every((user) => user.provider!.isSynced), 10_000, 'synced');

  /** One user's change, stored, and seen by the others before the next. */
  const turn = async (who: string, change: (doc: Y.Doc) => void): Promise<void> => {
    const user = users[who]!;
    change(user.doc);
    await acknowledged(user.provider!);
    const state = Y.encodeStateVector(user.doc);
    await waitFor(
      () => Object.values(users).every((other) => Buffer.compare(Buffer.from(Y.encodeStateVector(other.doc)), Buffer.from(state)) === 0),
      5_000,
      'everyone has it',
    );
    await sleep(5);
  };
  await turn('Ada', (doc) => {
    createNode(doc, { id: 'question', title: 'Why?' });
    createNode(doc, { id: 'method', title: 'How', status: 'open', parentId: 'question' });
  });
  await turn('Ada', (doc) => createNode(doc, { id: 'untouched', title: 'Aside' }));
  await turn('Bob', (doc) => renameNode(doc, 'question', 'Why, really?'));
  await turn('Cy', (doc) => doc.getMap<Y.Map<unknown>>(NODES_MAP).get('method')!.delete('status'));
  await turn('Cy', (doc) => createNode(doc, { id: 'result', title: 'Data', parentId: 'question' }));
  await turn('Bob', (doc) => moveNode(doc, 'result', null));

  const blame = await api<TreeBlame>('GET', path(NAME, '/blame'), { token: users.Cy!.token });
  expect(blame.status).toBe(200);
  const byId = Object.fromEntries(blame.body.nodes.map((node) => [node.id, [node.createdByName, node.lastEditedByName]]));
  expect(byId).toEqual({
    question: ['Ada', 'Bob'],
    method: ['Ada', 'Cy'],
    untouched: ['Ada', 'Ada'],
    result: ['Cy', 'Bob'],
  });
  for (const node of blame.body.nodes) {
    expect(node.createdBy).toBe(users[node.createdByName!]!.id);
    expect(node.lastEditedBy).toBe(users[node.lastEditedByName!]!.id);
  }
  // In the rendered (depth-first) order.
  expect(blame.body.nodes.map((node) => node.id)).toEqual(['question', 'method', 'untouched', 'result']);

  const authors = await api<DocumentAuthor[]>('GET', path(NAME, '/authors'), { token: users.Ada!.token });
  // Titles are the characters of a tree: Ada "Why?" "How" "Aside", Bob "Why, really?" (replacing "Why?"), Cy "Data".
  expect(authors.body.map(({ name, insertedChars, deletedChars }) => ({ name, insertedChars, deletedChars }))).toEqual([
    { name: 'Bob', insertedChars: 12, deletedChars: 4 },
    { name: 'Ada', insertedChars: 12, deletedChars: 0 },
    { name: 'Cy', insertedChars: 4, deletedChars: 0 },
  ]);
}, 60_000);
