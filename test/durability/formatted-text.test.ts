/**
 * Issue 13's reproduction, as a regression test: edits into formatted text, written the way
 * y-prosemirror writes a paper (a `paragraph` element holding an XmlText whose marks are
 * format attributes), are relayed, stored and acknowledged only once stored — on the
 * Hocuspocus protocol, on y-websocket, and between two instances over the in-process bus
 * and over Redis. And the changes Yjs makes on its own inside the server's apply (formatting
 * cleanup) reach every client, the sender too, and storage: no replica keeps a marker the
 * others dropped.
 *
 * The defect: Room.apply read "did this update change the document" from the last
 * transaction event, and Yjs follows a remote change to formatted text with a cleanup
 * transaction of its own that usually changes nothing — so the edit counted as a duplicate,
 * was acknowledged, and never stored or relayed.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { InProcessBusHub, type Bus } from '../../server/cluster/bus.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { destroyProviders, hocuspocusProvider, yWebsocketProvider } from '../helpers/providers.js';
import { REDIS_URL } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

type Protocol = 'hocuspocus' | 'y-websocket';

/** One editor: its document and how to tell it is in step with the server. */
interface Editor {
  readonly doc: Y.Doc;
  readonly fragment: Y.XmlFragment;
  synced(): boolean;
  /** Hocuspocus: every local change acknowledged. y-websocket has no acks: always true. */
  acknowledged(): boolean;
  disconnect(): void;
  connect(): void;
}

function editor(protocol: Protocol, port: number, name: string): Editor {
  const doc = new Y.Doc();
  const fragment = doc.getXmlFragment('default');
  if (protocol === 'hocuspocus') {
    const provider = hocuspocusProvider(port, name, doc);
    return {
      doc,
      fragment,
      synced: () => provider.synced,
      acknowledged: () => provider.unsyncedChanges === 0,
      disconnect: () => provider.disconnect(),
      connect: () => void provider.connect(),
    };
  }
  const provider = yWebsocketProvider(port, name, doc);
  return {
    doc,
    fragment,
    synced: () => provider.synced,
    acknowledged: () => true,
    disconnect: () => provider.disconnect(),
    connect: () => provider.connect(),
  };
}

/** A paragraph holding `parts`: [text, marks] pairs, the way y-prosemirror writes them. */
function paragraph(fragment: Y.XmlFragment, index: number, parts: ReadonlyArray<readonly [string, Record<string, unknown>]>): Y.XmlText {
  const block = new Y.XmlElement('paragraph');
  const text = new Y.XmlText();
  block.insert(0, [text]);
  fragment.doc!.transact(() => {
    fragment.insert(index, [block]);
    let at = 0;
    for (const [chunk, marks] of parts) {
      text.insert(at, chunk, marks);
      at += chunk.length;
    }
  });
  return text;
}

const firstText = (fragment: Y.XmlFragment) => (fragment.get(0) as Y.XmlElement).get(0) as Y.XmlText;

/** Both replicas hold the same structs and the same deletions (formatting markers included). */
function sameState(a: Y.Doc, b: Y.Doc): boolean {
  return (
    Y.equalSnapshots(Y.snapshot(a), Y.snapshot(b)) && a.getXmlFragment('default').toString() === b.getXmlFragment('default').toString()
  );
}

interface Setup {
  readonly label: string;
  /** Protocols of editor A and B; A and B sit on instances 0 and `bOn`. */
  readonly a: Protocol;
  readonly b: Protocol;
  readonly instances: 1 | 2;
  readonly bus?: 'in-process' | 'redis';
}

const SETUPS: readonly Setup[] = [
  { label: 'Hocuspocus', a: 'hocuspocus', b: 'hocuspocus', instances: 1 },
  { label: 'y-websocket', a: 'y-websocket', b: 'y-websocket', instances: 1 },
  { label: 'two instances, in-process bus', a: 'hocuspocus', b: 'y-websocket', instances: 2, bus: 'in-process' },
  { label: 'two instances, Redis', a: 'hocuspocus', b: 'y-websocket', instances: 2, bus: 'redis' },
];

let database: TestDatabase;
let sql: pg.Client;
let servers: RunningServer[] = [];

beforeAll(async () => {
  database = await createTestDatabase('formatted');
  sql = new pg.Client({ connectionString: database.url });
});

afterAll(async () => {
  await sql.end().catch(() => undefined);
  await database.drop();
});

