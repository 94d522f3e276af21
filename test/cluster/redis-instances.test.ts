/**
 * Two server processes behind one Redis (its own key prefix) and one PostgreSQL database:
 * a client on each edits one document; both converge, awareness crosses over, and a
 * newcomer on either instance loads the same content.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { awarenessFrame, decodeAwareness, encodeAwareness, updateFrame } from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
let database: TestDatabase;
let children: ChildServer[] = [];

beforeAll(async () => {
  database = await createTestDatabase('redisinst');
  const env = { DATABASE_URL: database.url, REDIS_URL, REDIS_PREFIX: `scr-test-${randomBytes(4).toString('hex')}:` };
  children = await Promise.all([startChildServer(env), startChildServer(env)]);
}, 60_000);

afterAll(async () => {
  RawClient.terminateAll();
  await Promise.all(children.map((child) => child.stop()));
  await database.drop();
});

describe('two instances over Redis', () => {
  it('converge on concurrent edits from clients on each, and relay awareness', async () => {
    const [a, b] = children;
    const onA = await RawClient.connect(a!.port);
    await onA.join('over-redis');
    const onB = await RawClient.connect(b!.port);
    await onB.join('over-redis');
    for (let k = 0; k < 10; k++) {
      onA.send(updateFrame('over-redis', textUpdate(onA.doc('over-redis'), `a${k};`)));
      onB.send(updateFrame('over-redis', textUpdate(onB.doc('over-redis'), `b${k};`)));
    }
    await waitFor(() => onA.text('over-redis').length === 60 && onB.text('over-redis').length === 60, 10_000, 'both have all 20 edits');
    expect(onA.text('over-redis')).toBe(onB.text('over-redis'));

    onA.send(awarenessFrame('over-redis', encodeAwareness([{ clientId: 5, clock: 1, state: { user: 'on A' } }])));
    await onB.waitForFrame(
      (f) => f.kind === 'awareness' && decodeAwareness(f.payload).some((e) => e.clientId === 5),
      5_000,
      'awareness from A on B',
    );

    // Presence: the same answer on every instance, naming both instances' sessions.
    const presence = async (port: number) =>
      (await (await fetch(`http://127.0.0.1:${port}/api/documents/over-redis/presence`)).json()) as { users: Array<{ instance: string }> };
    await waitFor(async () => (await presence(a!.port)).users.length === 2, 5_000, 'two present');
    const fromA = await presence(a!.port);
    expect(await presence(b!.port)).toEqual(fromA);
    expect(new Set(fromA.users.map((user) => user.instance)).size).toBe(2);

    for (const child of children) {
      const late = await RawClient.connect(child.port);
      await late.join('over-redis');
      expect(late.text('over-redis')).toBe(onA.text('over-redis'));
    }
  });
});
