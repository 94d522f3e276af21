/**
 * y-websocket has no acknowledgements, but its edits go through the same update log:
 * they are in `collaborations` (history) and survive a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { destroyProviders, yWebsocketProvider } from '../helpers/providers.js';
import { waitFor } from '../helpers/wait.js';
import { joinDocument } from '../helpers/durability.js';

let database: TestDatabase;
let server: RunningServer;

const start = () =>
  startServer({
    config: { port: 0, host: '127.0.0.1', databaseUrl: database.url, storage: 'durable', transport: 'uws', logLevel: 'silent' },
  });

beforeAll(async () => {
  database = await createTestDatabase('ywsdurable');
  server = await start();
});

afterAll(async () => {
  destroyProviders();
  await server.close();
  await database.drop();
});

describe('y-websocket persistence', () => {
  it('logs every y-websocket edit and serves it after a restart', async () => {
    const name = 'y-websocket-durable';
    const doc = new Y.Doc();
    const provider = yWebsocketProvider(server.port, name, doc);
    await waitFor(() => provider.synced, 10_000, 'y-websocket provider synced');
    const text = doc.getText('default');
    for (let i = 0; i < 40; i++) text.insert(text.length, `${i},`);
    // No acks in this protocol: the history API shows when the rows are committed.
    await waitFor(
      async () => {
        const response = await fetch(`http://127.0.0.1:${server.port}/api/documents/${name}/history?limit=100`);
        if (response.status !== 200) return false;
        const body = (await response.json()) as { entries: unknown[] };
        return body.entries.length >= 40;
      },
      10_000,
      '40 log rows',
    );
    provider.destroy();
    await server.close();

    server = await start();
    const reader = await joinDocument(server.port, name);
    expect(reader.doc(name).getText('default').toString()).toBe(text.toString());
  }, 60_000);
});
