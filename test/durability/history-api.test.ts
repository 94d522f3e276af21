/** GET /api/documents/:name/history reads the collaborations log, newest first, paged. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startServer, type RunningServer } from '../../server/server.js';
import { destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { waitFor } from '../helpers/wait.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';

let database: TestDatabase;
let server: RunningServer;

beforeAll(async () => {
  database = await createTestDatabase('history');
  server = await startServer({
    config: { port: 0, host: '127.0.0.1', databaseUrl: database.url, storage: 'durable', transport: 'uws', logLevel: 'silent' },
  });
});

afterAll(async () => {
  destroyProviders();
  await server.close();
  await database.drop();
});

const get = async (path: string) => {
  const response = await fetch(`http://127.0.0.1:${server.port}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

interface Entry {
  position: number;
  sessionId: string;
  userId: string | null;
  size: number;
  createdAt: string;
  operationType: string;
}

describe('history API', () => {
  it('lists each stored update with its session and size, newest first, in pages', async () => {
    const name = 'history/paper one';
    const doc = new Y.Doc();
    const provider = hocuspocusProvider(server.port, name, doc);
    await waitFor(() => provider.synced, 10_000, 'synced');
    for (let i = 0; i < 25; i++) doc.getText('default').insert(0, `${i}`);
    await waitFor(() => provider.unsyncedChanges === 0, 10_000, 'acknowledged');

    const first = await get(`/api/documents/${encodeURIComponent(name)}/history?limit=10`);
    expect(first.status).toBe(200);
    const entries = first.body.entries as Entry[];
    expect(entries).toHaveLength(10);
    const positions = entries.map((entry) => entry.position);
    expect([...positions].sort((a, b) => b - a)).toEqual(positions);
    expect(new Set(entries.map((entry) => entry.sessionId)).size).toBe(1);
    expect(entries[0]!.userId).toBeNull();
    expect(entries[0]!.size).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(entries[0]!.createdAt))).toBe(false);

    let all = [...entries];
    let before = first.body.nextBefore as number | null;
    while (before !== null) {
      const page = await get(`/api/documents/${encodeURIComponent(name)}/history?limit=10&before=${before}`);
      all = all.concat(page.body.entries as Entry[]);
      before = page.body.nextBefore as number | null;
    }
    // 25 edits, plus the provider's initial SyncStep2 if it carried anything (it did not: empty doc).
    expect(all).toHaveLength(25);
    expect(new Set(all.map((entry) => entry.position)).size).toBe(25);
  });

  it('answers 404 for an unknown document and 400 for a bad limit or cursor', async () => {
    expect((await get('/api/documents/never-seen/history')).status).toBe(404);
    expect((await get('/api/documents/x/history?limit=0')).status).toBe(400);
    expect((await get('/api/documents/x/history?limit=5000')).status).toBe(400);
    expect((await get('/api/documents/x/history?before=abc')).status).toBe(400);
  });
});
