/**
 * The write queue is bounded (MAX_PENDING_UPDATES / MAX_PENDING_BYTES). While the
 * database cannot keep up (here: a lock holds every insert), edits beyond the bound are
 * refused unapplied — SyncStatus 0 for Hocuspocus, close 1013 for y-websocket — never
 * dropped silently; everything admitted is committed and acknowledged once it can be.
 */
import pg from 'pg';
import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { step1Frame, step2Frame, updateFrame } from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait.js';

let database: TestDatabase;
let server: RunningServer;

beforeAll(async () => {
  database = await createTestDatabase('queuefull');
  server = await startServer({
    config: {
      port: 0,
      host: '127.0.0.1',
      databaseUrl: database.url,
      storage: 'durable',
      transport: 'uws',
      logLevel: 'silent',
      maxPendingUpdates: 3,
      commitDelayMs: 0,
    },
  });
});

afterAll(async () => {
  RawClient.terminateAll();
  await server.close();
  await database.drop();
});

const acks = (client: RawClient, name: string) => client.acks(name);

describe('a full write queue', () => {
  it('refuses edits beyond the bound, commits the admitted ones, and loses nothing the client resends', async () => {
    const a = await RawClient.connect(server.port);
    await a.join('busy');
    const y = await RawClient.connect(server.port, '/y/busy');
    y.send(step1Frame(null, new Uint8Array([0])));
    await waitFor(() => y.frames.length > 0, 5_000, 'y-websocket synced');

    const locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
    await locker.query('begin');
    await locker.query('lock table collaborations in access exclusive mode');
    try {
      for (let i = 0; i < 5; i++) a.send(updateFrame('busy', textUpdate(a.doc('busy'), `${i};`)));
      await waitFor(() => server.metrics.counters.updatesRejected >= 2, 5_000, 'two edits refused');
      y.send(updateFrame(null, textUpdate(y.doc(null), 'y;')));
      const closed = await y.waitClose(5_000);
      expect(closed.code).toBe(1013);
      expect(acks(a, 'busy')).toEqual([]); // nothing acknowledged while nothing is committed
    } finally {
      await locker.query('commit');
      await locker.end();
    }
    await waitFor(() => acks(a, 'busy').length === 5, 10_000, 'five acks');
    expect(acks(a, 'busy')).toEqual([1, 1, 1, 0, 0]);

    // The refused edits are still the client's: a resync (as a provider does on reconnect) stores them.
    a.send(step2Frame('busy', Y.encodeStateAsUpdate(a.doc('busy'))));
    await waitFor(() => acks(a, 'busy').length === 6, 10_000, 'resync acknowledged');
    expect(acks(a, 'busy')[5]).toBe(1);
    const late = await RawClient.connect(server.port);
    await late.join('busy');
    expect(late.text('busy')).toBe('0;1;2;3;4;');
  });
});
