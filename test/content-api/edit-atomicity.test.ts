/**
 * Edit ops are all or nothing: when any op of a request cannot apply (an anchor or text not
 * found, an unknown node, an op that is not one), the answer is 422 naming it, and the
 * document is byte-identical — the live room's state, what is stored (log rows and folded
 * state) and what the live clients of both protocols hold — even though the ops before it
 * could apply. The same request without the failing op changes all three. Real PostgreSQL.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { renderPaper } from '../../server/documents/paper.js';
import { renderTree } from '../../server/research-trees/render.js';
import type { RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { apiClient } from '../helpers/http.js';
import { destroyProviders, hocuspocusProvider, yWebsocketProvider } from '../helpers/providers.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { startDurableServer } from '../helpers/versions.js';
import { docOf, liveState, postEdits } from './content-client.js';

let database: TestDatabase;
let server: RunningServer;
let sql: pg.Client;
const api = apiClient(() => server.port);

beforeAll(async () => {
  database = await createTestDatabase('contentatom');
  server = await startDurableServer(database);
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
});

afterAll(async () => {
  destroyProviders();
  await sql?.end();
  await server?.close();
  await database?.drop();
});

/**
 * What is stored of the document: the state its log (every row, in order) makes, and the rows.
 * The log is the whole story: compaction folds it into `documents.state` in the background
 * but keeps the rows, so the folded state is not compared (it may change at any time).
 */
async function stored(name: string): Promise<{ state: Uint8Array; rows: string[] }> {
  const { rows } = await sql.query<{ position: string; update: Buffer }>(
    'select c.position, c.update from collaborations c join documents d on d.id = c.document_id where d.name = $1 order by c.position',
    [name],
  );
  const doc = new Y.Doc();
  for (const row of rows) Y.applyUpdate(doc, new Uint8Array(row.update));
  return { state: Y.encodeStateAsUpdate(doc), rows: rows.map((row) => row.position) };
}

/** A document with a Hocuspocus and a y-websocket client on it, both synced. */
async function liveDocument(name: string, kind: 'paper' | 'research_tree', content?: string): Promise<{ clients: Y.Doc[] }> {
  expect((await api('POST', '/api/documents', { body: { name, kind, ...(content !== undefined ? { content } : {}) } })).status).toBe(201);
  const clients = [new Y.Doc(), new Y.Doc()];
  const hocuspocus = hocuspocusProvider(server.port, name, clients[0]);
  const yWebsocket = yWebsocketProvider(server.port, name, clients[1]);
  await waitFor(() => hocuspocus.isSynced && yWebsocket.synced, 10_000, 'both clients synced');
  return { clients };
}

interface Snapshot {
  readonly live: Uint8Array;
  readonly stored: { state: Uint8Array; rows: string[] };
  readonly clients: Uint8Array[];
}

async function snapshot(name: string, clients: readonly Y.Doc[]): Promise<Snapshot> {
  return {
    live: await liveState(server.port, name),
    stored: await stored(name),
    clients: clients.map((doc) => Y.encodeStateAsUpdate(doc)),
  };
}

async function expectUnchanged(name: string, clients: readonly Y.Doc[], before: Snapshot): Promise<void> {
  // Long enough for a relayed change to have reached the clients and a commit the database.
  await sleep(300);
  const after = await snapshot(name, clients);
  expect(after.live).toEqual(before.live);
  expect(after.stored).toEqual(before.stored);
  after.clients.forEach((state, i) => expect(state, `client ${i}`).toEqual(before.clients[i]));
}

