/**
 * An acknowledged edit is never lost: the server runs as a child process and is killed with
 * SIGKILL; after a restart every edit that was acknowledged (SyncStatus received) is in the
 * document. Runs on a real PostgreSQL database and on the embedded default (no DATABASE_URL,
 * PGlite in a fresh DATA_DIR).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { RawClient } from '../helpers/raw-client.js';
import { updateFrame, type Frame } from '../helpers/frames.js';
import { createTestDatabase } from '../helpers/databases.js';
import { waitFor } from '../helpers/wait.js';
import { joinDocument, startChildServer, type ChildServer } from '../helpers/durability.js';

/** Where the server keeps its documents: the environment for the child, and its cleanup. */
interface Backend {
  readonly env: Record<string, string>;
  remove(): Promise<void>;
}

const BACKENDS: ReadonlyArray<{ name: string; open(): Promise<Backend> }> = [
  {
    name: 'PostgreSQL',
    async open() {
      const database = await createTestDatabase('kill9');
      return { env: { DATABASE_URL: database.url }, remove: () => database.drop() };
    },
  },
  {
    name: 'embedded PGlite',
    async open() {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'scriptorium-kill9-'));
      // An empty DATABASE_URL counts as unset, whatever the test runner's environment holds.
      return { env: { DATABASE_URL: '', DATA_DIR: dataDir }, remove: async () => rmSync(dataDir, { recursive: true, force: true }) };
    },
  },
];

/** Loads a document through a fresh raw client and returns its Y.Doc. */
async function loadDocument(port: number, name: string): Promise<Y.Doc> {
  const client = await joinDocument(port, name);
  client.ws.close();
  return client.doc(name);
}

describe.each(BACKENDS)('durability across kill -9 ($name)', ({ open }) => {
  let backend: Backend;
  let server: ChildServer | null = null;
  const start = () => startChildServer(backend.env);

  beforeAll(async () => {
    backend = await open();
  });

  afterAll(async () => {
    destroyProviders();
    RawClient.terminateAll();
    if (server?.process.exitCode === null && server.process.signalCode === null) await server.kill9();
    await backend?.remove();
  });

  it('keeps every edit a provider saw acknowledged (unsyncedChanges == 0)', async () => {
    server = await start();
    const doc = new Y.Doc();
    const provider = hocuspocusProvider(server.port, 'kill9-provider', doc);
    await waitFor(() => provider.synced, 10_000, 'provider synced');
    const list = doc.getArray<number>('items');
    for (let i = 0; i < 300; i++) list.push([i]);
    await waitFor(() => provider.unsyncedChanges === 0, 15_000, 'all edits acknowledged');
    provider.destroy();

    await server.kill9();
    server = await start();
    const loaded = await loadDocument(server.port, 'kill9-provider');
    expect(loaded.getArray<number>('items').toArray()).toEqual(Array.from({ length: 300 }, (_, i) => i));
    await server.kill9();
  }, 60_000);

  it('keeps every acknowledged edit when the kill lands while edits are in flight', async () => {
    server = await start();
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
    const acks = () =>
      client.frames.filter((frame: Frame) => frame.kind === 'syncStatus' && frame.name === name && frame.applied === 1).length;

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
    expect(acked, 'the kill landed while edits were still in flight').toBeLessThan(total);

    server = await start();
    const items = new Set((await loadDocument(server.port, name)).getArray<number>('items').toArray());
    const missing = Array.from({ length: acked }, (_, i) => i).filter((i) => !items.has(i));
    expect(missing).toEqual([]);
    await server.kill9();
  }, 60_000);
});
