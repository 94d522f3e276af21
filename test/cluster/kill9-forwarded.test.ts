/**
 * kill -9 of one instance behind a load balancer (a TCP forwarder that sends each new
 * connection to the first live instance of A, B, C), with Redis and PostgreSQL shared.
 * Two providers reach A through the forwarder, one sits on B and one on C directly, and
 * one more is on A directly (it cannot come back). While they all edit, A is killed; A
 * commits only every 500 ms, so it dies holding edits it relayed but never stored, on
 * which the others' acknowledged edits build. The forwarded providers reconnect through
 * the forwarder to B and keep editing. Afterwards every edit any provider saw
 * acknowledged (`unsyncedChanges` back to 0) is in every provider and in B's and C's
 * replicas, and — once B and C have stored what A left unconfirmed — readable from
 * PostgreSQL; and the awareness state of the client that did not come back disappears
 * from every other client within the awareness timeout (y-protocols' 30 s, fixed in the
 * clients: the test waits for it).
 */
import { randomBytes } from 'node:crypto';
import type { HocuspocusProvider } from '@hocuspocus/provider';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { SILENT_AFTER_MS } from '../../server/cluster/bus-relay.js';
import { AWARENESS_TIMEOUT_MS } from '../../server/rooms/awareness-table.js';
import { joinDocument } from '../helpers/durability.js';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { RawClient } from '../helpers/raw-client.js';
import { REDIS_URL } from '../helpers/redis.js';
import { startTcpForwarder, type TcpForwarder } from '../helpers/tcp-forwarder.js';
import { sleep, waitFor } from '../helpers/wait.js';

const NAME = 'kill9-forwarded';
/** y-protocols checks for outdated states every tenth of the timeout; reconnection adds a little. */
const AWARENESS_BOUND_MS = AWARENESS_TIMEOUT_MS + AWARENESS_TIMEOUT_MS / 10 + 3_000;

let database: TestDatabase;
const instances: ChildServer[] = [];
let forwarder: TcpForwarder;

beforeAll(async () => {
  database = await createTestDatabase('kill9fwd');
  const env = { DATABASE_URL: database.url, REDIS_URL, REDIS_PREFIX: `scr-test-${randomBytes(4).toString('hex')}:` };
  // A commits at most every 500 ms, so when it is killed it has relayed edits it never
  // stored, and the others' acknowledged edits build on them.
  instances.push(await startChildServer({ ...env, COMMIT_DELAY_MS: '500' })); // one at a time: migrations
  for (let i = 0; i < 2; i++) instances.push(await startChildServer(env));
  forwarder = await startTcpForwarder(instances.map((instance) => instance.port));
}, 60_000);

afterAll(async () => {
  destroyProviders();
  RawClient.terminateAll();
  await forwarder?.close();
  await Promise.all(
    instances
      .filter((instance) => instance.process.exitCode === null && instance.process.signalCode === null)
      .map((instance) => instance.stop()),
  );
  await database?.drop();
});

/** A provider that edits, and how many of its edits it made and saw acknowledged. */
interface Editor {
  readonly name: string;
  readonly doc: Y.Doc;
  readonly provider: HocuspocusProvider;
  made: number;
  acked: number;
}

function editor(name: string, port: number): Editor {
  const doc = new Y.Doc();
  const provider = hocuspocusProvider(port, NAME, doc);
  const made: Editor = { name, doc, provider, made: 0, acked: 0 };
  // 0: every update sent so far was acknowledged, i.e. committed in PostgreSQL.
  provider.on('unsyncedChanges', ({ number }: { number: number }) => {
    if (number === 0) made.acked = made.made;
  });
  provider.setAwarenessField('user', { name });
  return made;
}

const token = (name: string, k: number) => `${name}:${k};`;
const acknowledged = (e: Editor) => Array.from({ length: e.acked }, (_, k) => token(e.name, k));
const text = (doc: Y.Doc) => doc.getText('text').toString();

async function storedText(): Promise<string> {
  const sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  try {
    const doc = new Y.Doc();
    const {
      rows: [document],
    } = await sql.query<{ id: string; state: Buffer | null }>('select id, state from documents where name = $1', [NAME]);
    if (document!.state) Y.applyUpdate(doc, document!.state);
    const { rows } = await sql.query<{ update: Buffer }>('select update from collaborations where document_id = $1 order by position', [
      document!.id,
    ]);
    for (const row of rows) Y.applyUpdate(doc, row.update);
    return text(doc);
  } finally {
    await sql.end();
  }
}

