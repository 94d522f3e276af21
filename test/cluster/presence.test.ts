/**
 * The Presence conformance suite, run against the in-process and the Redis implementation
 * (real Redis at 127.0.0.1:6379 under a key prefix of this run's own, removed afterwards
 * — never FLUSHALL), with a clock of the test's own so expiry needs no waiting. Then what
 * only Redis can show: two instances see each other's entries, a dead instance's entries
 * vanish by their expiry, the keys and TTLs of docs/contracts.md, and an unreachable Redis. Last, the
 * SessionPresence (what an instance writes on open, close, renewal and shutdown) on both.
 * The suites themselves: presence-suite.ts.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { InProcessPresence, PRESENCE_TTL_MS, PresenceUnavailableError, presentUsers } from '../../server/cluster/presence.js';
import { RedisPresence } from '../../server/cluster/redis-presence.js';
import { entry, keys, ManualClock, presenceConformance, unique, waitUntil, type PresenceFactory } from './presence-suite.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `scr-test-${randomBytes(4).toString('hex')}:`;
const logger = pino({ level: 'silent' });
const clients: Redis[] = [];
const redis = () => {
  const client = new Redis(REDIS_URL, { keyPrefix: prefix });
  clients.push(client);
  return client;
};
/** Without the prefix: sees the keys exactly as stored. */
const raw = new Redis(REDIS_URL);

afterAll(async () => {
  let cursor = '0';
  do {
    const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await raw.del(...keys);
  } while (cursor !== '0');
  await raw.quit();
  await Promise.all(clients.map((client) => client.quit()));
});

const implementations: Array<[string, PresenceFactory]> = [
  ['in process', (clock) => new InProcessPresence(clock)],
  ['redis', (clock) => new RedisPresence(redis(), logger, clock)],
];

presenceConformance(implementations);

describe('InProcessPresence', () => {
  it('user keys expire after the TTL without activity', async () => {
    const clock = new ManualClock();
    const presence = new InProcessPresence(clock);
    await presence.join(entry('d', 's', { userId: 'u' }));
    clock.t += PRESENCE_TTL_MS - 1;
    expect(await presence.user('u')).not.toBeNull();
    clock.t += 1;
    expect(await presence.user('u')).toBeNull();
  });
});

