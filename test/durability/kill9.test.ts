/**
 * An acknowledged edit is never lost: the server runs as a child process on a real
 * PostgreSQL database and is killed with SIGKILL; after a restart every edit that was
 * acknowledged (SyncStatus received) is in the document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { RawClient } from '../helpers/raw-client.js';
import { updateFrame, type Frame } from '../helpers/frames.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { waitFor } from '../helpers/wait.js';
import { joinDocument, startChildServer, type ChildServer } from './support.js';

let database: TestDatabase;
let server: ChildServer | null = null;

beforeAll(async () => {
  database = await createTestDatabase('kill9');
});

afterAll(async () => {
  destroyProviders();
  RawClient.terminateAll();
  if (server?.process.exitCode === null) await server.kill9();
  await database.drop();
});

/** Loads a document through a fresh raw client and returns its Y.Doc. */
async function loadDocument(port: number, name: string): Promise<Y.Doc> {
  const client = await joinDocument(port, name);
  client.ws.close();
  return client.doc(name);
}

describe('durability across kill -9', () => {
  it('keeps every edit a provider saw acknowledged (unsyncedChanges == 0)', async () => {
    server = await startChildServer({ DATABASE_URL: database.url });
    const doc = new Y.Doc();
    const provider = hocuspocusProvider(server.port, 'kill9-provider', doc);
    await waitFor(() => provider.synced, 10_000, 'provider synced');
    const list = doc.getArray<number>('items');
    for (let i = 0; i < 300; i++) list.push([i]);
    await waitFor(() => provider.unsyncedChanges === 0, 15_000, 'all edits acknowledged');
    provider.destroy();

    await server.kill9();
    server = await startChildServer({ DATABASE_URL: database.url });
    const loaded = await loadDocument(server.port, 'kill9-provider');
    expect(loaded.getArray<number>('items').toArray()).toEqual(Array.from({ length: 300 }, (_, i) => i));
    await server.kill9();
  }, 60_000);

  it('keeps every acknowledged edit when the kill lands while edits are in flight', async () => {
    server = await startChildServer({ DATABASE_URL: database.url });
    const name = 'kill9-inflight';
    const client = await joinDocument(server.port, name);

    // One update per item, sent in order; acks come back in the same order, so the
    // first `acked` updates are exactly the acknowledged ones.
    const local = new Y.Doc();
    const updates: Uint8Array[] = [];
    local.on('update', (update: Uint8Array) => updates.push(update));
    const list = local.getArray<number>('items');
    const total = 3000;
    for (let i = 0; i < total; i++) list.push([i]);
    const acks = () => client.frames.filter((frame: Frame) => frame.kind === 'syncStatus' && frame.name === name && frame.applied === 1).length;

    let sent = 0;
    const sendSome = (n: number) => {
      for (const end = Math.min(total, sent + n); sent < end; sent++) client.send(updateFrame(name, updates[sent]!));
    };
    sendSome(500);
    await waitFor(() => acks() >= 100, 10_000, 'first acks');
    sendSome(total); // the rest, as fast as the socket takes them
    await waitFor(() => acks() >= 600, 10_000, 'acks while in flight');
    await server.kill9();
    const acked = acks();
    await waitFor(() => !client.isOpen, 5_000, 'socket closed by the kill');
    expect(acked).toBeGreaterThan(0);

    server = await startChildServer({ DATABASE_URL: database.url });
    const items = new Set((await loadDocument(server.port, name)).getArray<number>('items').toArray());
    const missing = Array.from({ length: acked }, (_, i) => i).filter((i) => !items.has(i));
    expect(missing).toEqual([]);
    await server.kill9();
  }, 60_000);
});
