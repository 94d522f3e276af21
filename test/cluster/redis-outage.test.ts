/**
 * Redis goes away under two instances: both keep accepting, storing and acknowledging
 * edits, /readyz stays 200 and says Redis is unreachable, /metrics too; once Redis is back
 * the replicas converge without any client action (catch-up on reconnect).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { updateFrame } from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../helpers/throwaway-redis.js';
import { waitFor } from '../helpers/wait.js';

let database: TestDatabase;
let redis: ThrowawayRedis;
const servers: RunningServer[] = [];

beforeAll(async () => {
  database = await createTestDatabase('redisout');
  redis = await startThrowawayRedis();
  for (let i = 0; i < 2; i++) {
    servers.push(
      await startServer({
        config: {
          port: 0,
          host: '127.0.0.1',
          databaseUrl: database.url,
          storage: 'durable',
          transport: 'uws',
          logLevel: process.env.TEST_LOG ?? 'silent',
          redisUrl: redis.url,
          redisPrefix: 'outage:',
        },
      }),
    );
  }
}, 60_000);

afterAll(async () => {
  RawClient.terminateAll();
  await Promise.all(servers.map((server) => server.close()));
  await redis.stop();
  await database.drop();
});

const ready = async (server: RunningServer) => {
  const response = await fetch(`http://127.0.0.1:${server.port}/readyz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};
const acks = (client: RawClient) => client.framesFor('outage').filter((f) => f.kind === 'syncStatus' && f.applied === 1).length;

describe('a Redis outage', () => {
  it('does not stop editing; replicas converge once Redis is back', async () => {
    const [a, b] = servers;
    const onA = await RawClient.connect(a!.port);
    await onA.join('outage');
    const onB = await RawClient.connect(b!.port);
    await onB.join('outage');
    onA.send(updateFrame('outage', textUpdate(onA.doc('outage'), 'before;')));
    await onB.waitForText('outage', 'before;');
    expect((await ready(a!)).body).toEqual({ status: 'ready' });

    await redis.stop();
    await waitFor(async () => (await ready(a!)).body.status === 'degraded', 10_000, '/readyz degraded');
    expect(await ready(a!)).toEqual({ status: 200, body: { status: 'degraded', redis: 'unreachable' } });
    const metrics = await (await fetch(`http://127.0.0.1:${a!.port}/metrics`)).text();
    expect(metrics).toContain('scriptorium_redis_healthy 0');

    onA.send(updateFrame('outage', textUpdate(onA.doc('outage'), 'during-a;')));
    onB.send(updateFrame('outage', textUpdate(onB.doc('outage'), 'during-b;')));
    await waitFor(() => acks(onA) === 2 && acks(onB) === 1, 10_000, 'edits acknowledged while Redis is down');

    await redis.start();
    await waitFor(
      () => onA.text('outage') === onB.text('outage') && onA.text('outage').length === 'before;during-a;during-b;'.length,
      20_000,
      'replicas converge',
    );
    await waitFor(async () => (await ready(a!)).body.status === 'ready', 10_000, '/readyz ready again');
  }, 60_000);
});
