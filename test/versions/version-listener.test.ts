/**
 * The hook for projections of versions (the research-tree table): every version stored —
 * named, automatic, around a restore — is told to the listeners with its state; a state that
 * was already stored is not told again; a failing listener does not fail the version.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { renderState } from '../../server/documents/content.js';
import type { TreeContent } from '../../server/research-trees/render.js';
import type { RunningServer } from '../../server/server.js';
import type { StoredVersionEvent } from '../../server/versions/versions.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { waitFor } from '../helpers/wait.js';
import { apiClient } from '../helpers/http.js';
import { acknowledged, path, startDurableServer } from '../helpers/versions.js';

let database: TestDatabase;
let server: RunningServer;
const api = apiClient(() => server.port);
const told: StoredVersionEvent[] = [];

beforeAll(async () => {
  database = await createTestDatabase('verlisten');
  server = await startDurableServer(
    database,
    { autoVersionQuietMs: 200, autoVersionMaxMs: 10_000 },
    {
      versionListeners: [
        { versionStored: async (event) => void told.push(event) },
        { versionStored: () => Promise.reject(new Error('a broken projection')) },
      ],
    },
  );
});

afterAll(async () => {
  destroyProviders();
  await server?.close();
  await database?.drop();
});

function setNode(doc: Y.Doc, id: string, title: string): void {
  const node = new Y.Map<unknown>();
  node.set('title', title);
  node.set('parentId', null);
  node.set('order', 'a0');
  doc.getMap('nodes').set(id, node);
}

const titles = (event: StoredVersionEvent) =>
  (renderState(event.document.kind, event.state) as TreeContent).nodes.map((node) => node.title);

describe('version listeners', () => {
  it('are told of every research-tree version stored, with its state', async () => {
    const name = 'listen/tree';
    expect((await api('POST', '/api/documents', { body: { name, kind: 'research_tree' } })).status).toBe(201);
    const doc = new Y.Doc();
    const provider = hocuspocusProvider(server.port, name, doc);
    setNode(doc, 'q', 'First question');
    await acknowledged(provider);
    expect((await api('POST', path(name, '/versions'), { body: { label: 'one' } })).status).toBe(201);
    expect((await api('POST', path(name, '/versions'), { body: { label: 'same state' } })).status).toBe(201);
    setNode(doc, 'r', 'Second question');
    await acknowledged(provider);
    await waitFor(() => told.length === 2, 5_000, 'the automatic version told');
    expect((await api('POST', path(name, '/versions/1/restore'))).status).toBe(200);
    await waitFor(() => doc.getMap('nodes').size === 1, 5_000, 'restored');
    expect(told.map((event) => [event.document.name, event.document.kind, event.version.version, event.version.label])).toEqual([
      [name, 'research_tree', 1, 'one'],
      [name, 'research_tree', 2, null],
      [name, 'research_tree', 3, 'Restored from v1'],
    ]);
    expect(titles(told[0]!)).toEqual(['First question']);
    expect(titles(told[1]!).sort()).toEqual(['First question', 'Second question']);
    expect(titles(told[2]!)).toEqual(['First question']);
  });

  it('freeze a research_trees row per version of a tree (the projection hook wired by the server)', async () => {
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    try {
      const { rows } = await sql.query<{ version: number; structure: { nodes: { title: string }[] } }>(
        `select t.version, t.structure from research_trees t join documents d on d.id = t.document_id where d.name = 'listen/tree' order by t.version`,
      );
      const trees = rows.map((row) =>
        row.structure.nodes
          .map((node) => node.title)
          .sort()
          .join('+'),
      );
      // Each version's tree is there, in order (the live row, if any, comes after them).
      expect(trees.slice(0, 3)).toEqual(['First question', 'First question+Second question', 'First question']);
    } finally {
      await sql.end();
    }
  });
});
