/**
 * Access events while Redis is out of reach (a throwaway redis-server; a TCP forwarder
 * that can cut one instance off). The publishing instance acts on its own event at once,
 * always. When only the publisher was cut off, its event reaches the others once it is
 * back. An instance whose subscription was cut re-checks every live session
 * (`recheck-all`), since it may have missed events meanwhile.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessEvent } from '../../server/auth/access-events.js';
import { RedisAccessEvents } from '../../server/cluster/redis-access-events.js';
import { createRedisClient, createRedisSubscriber, type RedisConnection } from '../../server/cluster/redis-client.js';
import { closeRedis } from '../helpers/redis.js';
import { startTcpForwarder, type TcpForwarder } from '../helpers/tcp-forwarder.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../helpers/throwaway-redis.js';
import { sleep, waitFor } from '../helpers/wait.js';

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
let redis: ThrowawayRedis;
let forwarder: TcpForwarder;
const connections: RedisConnection[] = [];
const events: RedisAccessEvents[] = [];

/** One instance's access events on `url`, under `prefix`; resolves once connected. */
async function instance(url: string, prefix: string): Promise<{ events: RedisAccessEvents; seen: AccessEvent[] }> {
  const publisher = createRedisClient(url, prefix, logger);
  const subscriber = createRedisSubscriber(url);
  connections.push(publisher, subscriber);
  const made = new RedisAccessEvents(publisher, subscriber, prefix, logger);
  events.push(made);
  const seen: AccessEvent[] = [];
  made.subscribe((event) => seen.push(event));
  await waitFor(() => publisher.status === 'ready' && subscriber.status === 'ready', 5_000, 'connected');
  return { events: made, seen };
}

beforeAll(async () => {
  redis = await startThrowawayRedis();
  forwarder = await startTcpForwarder([Number(new URL(redis.url).port)]);
});

afterAll(async () => {
  await Promise.all(events.map((made) => made.close()));
  await Promise.all(connections.map(closeRedis));
  await forwarder.close();
  await redis.stop();
});

const warm = async (from: RedisAccessEvents, seen: AccessEvent[]) => {
  from.publish({ type: 'session-revoked', sessionId: 'warm-up' });
  await waitFor(() => seen.length === 1, 5_000, 'delivery before the outage');
};

describe('access events while Redis is out of reach', () => {
  it('one instance cut off: it acts at once and its event reaches the others once it is back', async () => {
    const a = await instance(`redis://127.0.0.1:${forwarder.port}`, 'cut:');
    const b = await instance(redis.url, 'cut:');
    await warm(a.events, b.seen);

    forwarder.cut();
    await waitFor(() => connections.slice(-4, -2).every((connection) => connection.status !== 'ready'), 5_000, 'a cut off');
    const removed: AccessEvent = { type: 'membership-removed', userId: 'u1', projectId: 'p1' };
    a.events.publish(removed);
    expect(a.seen.at(-1)).toEqual(removed);
    await sleep(300);
    expect(b.seen).toHaveLength(1);

    forwarder.restore();
    await waitFor(() => b.seen.length === 2, 15_000, 'the kept event delivered');
    expect(b.seen[1]).toEqual(removed);
    // a may have missed others' events: it checks everything again; b missed nothing.
    await waitFor(() => a.seen.some((event) => event.type === 'recheck-all'), 5_000, 're-check on a');
    await sleep(200);
    expect(b.seen.map((event) => event.type)).toEqual(['session-revoked', 'membership-removed']);
  }, 30_000);

  it('Redis restarted: every instance re-checks all its live sessions once it is back', async () => {
    const a = await instance(redis.url, 'restart:');
    const b = await instance(redis.url, 'restart:');
    await warm(a.events, b.seen);

    await redis.stop();
    await sleep(200);
    const revoked: AccessEvent = { type: 'session-revoked', sessionId: 'during' };
    a.events.publish(revoked);
    expect(a.seen.at(-1)).toEqual(revoked);

    await redis.start();
    // b's subscription may come back after a's kept event was sent: the re-check covers it.
    await waitFor(
      () => a.seen.some((event) => event.type === 'recheck-all') && b.seen.some((event) => event.type === 'recheck-all'),
      15_000,
      're-check everywhere',
    );
  }, 30_000);
});
