/**
 * One conformance suite for each store interface, run against every implementation:
 * the in-process one and the Redis one (real Redis at 127.0.0.1:6379, under a key
 * prefix of this run's own, removed afterwards — never FLUSHALL). The Redis cases also
 * check what only a shared store can do: two instances see each other's writes.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { testRedis } from '../helpers/redis.js';
import { afterAll, describe, expect, it } from 'vitest';
import { rateLimitStoreConformance, sessionStoreConformance } from './stores-suite.js';
import { InProcessSessionStore, type SessionStore } from '../../server/auth/session-store.js';
import { RedisRateLimitStore } from '../../server/cluster/redis-rate-limit-store.js';
import { RedisSessionStore } from '../../server/cluster/redis-session-store.js';
import { InProcessRateLimitStore, type RateLimitStore } from '../../server/http/rate-limit.js';

const logger = pino({ level: 'silent' });
const store = testRedis();
const { prefix } = store;
const redis = () => store.client();

afterAll(() => store.cleanup());

const sessionStores: Array<[string, () => SessionStore]> = [
  ['in process', () => new InProcessSessionStore()],
  ['redis', () => new RedisSessionStore(redis(), logger)],
];

sessionStoreConformance(sessionStores);

describe('RedisSessionStore across instances', () => {
  it('a revocation on one instance is seen by another', async () => {
    const a = new RedisSessionStore(redis(), logger);
    const b = new RedisSessionStore(redis(), logger);
    const id = `s-${randomBytes(4).toString('hex')}`;
    await b.touch(id, 'user-2', Date.now() + 60_000);
    await a.revoke(id, Date.now() + 60_000);
    expect(await b.isRevoked(id)).toBe(true);
  });

  it('keeps the session under its key of docs/contracts.md with a TTL of at most 24 h', async () => {
    const client = redis();
    const store = new RedisSessionStore(client, logger);
    await store.touch('ttl-check', 'user-3', Date.now() + 7 * 24 * 3600_000);
    const ttl = await client.pttl('user:session:{ttl-check}');
    expect(ttl).toBeGreaterThan(23 * 3600_000);
    expect(ttl).toBeLessThanOrEqual(24 * 3600_000);
  });
});

const rateStores: Array<[string, () => RateLimitStore]> = [
  ['in process', () => new InProcessRateLimitStore()],
  ['redis', () => new RedisRateLimitStore(redis(), logger)],
];

rateLimitStoreConformance(rateStores);

describe('RedisRateLimitStore across instances', () => {
  it('one limit holds across two instances', async () => {
    const a = new RedisRateLimitStore(redis(), logger);
    const b = new RedisRateLimitStore(redis(), logger);
    const key = `rate_limit:{shared}:POST /api/documents`;
    expect((await a.hit(key, 2, 60_000)).allowed).toBe(true);
    expect((await b.hit(key, 2, 60_000)).allowed).toBe(true);
    expect((await a.hit(key, 2, 60_000)).allowed).toBe(false);
    expect((await b.hit(key, 2, 60_000)).allowed).toBe(false);
  });
});

describe('the Redis stores while Redis is unreachable', () => {
  it('let edits and requests through (logged) instead of locking everyone out; revoke fails loudly', async () => {
    const { createRedisClient } = await import('../../server/cluster/redis-client.js');
    const down = createRedisClient('redis://127.0.0.1:1', prefix, logger);
    try {
      const sessions = new RedisSessionStore(down, logger);
      const limits = new RedisRateLimitStore(down, logger);
      await sessions.touch('any', 'user', Date.now() + 60_000);
      expect(await sessions.isRevoked('any')).toBe(false);
      expect((await limits.hit('rate_limit:{x}:GET /api/me', 1, 60_000)).allowed).toBe(true);
      await expect(sessions.revoke('any', Date.now() + 60_000)).rejects.toThrow();
    } finally {
      down.disconnect();
    }
  });
});
