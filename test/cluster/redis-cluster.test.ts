/**
 * A throwaway three-node Redis Cluster (masters only, random ports): the conformance
 * suites of Bus (sharded pub/sub), Locks, Presence, AccessEvents, SessionStore and
 * RateLimitStore against it, then two server processes on it (REDIS_URL=redis-cluster://…)
 * sharing one PostgreSQL database: edits and awareness relay between them through
 * SPUBLISH/SSUBSCRIBE on the document's shard, never a plain PUBLISH, and the presence
 * endpoint agrees on both.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisAccessEvents } from '../../server/cluster/redis-access-events.js';
import { RedisBus } from '../../server/cluster/redis-bus.js';
import { createRedisClient, createRedisSubscriber, type RedisConnection } from '../../server/cluster/redis-client.js';
import { RedisLocks } from '../../server/cluster/redis-locks.js';
import { RedisPresence } from '../../server/cluster/redis-presence.js';
import { RedisRateLimitStore } from '../../server/cluster/redis-rate-limit-store.js';
import { RedisSessionStore } from '../../server/cluster/redis-session-store.js';
import { accessEventsConformance, warmUp } from '../auth/access-events-suite.js';
import { busConformance } from './bus-suite.js';
import { locksConformance } from './locks-suite.js';
import { presenceConformance } from './presence-suite.js';
import { rateLimitStoreConformance, sessionStoreConformance } from '../auth/stores-suite.js';
import { closeRedis } from '../helpers/redis.js';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { awarenessFrame, decodeAwareness, encodeAwareness, updateFrame } from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { startThrowawayRedisCluster, type ThrowawayRedisCluster } from '../helpers/throwaway-redis-cluster.js';
import { sleep, waitFor } from '../helpers/wait.js';

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
const prefix = `scr-test-${randomBytes(4).toString('hex')}:`;
let cluster: ThrowawayRedisCluster;
const connections: RedisConnection[] = [];
/** Two instances' clients as the server makes them (prefix, failing fast), connected before the suites run. */
let clients: RedisConnection[] = [];
let next = 0;
const client = () => clients[next++ % clients.length]!;

beforeAll(async () => {
  cluster = await startThrowawayRedisCluster();
  clients = [createRedisClient(cluster.url, prefix, logger), createRedisClient(cluster.url, prefix, logger)];
  connections.push(...clients);
  await waitFor(() => clients.every((made) => made.status === 'ready'), 10_000, 'cluster clients ready');
}, 60_000);

afterAll(async () => {
  await Promise.all(connections.map(closeRedis));
  await cluster?.stop();
});

busConformance([
  ['redis cluster (sharded pub/sub)', () => [new RedisBus(cluster.url, prefix, logger), new RedisBus(cluster.url, prefix, logger)]],
]);
locksConformance([['redis cluster', () => ({ a: new RedisLocks(client(), logger), b: new RedisLocks(client(), logger), advance: sleep })]]);
presenceConformance([['redis cluster', (clock) => new RedisPresence(client(), logger, clock)]]);
sessionStoreConformance([['redis cluster', () => new RedisSessionStore(client(), logger)]]);
rateLimitStoreConformance([['redis cluster', () => new RedisRateLimitStore(client(), logger)]]);
accessEventsConformance([
  [
    'redis cluster',
    async () => {
      const subscribers = [createRedisSubscriber(cluster.url), createRedisSubscriber(cluster.url)];
      connections.push(...subscribers);
      const a = new RedisAccessEvents(client(), subscribers[0]!, prefix, logger);
      const b = new RedisAccessEvents(client(), subscribers[1]!, prefix, logger);
      await warmUp(a, b);
      return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
    },
  ],
]);

describe('two instances on a Redis Cluster', () => {
  let database: TestDatabase;
  let children: ChildServer[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('rediscluster');
    const env = { DATABASE_URL: database.url, REDIS_URL: cluster.url, REDIS_PREFIX: prefix };
    children = [await startChildServer(env), await startChildServer(env)];
  }, 60_000);

  afterAll(async () => {
    RawClient.terminateAll();
    await Promise.all(children.map((child) => child.stop()));
    await database?.drop();
  });

  it('relay edits and awareness through sharded pub/sub and agree on presence', async () => {
    const [a, b] = children;
    const published = await cluster.calls('publish');
    const sharded = await cluster.calls('spublish');
    const onA = await RawClient.connect(a!.port);
    await onA.join('on-the-cluster');
    const onB = await RawClient.connect(b!.port);
    await onB.join('on-the-cluster');
    expect(await cluster.shardChannels()).toContain(`${prefix}doc:{on-the-cluster}`);
    for (let k = 0; k < 10; k++) {
      onA.send(updateFrame('on-the-cluster', textUpdate(onA.doc('on-the-cluster'), `a${k};`)));
      onB.send(updateFrame('on-the-cluster', textUpdate(onB.doc('on-the-cluster'), `b${k};`)));
    }
    await waitFor(
      () => onA.text('on-the-cluster').length === 60 && onB.text('on-the-cluster').length === 60,
      10_000,
      'both have all 20 edits',
    );
    expect(onA.text('on-the-cluster')).toBe(onB.text('on-the-cluster'));

    onA.send(awarenessFrame('on-the-cluster', encodeAwareness([{ clientId: 5, clock: 1, state: { user: 'on A' } }])));
    await onB.waitForFrame(
      (f) => f.kind === 'awareness' && decodeAwareness(f.payload).some((e) => e.clientId === 5),
      5_000,
      'awareness from A on B',
    );

    // Every edit and the awareness went out as one SPUBLISH each; nothing as a plain PUBLISH.
    expect((await cluster.calls('spublish')) - sharded).toBeGreaterThanOrEqual(21);
    expect((await cluster.calls('publish')) - published).toBe(0);

    const presence = async (port: number) =>
      (await (await fetch(`http://127.0.0.1:${port}/api/documents/on-the-cluster/presence`)).json()) as {
        users: Array<{ instance: string }>;
      };
    await waitFor(async () => (await presence(a!.port)).users.length === 2, 5_000, 'two present');
    expect(await presence(b!.port)).toEqual(await presence(a!.port));
  });
});
