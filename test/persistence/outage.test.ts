/**
 * Database outage: a private PostgreSQL is crashed (`pg_ctl stop -m immediate`)
 * while updates stream in. While it is down nothing is reported committed and the
 * storage is unhealthy; once it is back every update gets committed and loads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DurableStorage } from '../../persistence/durable-storage.js';
import { openStorage } from '../../persistence/open-storage.js';
import { createPgDb } from '../../persistence/pg-db.js';
import { CountingListener, ItemWriter, itemKeys, logger, sleep, waitFor } from './helpers.js';
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
    const doc = await storage.load('outage');
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

    // A fresh instance (new pool) sees every update.
    const other = new DurableStorage(createPgDb({ connectionString: server.url, logger }), { logger, ownsDb: true });
    const loaded = await other.load('outage');
    const present = itemKeys(loaded.state);
    expect(keys.filter((k) => !present.has(k))).toEqual([]);
    await other.close();
    await storage.close();
  }, 60_000);
});
