/**
 * One conformance suite for Locks, run against both implementations: in process (expiry by
 * an injected clock) and Redis (real Redis at 127.0.0.1:6379, under a key prefix of this
 * run's own, removed afterwards — never FLUSHALL). Two "instances" are two Locks objects
 * sharing the store: one InProcessLocks hub, or two Redis clients.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import pino from 'pino';
import { REDIS_URL, testRedis } from '../helpers/redis.js';
import { afterAll, describe, expect, it } from 'vitest';
import { InProcessLocks, LOCK_TTL_MS, UNLOCKED, unlockedWhileDown, withLock, type Locks } from '../../server/cluster/locks.js';
import { createRedisClient } from '../../server/cluster/redis-client.js';
import { RedisLocks } from '../../server/cluster/redis-locks.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { locksConformance, type LocksPair } from './locks-suite.js';

const logger = pino({ level: 'silent' });
const store = testRedis();
const { prefix } = store;
const redis = () => store.client();

afterAll(() => store.cleanup());

const implementations: Array<[string, () => LocksPair]> = [
  [
    'in process',
    () => {
      // Real time plus a jump the test controls, so renewal timers still run in real time.
      let offset = 0;
      const hub = new InProcessLocks({ now: () => Date.now() + offset });
      return { a: hub, b: hub, advance: async (ms) => void (offset += ms) };
    },
  ],
  ['redis', () => ({ a: new RedisLocks(redis(), logger), b: new RedisLocks(redis(), logger), advance: sleep })],
];

const doc = () => `d-${randomBytes(4).toString('hex')}`;

locksConformance(implementations);

describe('RedisLocks in Redis', () => {
  it('keeps the lock under its key of docs/contracts.md (doc:lock:{id}, a hash tag) with the token and the TTL', async () => {
    const client = redis();
    const locks = new RedisLocks(client, logger);
    const id = doc();
    const lock = (await locks.acquire(id))!;
    expect(await client.get(`doc:lock:{${id}}`)).toBe(lock.token);
    const ttl = await client.pttl(`doc:lock:{${id}}`);
    expect(ttl).toBeGreaterThan(LOCK_TTL_MS - 2_000);
    expect(ttl).toBeLessThanOrEqual(LOCK_TTL_MS);
    // The prefix is applied to the scripts' keys too: release deletes exactly this key.
    await lock.release();
    expect(await client.exists(`doc:lock:{${id}}`)).toBe(0);
  });

  it('while Redis is unreachable, acquire resolves null (the optional work is skipped) and withLock does not run', async () => {
    const down = createRedisClient('redis://127.0.0.1:1', prefix, logger);
    try {
      const locks = new RedisLocks(down, logger);
      expect(await locks.acquire('any')).toBeNull();
      let ran = false;
      expect(await withLock(locks, 'any', async () => (ran = true), { logger })).toBeNull();
      expect(ran).toBe(false);
    } finally {
      down.disconnect();
    }
  });

  it('a Redis that accepts the connection but never answers: acquire gives up after the command timeout', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    // The connection never becomes ready, so the SET waits in the offline queue: a command
    // that never answers, as on a stalled connection.
    const client = new Redis({ host: '127.0.0.1', port, keyPrefix: prefix, maxRetriesPerRequest: 1 });
    try {
      const locks = new RedisLocks(client, logger, { commandTimeoutMs: 100 });
      const started = Date.now();
      expect(await locks.acquire('stalled')).toBeNull();
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      client.disconnect();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('a lock whose Redis goes away: renew is false (not confirmed), release does not throw', async () => {
    const client = new Redis(REDIS_URL, { keyPrefix: prefix, enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
    await client.connect();
    const locks = new RedisLocks(client, logger);
    const id = doc();
    const lock = (await locks.acquire(id, 1_000))!;
    client.disconnect();
    expect(await lock.renew()).toBe(false);
    await expect(lock.release()).resolves.toBeUndefined();
  });
});

describe('withLock renewal', () => {
  /** Wraps a Locks: counts renewals and lets a test decide what they answer. */
  const scripted = (inner: Locks, answer: () => Promise<boolean>) => {
    const counts = { renewals: 0, releases: 0 };
    const locks: Locks = {
      async acquire(documentId, ttlMs) {
        const lock = await inner.acquire(documentId, ttlMs);
        if (!lock) return null;
        return {
          token: lock.token,
          renew: () => {
            counts.renewals++;
            return answer();
          },
          release: () => {
            counts.releases++;
            return lock.release();
          },
        };
      },
    };
    return { locks, counts };
  };
  const recording = () => {
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
    return { log, warnings };
  };

  it('stops renewing once the work has settled, whether it returned or threw', async () => {
    const { locks, counts } = scripted(new InProcessLocks(), async () => true);
    await withLock(locks, 'r1', () => sleep(130), { logger, ttlMs: 150 });
    await expect(
      withLock(
        locks,
        'r2',
        async () => {
          await sleep(130);
          throw new Error('boom');
        },
        { logger, ttlMs: 150 },
      ),
    ).rejects.toThrow('boom');
    // Renewals are due every 50 ms; each run lasts 130 ms, so its first renewal timer fires before
    // the work's own timer however loaded the machine is.
    expect(counts.renewals).toBeGreaterThanOrEqual(2);
    expect(counts.releases).toBe(2);
    const settled = counts.renewals;
    await sleep(300);
    expect(counts.renewals).toBe(settled);
  });

  it('a renewal that throws is logged and retried, never an unhandled rejection', async () => {
    const { log, warnings } = recording();
    const { locks, counts } = scripted(new InProcessLocks(), async () => {
      throw new Error('renewal broke');
    });
    expect(
      await withLock(
        locks,
        'r3',
        async () => {
          await sleep(200);
          return 'finished';
        },
        { logger: log, ttlMs: 150 },
      ),
    ).toBe('finished');
    expect(counts.renewals).toBeGreaterThanOrEqual(2);
    expect(warnings).toContain('lock renewal failed; retrying');
  });

  it('a renewal that reports the lock gone aborts `lost`, is logged, and renewing stops', async () => {
    const { log, warnings } = recording();
    const { locks, counts } = scripted(new InProcessLocks(), async () => false);
    const aborted = await withLock(
      locks,
      'r4',
      async (lost) => {
        await waitFor(() => lost.aborted, 2_000, 'the lost signal');
        await sleep(150);
        return lost.aborted;
      },
      { logger: log, ttlMs: 60 },
    );
    expect(aborted).toBe(true);
    expect(counts.renewals).toBe(1);
    expect(warnings.some((w) => w.startsWith('lock lost'))).toBe(true);
  });

  it('a release that throws does not mask the result', async () => {
    const throwing: Locks = {
      acquire: async () => ({
        token: 't',
        renew: async () => true,
        release: async () => {
          throw new Error('release broke');
        },
      }),
    };
    expect(await withLock(throwing, 'r5', async () => 7, { logger })).toBe(7);
  });

  it('refuses a TTL that is not a positive whole number of milliseconds', async () => {
    await expect(new InProcessLocks().acquire('x', 0)).rejects.toThrow(RangeError);
    await expect(withLock(new InProcessLocks(), 'x', async () => 1, { logger, ttlMs: 1.5 })).rejects.toThrow(RangeError);
  });
});

describe('unlockedWhileDown', () => {
  it('while the lock service is down, every acquire goes ahead unlocked without asking it; once up, it is asked again', async () => {
    const inner = new InProcessLocks();
    const asked: string[] = [];
    const counting: Locks = { acquire: (documentId, ttlMs) => (asked.push(documentId), inner.acquire(documentId, ttlMs)) };
    let down = false;
    const locks = unlockedWhileDown(counting, () => down);
    const held = (await locks.acquire('d'))!;
    expect(held).not.toBe(UNLOCKED);
    expect(await locks.acquire('d')).toBeNull(); // held: skipped as usual

    down = true;
    expect(await locks.acquire('d')).toBe(UNLOCKED);
    expect(await locks.acquire('d')).toBe(UNLOCKED); // any number of holders meanwhile
    expect(asked).toEqual(['d', 'd']);
    expect(await UNLOCKED.renew()).toBe(true);
    await UNLOCKED.release();

    down = false;
    expect(await locks.acquire('d')).toBeNull(); // the real lock was never touched
    await held.release();
    expect(await locks.acquire('d')).not.toBeNull();
    expect(asked).toEqual(['d', 'd', 'd', 'd']);
  });
});
