/**
 * One conformance suite for AccessEvents, run against both implementations: in process
 * (one instance: both "instances" share it) and Redis (real Redis at 127.0.0.1:6379, two
 * instances' objects on one channel under this run's own prefix).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { InProcessAccessEvents, type AccessEvent, type AccessEvents } from '../../server/auth/access-events.js';
import { RedisAccessEvents } from '../../server/cluster/redis-access-events.js';
import { REDIS_URL } from '../helpers/redis.js';
import { sleep, waitFor } from '../helpers/wait.js';

const logger = pino({ level: 'silent' });

interface Pair {
  readonly a: AccessEvents;
  readonly b: AccessEvents;
  close(): Promise<void>;
}

const implementations: Array<[string, () => Promise<Pair>]> = [
  ['in process', async () => {
    const shared = new InProcessAccessEvents();
    return { a: shared, b: shared, close: async () => {} };
  }],
  ['redis', async () => {
    const prefix = `scr-access-${randomBytes(4).toString('hex')}:`;
    const connections: Redis[] = [];
    const connection = () => {
      const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
      connections.push(redis);
      return redis;
    };
    const a = new RedisAccessEvents(connection(), connection(), prefix, logger);
    const b = new RedisAccessEvents(connection(), connection(), prefix, logger);
    // Subscribed once a message of the other's comes through.
    for (const [from, to] of [[a, b], [b, a]] as const) {
      const seen: AccessEvent[] = [];
      const off = to.subscribe((event) => seen.push(event));
      await waitFor(() => {
        from.publish({ type: 'session-revoked', sessionId: 'warm-up' });
        return seen.length > 0;
      }, 5_000, 'subscribed', 50);
      off();
    }
    await sleep(150); // warm-up messages still in flight land before the test listens
    return {
      a,
      b,
      close: async () => {
        await Promise.all([a.close(), b.close()]);
        await Promise.all(connections.map((redis) => redis.quit().catch(() => redis.disconnect())));
      },
    };
  }],
];

const EVENTS: AccessEvent[] = [
  { type: 'session-revoked', sessionId: '7f0e1c1e-4c55-4f4e-9a44-0d1c2b3a4f5e' },
  { type: 'membership-removed', userId: '10000000-0000-4000-8000-000000000001', projectId: '20000000-0000-4000-8000-000000000001' },
  { type: 'membership-changed', userId: '10000000-0000-4000-8000-000000000002', projectId: '20000000-0000-4000-8000-000000000001' },
  { type: 'recheck-all' },
];

describe.each(implementations)('AccessEvents conformance: %s', (_name, make) => {
  let pair: Pair | null = null;
  afterEach(async () => {
    await pair?.close();
    pair = null;
  });

  it('delivers every event to the publisher\'s own listeners at once and to the other instance\'s, once each, as sent', async () => {
    pair = await make();
    const atA: AccessEvent[] = [];
    const atB: AccessEvent[] = [];
    pair.a.subscribe((event) => atA.push(event));
    pair.b.subscribe((event) => atB.push(event));
    for (const event of EVENTS) pair.a.publish(event);
    // Within the call: the publishing instance acts even when nothing else is reachable.
    expect(atA).toEqual(EVENTS);
    await waitFor(() => atB.length >= EVENTS.length, 5_000, 'delivery to b');
    await sleep(100);
    expect(atB).toEqual(EVENTS);
    expect(atA).toEqual(EVENTS); // its own echo is not delivered twice
  });

  it('stops delivering to a listener that unsubscribed; the others still get it', async () => {
    pair = await make();
    const kept: AccessEvent[] = [];
    const dropped: AccessEvent[] = [];
    pair.b.subscribe((event) => kept.push(event));
    const off = pair.b.subscribe((event) => dropped.push(event));
    off();
    pair.a.publish(EVENTS[0]!);
    await waitFor(() => kept.length === 1, 5_000, 'delivery');
    await sleep(100);
    expect(dropped).toEqual([]);
  });
});
