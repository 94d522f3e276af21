/**
 * Database outage: a private PostgreSQL is crashed (`pg_ctl stop -m immediate`)
 * while updates stream in. While it is down nothing is reported committed (and
 * nothing refused: connection errors are transient) and the storage is unhealthy;
 * once it is back every update gets committed and loads. A bounded queue turns
 * updates away meanwhile instead of growing without end, and shutdown does not
 * wait for the database beyond its timeout.
 */
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DurableStorage } from '../../server/persistence/durable-storage.js';
import { openStorage } from '../../server/persistence/open-storage.js';
import { createPgDb } from '../../server/persistence/pg-db.js';
import { CountingListener, ItemWriter, itemKeys, logger, openDocument, sleep, waitFor } from '../helpers/storage.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../helpers/throwaway-postgres.js';

describe('database outage (throwaway PostgreSQL)', () => {
  let server: ThrowawayPostgres;
  beforeAll(async () => {
    server = await startThrowawayPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.destroy();
  });

  it('acks nothing while down, loses nothing, commits everything once back', async () => {
    const { storage } = await openStorage({
      databaseUrl: server.url,
      dataDir: 'unused',
      logger,
      retryMinMs: 20,
      retryMaxMs: 250,
    });
    const doc = await openDocument(storage, 'outage');
    const writer = new ItemWriter('o');
    const listener = new CountingListener();
    const keys: string[] = [];
    let streaming = true;
    const stream = (async () => {
      while (streaming) {
        const { key, update } = writer.next();
        keys.push(key);
        storage.append(doc.id, update, { userId: null, sessionId: 'o' }, listener);
        await sleep(2);
      }
    })();

    await waitFor(() => listener.total >= 50, 10_000, 'first commits');
    await server.crash();
    await waitFor(() => !storage.healthy, 5_000, 'healthy=false');
    await sleep(200); // anything in flight at the crash has failed by now
    const committedWhenDown = listener.total;
    const appendedWhenDown = keys.length;
    await sleep(1_000);
    expect(storage.healthy).toBe(false);
    expect(listener.total).toBe(committedWhenDown); // no ack while the database is down
    expect(keys.length).toBeGreaterThan(appendedWhenDown + 100); // appends kept flowing
    expect(storage.stats.pending).toBeGreaterThan(100);

    await server.start();
    streaming = false;
    await stream;
    const appended = keys.length;
    await storage.flush();
    expect(listener.total).toBe(appended);
    expect(storage.healthy).toBe(true);
    expect(storage.stats.failedAttempts).toBeGreaterThan(0);
    // Transient errors are retried, never refused.
    expect(listener.refusals).toEqual([]);
    expect(storage.stats.refusedRows).toBe(0);

    // A fresh instance (new pool) sees every update.
    const other = new DurableStorage(createPgDb({ connectionString: server.url, logger }), { logger, ownsDb: true });
    const ref = await other.find('outage');
    expect(ref?.id).toBe(doc.id);
    const loaded = await other.load(doc);
    const present = itemKeys(loaded.state);
    expect(keys.filter((k) => !present.has(k))).toEqual([]);
    expect(await other.close(10_000)).toBe(true);
    expect(await storage.close(10_000)).toBe(true);
  }, 60_000);

  it('a full queue turns updates away while the database is down; nothing queued is lost', async () => {
    const { storage } = await openStorage({
      databaseUrl: server.url,
      dataDir: 'unused',
      logger,
      retryMinMs: 20,
      retryMaxMs: 250,
      maxPendingRows: 50,
    });
    const doc = await openDocument(storage, 'bounded-outage');
    const writer = new ItemWriter('bo');
    const listener = new CountingListener();
    const keys: string[] = [];
    let turnedAway = 0;
    await server.crash();
    try {
      for (let i = 0; i < 200; i++) {
        // What a room does: ask first, and refuse (not apply) the update when full.
        if (!storage.admits(32)) {
          turnedAway++;
        } else {
          const { key, update } = writer.next();
          keys.push(key);
          storage.append(doc.id, update, { userId: null, sessionId: 'bo' }, listener);
        }
        if (i % 20 === 0) await sleep(5);
      }
      expect(keys).toHaveLength(50);
      expect(turnedAway).toBe(150);
      expect(storage.stats.rejectedFull).toBe(150);
      await sleep(300);
      expect(storage.stats.pending).toBe(50); // nothing dropped, nothing refused
      expect(storage.stats.pendingBytes).toBeGreaterThan(0);
      expect(listener.reported).toBe(0);
      expect(storage.admits(32)).toBe(false);
    } finally {
      await server.start();
    }
    await storage.flush();
    expect(listener.total).toBe(50);
    expect(listener.refusals).toEqual([]);
    expect(storage.stats.pending).toBe(0);
    expect(storage.stats.pendingBytes).toBe(0);
    expect(storage.admits(32)).toBe(true);
    expect([...itemKeys((await storage.load(doc)).state)].sort()).toEqual(keys.sort());
    expect(await storage.close(10_000)).toBe(true);
  }, 60_000);

  it('close(timeoutMs) returns within the timeout while the database is down, and says false', async () => {
    const { storage } = await openStorage({ databaseUrl: server.url, dataDir: 'unused', logger, retryMinMs: 20, retryMaxMs: 250 });
    const doc = await openDocument(storage, 'close-while-down');
    const writer = new ItemWriter('cd');
    const listener = new CountingListener();
    for (let i = 0; i < 5; i++) storage.append(doc.id, writer.next().update, { userId: null, sessionId: 'cd' }, listener);
    await storage.flush();
    await server.crash();
    try {
      for (let i = 0; i < 5; i++) storage.append(doc.id, writer.next().update, { userId: null, sessionId: 'cd' }, listener);
      await waitFor(() => !storage.healthy, 5_000, 'healthy=false');
      const started = performance.now();
      const closed = await storage.close(400);
      const elapsed = performance.now() - started;
      expect(closed).toBe(false);
      expect(elapsed).toBeLessThan(700);
      expect(listener.total).toBe(5);
      expect(listener.refusals).toEqual([]);
    } finally {
      await server.start();
    }
  }, 60_000);
});

describe('close(timeoutMs) against a server that never answers', () => {
  it('does not wait for the hanging connection attempt', async () => {
    // Accepts TCP connections and never says a word: a silent network, a hung server.
    const sockets: Socket[] = [];
    const blackhole = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const address = blackhole.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const db = createPgDb({ connectionString: `postgres://postgres@127.0.0.1:${port}/none`, logger, connectionTimeoutMillis: 10_000 });
      const storage = new DurableStorage(db, { logger, ownsDb: true });
      const listener = new CountingListener();
      storage.append(
        '00000000-0000-4000-8000-0000000000aa',
        new ItemWriter('bh').next().update,
        { userId: null, sessionId: 'bh' },
        listener,
      );
      await waitFor(() => sockets.length > 0, 5_000, 'the connection attempt');
      const started = performance.now();
      expect(await storage.close(300)).toBe(false);
      expect(performance.now() - started).toBeLessThan(600);
      expect(listener.reported).toBe(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => blackhole.close(() => resolve()));
    }
  }, 30_000);
});
