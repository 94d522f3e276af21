/**
 * Several instances of one document, sharing a database and a bus: edits and awareness
 * from clients on one instance reach clients on the others in one hop, every replica
 * converges, each edit is stored once (by the instance that accepted it), and the
 * catch-up exchange repairs a message the bus lost. In process, with the in-process bus;
 * the Redis bus runs the same relay between child processes in redis-instances.test.ts.
 */
import pg from 'pg';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { InProcessBusHub } from '../../server/cluster/bus.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { awarenessFrame, decodeAwareness, encodeAwareness, updateFrame } from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { sleep, waitFor } from '../helpers/wait.js';

let database: TestDatabase;
let servers: RunningServer[] = [];

beforeAll(async () => {
  database = await createTestDatabase('twoinst');
});

afterAll(async () => {
  await database.drop();
});

afterEach(async () => {
  RawClient.terminateAll();
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

async function instances(hub: InProcessBusHub, n: number): Promise<RunningServer[]> {
  for (let i = 0; i < n; i++) {
    servers.push(
      await startServer({
        config: { port: 0, host: '127.0.0.1', databaseUrl: database.url, storage: 'durable', transport: 'uws', logLevel: 'silent' },
        bus: hub.connect(`instance-${i}`),
      }),
    );
  }
  return servers;
}

describe('instances sharing a bus', () => {
  it('relays edits in one hop, converges three replicas, and stores each edit once', async () => {
    const [a, b, c] = await instances(new InProcessBusHub(), 3);
    const clients = await Promise.all([a!, b!, c!].map((server) => RawClient.connect(server.port)));
    for (const client of clients) await client.join('shared');
    clients.forEach((client, i) => {
      for (let k = 0; k < 5; k++) client.send(updateFrame('shared', textUpdate(client.doc('shared'), `${i}.${k};`)));
    });
    const expectedLength = 3 * 5 * '0.0;'.length;
    await waitFor(() => clients.every((client) => client.text('shared').length === expectedLength), 10_000, 'every client has every edit');
    expect(new Set(clients.map((client) => client.text('shared'))).size).toBe(1);
    await waitFor(
      () => clients.every((client) => client.framesFor('shared').filter((f) => f.kind === 'syncStatus').length === 5),
      10_000,
      'acks',
    );

    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    try {
      const { rows } = await sql.query<{ n: string }>(
        `select count(*) as n from collaborations c join documents d on d.id = c.document_id where d.name = 'shared'`,
      );
      expect(Number(rows[0]!.n)).toBe(15); // each edit stored once, by the instance that accepted it
    } finally {
      await sql.end();
    }
  });

  it("shows a client's awareness on the other instance and removes it when the client leaves", async () => {
    const [a, b] = await instances(new InProcessBusHub(), 2);
    const onA = await RawClient.connect(a!.port);
    await onA.join('aware');
    const onB = await RawClient.connect(b!.port);
    await onB.join('aware');
    onA.send(awarenessFrame('aware', encodeAwareness([{ clientId: 77, clock: 1, state: { user: { name: 'Ada' } } }])));
    const seen = await onB.waitForFrame(
      (f) => f.kind === 'awareness' && decodeAwareness(f.payload).some((e) => e.clientId === 77 && e.state !== null),
      5_000,
      'awareness on B',
    );
    expect(seen.kind).toBe('awareness');
    onA.close();
    await onB.waitForFrame(
      (f) => f.kind === 'awareness' && decodeAwareness(f.payload).some((e) => e.clientId === 77 && e.state === null),
      5_000,
      'removal on B',
    );
  });

  it('repairs a message the bus lost with the catch-up exchange when the connection comes back', async () => {
    const hub = new InProcessBusHub();
    const [a, b] = await instances(hub, 2);
    const onA = await RawClient.connect(a!.port);
    await onA.join('lossy');
    const onB = await RawClient.connect(b!.port);
    await onB.join('lossy');
    let lost = 0;
    hub.lose = (to) => to === 'instance-1' && lost++ === 0; // the next message to B vanishes
    onA.send(updateFrame('lossy', textUpdate(onA.doc('lossy'), 'lost on the way;')));
    await onA.waitForFrame((f) => f.kind === 'syncStatus', 5_000, 'ack on A');
    await sleep(200);
    expect(onB.text('lossy')).toBe('');
    hub.lose = null;
    hub.reconnect('instance-1');
    await onB.waitForText('lossy', 'lost on the way;');
  });

  it('brings a newly loading instance level with edits the others hold but have not stored yet', async () => {
    const [a, b] = await instances(new InProcessBusHub(), 2);
    const onA = await RawClient.connect(a!.port);
    await onA.join('late');
    onA.send(updateFrame('late', textUpdate(onA.doc('late'), 'first;')));
    await onA.waitForFrame((f) => f.kind === 'syncStatus', 5_000, 'ack');
    const onB = await RawClient.connect(b!.port);
    await onB.join('late');
    await onB.waitForText('late', 'first;');
    onB.send(updateFrame('late', textUpdate(onB.doc('late'), 'second;')));
    await onA.waitForText('late', 'first;second;');
  });
});
