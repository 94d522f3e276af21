/**
 * PostgreSQL goes away mid-edit: no acknowledgement is sent while it is down,
 * /readyz reports 503, nothing is dropped, and once the database is back every edit
 * is committed and acknowledged. Runs against a throwaway cluster, never the shared one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startServer, type RunningServer } from '../../server/server.js';
import { updateFrame, type Frame } from '../helpers/frames.js';
import { RawClient } from '../helpers/raw-client.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../helpers/throwaway-postgres.js';
import { joinDocument } from '../helpers/durability.js';

let cluster: ThrowawayPostgres;
let server: RunningServer | null = null;

beforeAll(async () => {
  cluster = await startThrowawayPostgres();
}, 60_000);

afterAll(async () => {
  RawClient.terminateAll();
  await server?.close();
  await cluster.destroy();
});

const start = () =>
  startServer({
    config: {
      port: 0,
      host: '127.0.0.1',
      databaseUrl: cluster.url,
      storage: 'durable',
      transport: 'uws',
      logLevel: 'silent',
      shutdownTimeoutMs: 20_000,
    },
  });

async function readyStatus(port: number): Promise<number> {
  return (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
}

describe('database outage', () => {
  it('holds acks while PostgreSQL is down and commits everything once it is back', async () => {
    server = await start();
    const name = 'outage-doc';
    const client = await joinDocument(server.port, name);

    const local = new Y.Doc();
    const updates: Uint8Array[] = [];
    local.on('update', (update: Uint8Array) => updates.push(update));
    const list = local.getArray<number>('items');
    for (let i = 0; i < 100; i++) list.push([i]);
    const acks = () => client.frames.filter((frame: Frame) => frame.kind === 'syncStatus' && frame.applied === 1).length;

    for (let i = 0; i < 50; i++) client.send(updateFrame(name, updates[i]!));
    await waitFor(() => acks() === 50, 10_000, '50 acks before the outage');
    expect(await readyStatus(server.port)).toBe(200);

    await cluster.crash();
    for (let i = 50; i < 100; i++) client.send(updateFrame(name, updates[i]!));
    await waitFor(async () => (await readyStatus(server!.port)) === 503, 10_000, '/readyz 503 while the database is down');
    await sleep(1_000);
    expect(acks()).toBe(50);
    expect(client.isOpen).toBe(true);

    await cluster.start();
    await waitFor(() => acks() === 100, 30_000, 'all acks after the database returned');
    await waitFor(async () => (await readyStatus(server!.port)) === 200, 10_000, '/readyz 200 again');
    client.ws.close();
    await server.close();

    // A fresh server on the same database sees all 100 edits.
    server = await start();
    const reader = await joinDocument(server.port, name);
    expect(reader.doc(name).getArray<number>('items').toArray()).toEqual(Array.from({ length: 100 }, (_, i) => i));
  }, 90_000);
});