describe('a paper', () => {
  const name = 'atomic/paper';
  let clients: Y.Doc[];
  const valid = [
    { op: 'append', markdown: 'Added at the end.' },
    { op: 'insert', after: 'Added at the end', markdown: '## After the added block' },
    { op: 'replace', find: 'Intro', with: 'Introduction' },
  ];

  beforeAll(async () => {
    ({ clients } = await liveDocument(name, 'paper', '# Intro\n\nBody text.\n'));
  });

  it.each([
    ['an anchor that is not there', { op: 'insert', after: 'no such text', markdown: 'x' }, /not found|no block/i],
    ['text to delete that is not there', { op: 'delete', find: 'absent' }, /not found|absent/i],
    ['an op that is not one', { op: 'explode' }, /^op: /],
  ])('%s after ops that could apply: 422 naming it, and nothing changes', async (_label, failing, message) => {
    const before = await snapshot(name, clients);
    const answer = await postEdits<{ error: string; op: number }>(server.port, name, [...valid, failing]);
    expect(answer.status).toBe(422);
    expect(answer.body).toEqual({ error: expect.stringMatching(message), op: valid.length });
    await expectUnchanged(name, clients, before);
  });

  it('the same ops without the failing one change the room, the storage and both clients', async () => {
    const before = await snapshot(name, clients);
    const answer = await postEdits(server.port, name, valid);
    expect(answer).toMatchObject({ status: 200, body: { applied: 3 } });
    // Committed before the answer: the log has the edit already.
    const expected = 'Introduction\nBody text.\nAdded at the end.\nAfter the added block';
    const after = await stored(name);
    expect(after.rows).toHaveLength(before.stored.rows.length + 1);
    expect(renderPaper(docOf(after.state)).text).toBe(expected);
    expect(renderPaper(docOf(await liveState(server.port, name))).text).toBe(expected);
    for (const doc of clients) await waitFor(() => renderPaper(doc).text === expected, 5_000, 'a client has the edit');
  });
});

describe('a research tree', () => {
  const name = 'atomic/tree';
  let clients: Y.Doc[];

  beforeAll(async () => {
    ({ clients } = await liveDocument(name, 'research_tree'));
    expect((await postEdits(server.port, name, [{ op: 'addNode', id: 'root', title: 'Root' }])).status).toBe(200);
    for (const doc of clients) await waitFor(() => renderTree(doc).nodes.length === 1, 5_000, 'a client has the root');
  });

  it.each([
    ['a move of an unknown node', { op: 'moveNode', id: 'ghost', parentId: 'root' }],
    ['an edge to an unknown node', { op: 'addEdge', from: 'root', to: 'ghost', type: 'supports' }],
    ['a node under an unknown parent', { op: 'addNode', title: 'Orphan', parentId: 'ghost' }],
    ['a delete of an unknown edge', { op: 'deleteEdge', id: 'ghost' }],
  ])('%s after an addNode: 422, and nothing changes', async (_label, failing) => {
    const before = await snapshot(name, clients);
    const answer = await postEdits<{ error: string; op: number }>(server.port, name, [
      { op: 'addNode', id: 'child', title: 'Child', parentId: 'root' },
      failing,
    ]);
    expect(answer).toMatchObject({ status: 422, body: { op: 1 } });
    await expectUnchanged(name, clients, before);
  });

  it('answers the ids of the nodes it created', async () => {
    const answer = await postEdits<{ ids: Record<string, string> }>(server.port, name, [
      { op: 'addNode', title: 'Generated', parentId: 'root' },
      { op: 'updateNode', id: 'root', status: 'open' },
    ]);
    expect(answer.status).toBe(200);
    const id = answer.body.ids['0']!;
    expect(Object.keys(answer.body.ids)).toEqual(['0']);
    const tree = renderTree(docOf(await liveState(server.port, name)));
    expect(tree.nodes.find((node) => node.id === id)).toMatchObject({ title: 'Generated', parentId: 'root' });
  });
});

describe('a request that is not a list of ops', () => {
  it.each([[{ ops: [] }], [{ ops: 'append' }], [{ op: 'append' }], [{ ops: [{ op: 'append', markdown: 'x' }], extra: 1 }]])(
    '%j: 400',
    async (body) => {
      const answer = await api('POST', '/api/documents/atomic%2Fpaper/edits', { body });
      expect(answer.status).toBe(400);
    },
  );
});