describe('kill -9 of the instance a load balancer routes to', () => {
  it('loses nothing acknowledged; its clients reconnect elsewhere; the awareness of one that does not come back expires', async () => {
    const [a, b, c] = instances;
    const forwarded = [editor('fwd1', forwarder.port), editor('fwd2', forwarder.port)];
    const onB = editor('onB', b!.port);
    const onC = editor('onC', c!.port);
    const stranded = editor('onA', a!.port);
    const survivors = [...forwarded, onB, onC];
    const everyone = [...survivors, stranded];
    await waitFor(() => everyone.every((e) => e.provider.synced), 10_000, 'every provider synced');
    expect(forwarder.routed).toEqual([a!.port, a!.port]);
    await waitFor(
      () => survivors.every((e) => e.provider.awareness!.getStates().has(stranded.doc.clientID)),
      10_000,
      'the stranded client seen everywhere',
    );

    let editing = true;
    const edits = everyone.map(async (e) => {
      while (editing) {
        e.doc.getText('text').insert(e.doc.getText('text').length, token(e.name, e.made));
        e.made++;
        // A pause now and then: acknowledgements are counted when none is outstanding.
        await sleep(e.made % 8 === 0 ? 120 : 10);
      }
    });
    await waitFor(() => [onB, onC].every((e) => e.acked >= 5), 10_000, 'some edits acknowledged on B and C');
    await sleep(100);
    const ackedBeforeKill = forwarded.map((e) => e.acked);
    await a!.kill9();
    const killedAt = Date.now();
    await waitFor(
      () => forwarder.routed.filter((port) => port === b!.port).length === 2,
      10_000,
      'both forwarded providers reconnected to B',
    );
    await sleep(800);
    editing = false;
    await Promise.all(edits);

    await waitFor(
      () => survivors.every((e) => e.provider.unsyncedChanges === 0 && e.acked === e.made),
      15_000,
      'every surviving edit acknowledged',
    );
    // They kept editing after the kill, and those edits were acknowledged by B.
    forwarded.forEach((e, i) => expect(e.acked).toBeGreaterThan(ackedBeforeKill[i]!));

    // The survivors converge on one text (the last relayed edits may still be on their way).
    await waitFor(() => survivors.every((e) => text(e.doc) === text(onB.doc)), 10_000, 'survivors converge');
    const expected = everyone.flatMap(acknowledged);
    const missingIn = (replica: string) => expected.filter((edit) => !replica.includes(edit));
    for (const e of survivors) expect(missingIn(text(e.doc)), `acknowledged edits missing in provider ${e.name}`).toEqual([]);
    expect(missingIn(text((await joinDocument(b!.port, NAME)).doc(NAME))), 'acknowledged edits missing in instance B').toEqual([]);
    expect(missingIn(text((await joinDocument(c!.port, NAME)).doc(NAME))), 'acknowledged edits missing in instance C').toEqual([]);
    // What A relayed but had not committed when it died (later edits build on it) is
    // stored by B and C once A has been silent for SILENT_AFTER_MS.
    await waitFor(
      async () => missingIn(await storedText()).length === 0,
      SILENT_AFTER_MS + 10_000,
      'every acknowledged edit readable from PostgreSQL',
      250,
    ).catch(async (error: unknown) => {
      expect(missingIn(await storedText()), 'acknowledged edits missing in PostgreSQL').toEqual([]);
      throw error;
    });

    // The stranded client's state expires everywhere; the reconnected ones stay present.
    await waitFor(
      () => survivors.every((e) => !e.provider.awareness!.getStates().has(stranded.doc.clientID)),
      AWARENESS_BOUND_MS,
      "the stranded client's awareness expires",
      250,
    );
    const expiredAfter = Date.now() - killedAt;
    expect(expiredAfter).toBeLessThanOrEqual(AWARENESS_BOUND_MS);
    for (const e of forwarded) expect(onC.provider.awareness!.getStates().get(e.doc.clientID)).toEqual({ user: { name: e.name } });
  }, 90_000);
});
