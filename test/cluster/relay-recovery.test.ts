/**
 * What the relay does for updates an instance relayed but never stored (it died between
 * relaying and committing): the instances that received them store them once the
 * sender has been silent for SILENT_AFTER_MS; a sender that keeps announcing is never
 * stored twice. And a room that loads later gets the awareness states sent before it
 * subscribed, at once. In process (one bus hub, one PostgreSQL database).
 */
import pg from 'pg';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStorage } from '../../server/persistence/open-storage.js';
import type { DocumentStorage } from '../../server/persistence/storage.js';
import { InProcessBusHub } from '../../server/cluster/bus.js';
import { SILENT_AFTER_MS } from '../../server/cluster/bus-relay.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { awarenessFrame, decodeAwareness, encodeAwareness, updateFrame } from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { sleep, waitFor } from '../helpers/wait.js';

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
let database: TestDatabase;
let sql: pg.Client;
let servers: RunningServer[] = [];
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  database = await createTestDatabase('relayrec');
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
});

afterEach(async () => {
  RawClient.terminateAll();
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
  for (const close of closers.splice(0)) await close();
});

afterAll(async () => {
  await sql.end();
  await database.drop();
});

const config = { port: 0, host: '127.0.0.1', storage: 'durable', transport: 'uws', logLevel: 'silent', shutdownTimeoutMs: 200 } as const;

/** Storage that takes appends and never commits them (an instance about to die). */
function neverCommitting(real: DocumentStorage): DocumentStorage {
  return new Proxy(real, {
    get(target, property) {
      if (property === 'append') return () => {};
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const rows = async (name: string) =>
  (
    await sql.query<{ session_id: string }>(
      'select c.session_id from collaborations c join documents d on d.id = c.document_id where d.name = $1 order by c.position',
      [name],
    )
  ).rows.map((row) => row.session_id);

describe('updates relayed but never stored by their sender', () => {
  it('are stored by the receivers once the sender falls silent', async () => {
    const hub = new InProcessBusHub();
    const opened = await openStorage({ databaseUrl: database.url, dataDir: '', logger });
    closers.push(() => opened.storage.close(1_000));
    const dying = await startServer({
      config: { ...config, databaseUrl: database.url },
      bus: hub.connect('dying'),
      storage: { storage: neverCommitting(opened.storage), db: opened.db },
    });
    const survivor = await startServer({ config: { ...config, databaseUrl: database.url }, bus: hub.connect('survivor') });
    servers.push(survivor, dying);
    const onDying = await RawClient.connect(dying.port);
    await onDying.join('orphaned');
    const onSurvivor = await RawClient.connect(survivor.port);
    await onSurvivor.join('orphaned');

    onDying.send(updateFrame('orphaned', textUpdate(onDying.doc('orphaned'), 'never committed by its instance;')));
    await onSurvivor.waitForText('orphaned', 'never committed by its instance;');
    hub.silenced.add('dying'); // no more announcements: as if it had died
    const silencedAt = Date.now();
    await waitFor(async () => (await rows('orphaned')).length === 1, SILENT_AFTER_MS + 5_000, 'stored by the survivor', 100);
    expect(Date.now() - silencedAt).toBeGreaterThanOrEqual(SILENT_AFTER_MS - 1_100);
    expect(await rows('orphaned')).toEqual(['recovered:dying']);
    expect(onDying.framesFor('orphaned').filter((f) => f.kind === 'syncStatus')).toEqual([]); // never acknowledged by the dying one
  });

  it('are not stored twice while their sender keeps announcing', async () => {
    const hub = new InProcessBusHub();
    const a = await startServer({ config: { ...config, databaseUrl: database.url }, bus: hub.connect('a') });
    const b = await startServer({ config: { ...config, databaseUrl: database.url }, bus: hub.connect('b') });
    servers.push(a, b);
    const onA = await RawClient.connect(a.port);
    await onA.join('once');
    const onB = await RawClient.connect(b.port);
    await onB.join('once');
    for (let k = 0; k < 5; k++) onA.send(updateFrame('once', textUpdate(onA.doc('once'), `${k};`)));
    await onB.waitForText('once', '0;1;2;3;4;');
    await sleep(SILENT_AFTER_MS + 1_500);
    expect((await rows('once')).filter((session) => session.startsWith('recovered:'))).toEqual([]);
    expect(await rows('once')).toHaveLength(5);
  });
});

describe('a room that loads after others set their awareness', () => {
  it('gets their current states at once, not at their next renewal', async () => {
    const hub = new InProcessBusHub();
    const a = await startServer({ config: { ...config, databaseUrl: database.url }, bus: hub.connect('a') });
    const b = await startServer({ config: { ...config, databaseUrl: database.url }, bus: hub.connect('b') });
    servers.push(a, b);
    const onA = await RawClient.connect(a.port);
    await onA.join('aware-late');
    onA.send(awarenessFrame('aware-late', encodeAwareness([{ clientId: 42, clock: 1, state: { user: { name: 'Ada' } } }])));
    await sleep(100); // published before B holds the document: no one on B hears it
    const onB = await RawClient.connect(b.port);
    await onB.join('aware-late');
    await onB.waitForFrame(
      (f) => f.kind === 'awareness' && decodeAwareness(f.payload).some((e) => e.clientId === 42 && e.state !== null),
      2_000,
      "A's awareness on B",
    );
  });
});