describe('RedisPresence across instances', () => {
  it('two instances see each other’s entries; one leaving removes only its own', async () => {
    const a = new RedisPresence(redis(), logger);
    const b = new RedisPresence(redis(), logger);
    const doc = unique('shared');
    const onA = entry(doc, 'on-a', { instanceId: 'A', since: Date.now() - 10 });
    const onB = entry(doc, 'on-b', { instanceId: 'B' });
    await a.join(onA);
    await b.join(onB);
    expect(await a.list(doc)).toEqual([onA, onB]);
    expect(await b.list(doc)).toEqual([onA, onB]);
    await b.leave(doc, 'on-b');
    expect(await a.list(doc)).toEqual([onA]);
  });

  it('the entries of an instance that stopped renewing vanish for everyone, and are removed from Redis', async () => {
    const client = redis();
    let deadNow = Date.now() - PRESENCE_TTL_MS - 1000;
    const dead = new RedisPresence(client, logger, { now: () => deadNow });
    const alive = new RedisPresence(redis(), logger);
    const doc = unique('dead');
    await dead.join(entry(doc, 'ghost', { instanceId: 'dead' }));
    await alive.join(entry(doc, 'live', { instanceId: 'alive' }));
    expect(await client.hlen(`doc:presence:{${doc}}`)).toBe(2);
    expect(keys(await alive.list(doc))).toEqual(['live']);
    // The sweep is sent after the reply; the next command on that connection is ordered after it.
    await waitUntil(async () => (await client.hlen(`doc:presence:{${doc}}`)) === 1);
    expect(await client.hkeys(`doc:presence:{${doc}}`)).toEqual(['live']);
    // An instance that comes back re-writes its entries with its next renewal.
    deadNow = Date.now();
    await dead.renew([entry(doc, 'ghost', { instanceId: 'dead' })]);
    expect(keys(await alive.list(doc)).sort()).toEqual(['ghost', 'live']);
  });

  it('keeps the keys of docs/contracts.md (under the prefix) with TTLs of at most 5 minutes', async () => {
    const presence = new RedisPresence(redis(), logger);
    const doc = unique('keys');
    const userId = unique('u');
    const now = Date.now();
    await presence.join(entry(doc, 'k', { userId, since: now }));
    const userKey = `${prefix}user:presence:{${userId}}`;
    const docKey = `${prefix}doc:presence:{${doc}}`;
    for (const key of [userKey, docKey]) {
      const ttl = await raw.pttl(key);
      expect(ttl, key).toBeGreaterThan(PRESENCE_TTL_MS - 10_000);
      expect(ttl, key).toBeLessThanOrEqual(PRESENCE_TTL_MS);
    }
    const user = await raw.hgetall(userKey);
    expect(user).toEqual({ status: 'online', lastSeen: expect.any(String), document: doc });
    expect(Number(user.lastSeen)).toBeGreaterThanOrEqual(now);
    const stored = JSON.parse((await raw.hget(docKey, 'k'))!);
    expect(stored).toEqual({ userId, name: null, instanceId: 'instance-1', since: now, expiresAt: expect.any(Number) });
    expect(stored.expiresAt - Date.now()).toBeLessThanOrEqual(PRESENCE_TTL_MS);
    // Renewal and going offline keep the TTL bounded too.
    await presence.renew([entry(doc, 'k', { userId, since: now })]);
    await presence.userOffline(userId, doc);
    expect(await raw.pttl(userKey)).toBeLessThanOrEqual(PRESENCE_TTL_MS);
    expect(await raw.pttl(docKey)).toBeLessThanOrEqual(PRESENCE_TTL_MS);
  });

  it('a renewal of many documents renews them all', async () => {
    const presence = new RedisPresence(redis(), logger);
    const docs = Array.from({ length: 1200 }, (_, i) => unique(`many-${i}`));
    await presence.renew(docs.map((doc, i) => entry(doc, `s${i}`, { userId: i % 2 === 0 ? null : `u${i}` })));
    const listed = await Promise.all(docs.map((doc) => presence.list(doc)));
    expect(listed.every((entries) => entries.length === 1)).toBe(true);
  });

  it('while Redis is unreachable: writes are logged and dropped, list says unavailable', async () => {
    const { createRedisClient } = await import('../../server/cluster/redis-client.js');
    const down = createRedisClient('redis://127.0.0.1:1', prefix, logger);
    try {
      const presence = new RedisPresence(down, logger);
      const e = entry('d', 's');
      await presence.join(e);
      await presence.renew([e]);
      await presence.leave('d', 's');
      await presence.userOffline('u', 'd');
      await expect(presence.list('d')).rejects.toBeInstanceOf(PresenceUnavailableError);
      await expect(presence.user('u')).rejects.toBeInstanceOf(PresenceUnavailableError);
    } finally {
      down.disconnect();
    }
  });
});

describe('presentUsers', () => {
  it('one row per user, since the earliest session and its instance; anonymous sessions each their own', () => {
    const rows = presentUsers([
      entry('d', 'a1', { userId: 'ada', since: 30, instanceId: 'A' }),
      entry('d', 'a2', { userId: 'ada', since: 10, instanceId: 'B' }),
      entry('d', 'a3', { userId: 'ada', since: 20, instanceId: 'A' }),
      entry('d', 'x1', { userId: null, since: 15, instanceId: 'A' }),
      entry('d', 'x2', { userId: null, since: 16, instanceId: 'B' }),
      entry('d', 'g1', { userId: 'grace', since: 5, instanceId: 'A' }),
    ]);
    expect(rows).toEqual([
      { userId: 'grace', name: null, since: 5, instanceId: 'A' },
      { userId: 'ada', name: null, since: 10, instanceId: 'B' },
      { userId: null, name: null, since: 15, instanceId: 'A' },
      { userId: null, name: null, since: 16, instanceId: 'B' },
    ]);
  });
});