afterEach(async () => {
  destroyProviders();
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

let sqlConnected = false;
async function storedRows(name: string): Promise<number> {
  if (!sqlConnected) {
    await sql.connect();
    sqlConnected = true;
  }
  const result = await sql.query<{ n: string }>(
    'select count(*) as n from collaborations c join documents d on d.id = c.document_id where d.name = $1',
    [name],
  );
  return Number(result.rows[0]!.n);
}

async function startInstances(setup: Setup): Promise<RunningServer[]> {
  const hub = new InProcessBusHub();
  const prefix = `scr-test-fmt-${randomBytes(4).toString('hex')}:`;
  const started: RunningServer[] = [];
  for (let i = 0; i < setup.instances; i++) {
    const bus: { bus?: Bus } = setup.bus === 'in-process' ? { bus: hub.connect(`instance-${i}`) } : {};
    const redis = setup.bus === 'redis' ? { redisUrl: REDIS_URL, redisPrefix: prefix } : {};
    started.push(
      await startServer({
        config: {
          port: 0,
          host: '127.0.0.1',
          databaseUrl: database.url,
          storage: 'durable',
          transport: 'uws',
          logLevel: 'silent',
          ...redis,
        },
        ...bus,
      }),
    );
  }
  servers.push(...started);
  return started;
}

/** Stops every instance and loads the document into a fresh client on a new one. */
async function reloadedAfterRestart(name: string): Promise<Y.Doc> {
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
  const [fresh] = await startInstances({ label: 'reload', a: 'hocuspocus', b: 'hocuspocus', instances: 1 });
  const reader = editor('hocuspocus', fresh!.port, name);
  await waitFor(() => reader.synced(), 10_000, 'fresh client synced');
  return reader.doc;
}

describe.each(SETUPS)('formatted text ($label)', (setup) => {
  it('relays, stores and keeps typing into a paragraph that holds a bold word', async () => {
    const name = `fmt-typing-${randomBytes(3).toString('hex')}`;
    const instances = await startInstances(setup);
    const a = editor(setup.a, instances[0]!.port, name);
    const b = editor(setup.b, instances[setup.instances - 1]!.port, name);
    await waitFor(() => a.synced() && b.synced(), 10_000, 'both editors synced');

    const text = paragraph(a.fragment, 0, [
      ['Hello ', {}],
      ['world', { bold: {} }],
    ]);
    await waitFor(() => b.fragment.toString() === a.fragment.toString(), 10_000, 'B has "Hello **world**"');
    await waitFor(() => a.acknowledged(), 10_000, 'A acknowledged');
    const rowsBefore = await storedRows(name);

    // The three edits of the report: after the bold word, inside it, and a new empty paragraph.
    text.insert(11, ' again');
    text.insert(8, 'X');
    a.fragment.insert(1, [new Y.XmlElement('paragraph')]);
    expect(a.fragment.toString()).toBe('<paragraph>Hello <bold>woXrld again</bold></paragraph><paragraph></paragraph>');

    await waitFor(() => b.fragment.toString() === a.fragment.toString(), 10_000, 'B receives the three edits');
    await waitFor(() => a.acknowledged(), 10_000, 'A acknowledged');
    // Hocuspocus: acknowledged means committed. y-websocket: no acks, so wait for the rows.
    await waitFor(async () => (await storedRows(name)) >= rowsBefore + 3, 10_000, 'three more collaborations rows');
    expect(sameState(a.doc, b.doc)).toBe(true);

    const reloaded = await reloadedAfterRestart(name);
    expect(reloaded.getXmlFragment('default').toString()).toBe(a.fragment.toString());
    expect(Y.equalSnapshots(Y.snapshot(reloaded), Y.snapshot(a.doc))).toBe(true);
  }, 60_000);

  it("stores and relays the server's own formatting cleanup, to the sender too", async () => {
    const name = `fmt-cleanup-${randomBytes(3).toString('hex')}`;
    const instances = await startInstances(setup);
    const a = editor(setup.a, instances[0]!.port, name);
    const b = editor(setup.b, instances[setup.instances - 1]!.port, name);
    await waitFor(() => a.synced() && b.synced(), 10_000, 'both editors synced');
    paragraph(a.fragment, 0, [['abcdef', {}]]);
    await waitFor(() => b.fragment.toString() === a.fragment.toString(), 10_000, 'B has the paragraph');

    // Concurrent: A, offline, deletes "cde" while B makes "cd" bold. The server applies B's
    // mark first, then A's deletion, which leaves two markers around nothing: Yjs on the
    // server removes them in a cleanup transaction of its own. A never makes that cleanup
    // itself (its deletion was local; its own cleanup of B's mark removes only one marker).
    a.disconnect();
    firstText(a.fragment).delete(2, 3);
    firstText(b.fragment).format(2, 2, { bold: {} });
    await waitFor(() => b.acknowledged(), 10_000, 'B acknowledged');
    await waitFor(async () => (await storedRows(name)) >= 2, 10_000, "B's mark stored");
    a.connect();

    await waitFor(() => a.synced() && a.acknowledged(), 10_000, 'A back and acknowledged');
    await waitFor(() => sameState(a.doc, b.doc), 10_000, 'A and B hold the same state, formatting markers included');
    expect(a.fragment.toString()).toBe('<paragraph>abf</paragraph>');

    // Typing where the markers were: every replica agrees on the (absent) mark.
    firstText(a.fragment).insert(2, 'X');
    await waitFor(() => b.fragment.toString() === '<paragraph>abXf</paragraph>', 10_000, 'B has the plain X');
    await waitFor(() => a.acknowledged(), 10_000, 'A acknowledged');
    const rows = await storedRows(name);
    await waitFor(async () => (await storedRows(name)) >= rows, 10_000, 'rows');

    const reloaded = await reloadedAfterRestart(name);
    expect(reloaded.getXmlFragment('default').toString()).toBe('<paragraph>abXf</paragraph>');
    expect(sameState(reloaded, a.doc)).toBe(true);
  }, 60_000);
});
