/**
 * Several published versions of each protocol's client against one server on real
 * PostgreSQL: @hocuspocus/provider 2.x, 3.x and 4.x on `/`; y-websocket 1.x, 2.x, 3.x and
 * @y/websocket 4 (built on Yjs 14, `@y/y`) on `/y/<name>`. The aliases are devDependencies
 * (package.json); every Yjs 13 client resolves to the one root `yjs`.
 *
 * For every version:
 * (a) two clients of it edit a paper the way y-prosemirror writes one (a paragraph holding an
 *     XmlText with a bold word) and type into the formatted text; the other receives every
 *     edit, Hocuspocus acknowledges every one, and after a restart a fresh client loads
 *     exactly that content from the database;
 * (b) it and a current client of the other protocol edit the same paper and converge;
 * (c) after a transient close (rate limit; for y-websocket also idle) it reconnects by
 *     itself and the edits it made while closed are stored. y-websocket 3 stops for good on
 *     close codes 4400–4499, which is why /y/ sockets get 4529 and 4508 for these
 *     (server/protocol/close-codes.ts).
 *
 * @y/websocket 4 runs on Yjs 14, whose types are one `Y.Type` (no XmlText): its client writes
 * the paragraph the Yjs 14 way (text directly in the element) and, in (b), types into the
 * XmlText a Yjs 13 client wrote. Contents are compared as a Yjs 13 client sees them (the
 * Yjs 14 state decoded by yjs 13) and, between Yjs 14 clients, as Yjs 14 sees them too.
 *
 * Providers are built with their BroadcastChannel off (disableBc / broadcast: false):
 * in one Node process two y-websocket clients of a room would otherwise sync through it,
 * bypassing the server under test.
 */
import { readFileSync } from 'node:fs';
import * as Y14 from '@y/y';
import { HocuspocusProvider as HocuspocusProvider4 } from '@hocuspocus/provider';
import {
  HocuspocusProvider as HocuspocusProvider2,
  HocuspocusProviderWebsocket as HocuspocusProviderWebsocket2,
} from 'hocuspocus-provider-2';
import { HocuspocusProvider as HocuspocusProvider3 } from 'hocuspocus-provider-3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebsocketProvider as WebsocketProvider1 } from 'y-websocket';
import { WebsocketProvider as WebsocketProvider2 } from 'y-websocket-2';
import { WebsocketProvider as WebsocketProvider3 } from 'y-websocket-3';
import { WebsocketProvider as WebsocketProvider4 } from 'y-websocket-4';
import * as Y from 'yjs';
import type { Config } from '../../server/config.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { waitFor } from '../helpers/wait.js';

type Protocol = 'hocuspocus' | 'y-websocket';

/** Marks as [text, attributes] runs. */
const HELLO_WORLD: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
  ['Hello ', {}],
  ['world', { bold: {} }],
];

/** One client's copy of the paper, whatever its Yjs. */
interface Paper {
  /** As a Yjs 13 client (y-prosemirror) sees it: `XmlFragment('default').toString()`. */
  text(): string;
  /** As the client's own Yjs sees it. */
  native(): string;
  stateVector(): Uint8Array;
  /** Appends a paragraph "Hello " + bold "world". */
  appendHelloWorld(): void;
  /** Types `chunk` at `index` of the text of paragraph `block`. */
  type(block: number, index: number, chunk: string): void;
  appendEmptyParagraph(): void;
}

/** Yjs 13: the y-prosemirror layout, XmlFragment > XmlElement('paragraph') > XmlText. */
function paper13(doc: Y.Doc): Paper {
  const fragment = doc.getXmlFragment('default');
  const textOf = (block: number) => (fragment.get(block) as Y.XmlElement).get(0) as Y.XmlText;
  return {
    text: () => fragment.toString(),
    native: () => fragment.toString(),
    stateVector: () => Y.encodeStateVector(doc),
    appendHelloWorld() {
      const block = new Y.XmlElement('paragraph');
      const text = new Y.XmlText();
      block.insert(0, [text]);
      doc.transact(() => {
        fragment.insert(fragment.length, [block]);
        let at = 0;
        for (const [chunk, marks] of HELLO_WORLD) {
          text.insert(at, chunk, marks);
          at += chunk.length;
        }
      });
    },
    type: (block, index, chunk) => textOf(block).insert(index, chunk),
    appendEmptyParagraph: () => fragment.insert(fragment.length, [new Y.XmlElement('paragraph')]),
  };
}

/** The paper as a Yjs 13 client sees a Yjs 14 state. */
function asYjs13(update: Uint8Array): string {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, update);
  return doc.getXmlFragment('default').toString();
}

/**
 * Yjs 14: one `Y.Type`; a paragraph it writes holds its text directly. A paragraph a Yjs 13
 * client wrote holds an XmlText (a Y.Type that keeps its type reference on the wire), typed
 * into as such.
 */
function paper14(doc: Y14.Doc): Paper {
  const root = doc.get('default');
  return {
    text: () => asYjs13(Y14.encodeStateAsUpdate(doc)),
    native: () => root.toString(),
    stateVector: () => Y14.encodeStateVector(doc),
    appendHelloWorld() {
      const block = new Y14.Type('paragraph');
      doc.transact(() => {
        root.insert(root.length, [block]);
        let at = 0;
        for (const [chunk, marks] of HELLO_WORLD) {
          block.insert(at, chunk, marks);
          at += chunk.length;
        }
      });
    },
    type(block, index, chunk) {
      const paragraph = root.get(block) as Y14.Type;
      const first: unknown = paragraph.length > 0 ? paragraph.get(0) : null;
      (first instanceof Y14.Type ? first : paragraph).insert(index, chunk);
    },
    appendEmptyParagraph: () => root.insert(root.length, [new Y14.Type('paragraph')]),
  };
}

/** One connected client of some version. */
interface Client {
  readonly paper: Paper;
  synced(): boolean;
  /** Hocuspocus: every local change acknowledged (`unsyncedChanges` 0). y-websocket has no acks. */
  acknowledged(): boolean;
  /** y-websocket 3: false once it stopped reconnecting for good (a 44xx close). */
  willReconnect(): boolean;
  /** Codes of the closes it saw, in order. */
  readonly closes: number[];
  /** Runs `fn` once, synchronously, when the socket first closes (before any reconnect). */
  onFirstClose(fn: () => void): void;
  destroy(): void;
}

interface Version {
  readonly label: string;
  readonly protocol: Protocol;
  connect(port: number, name: string): Client;
}

/** The installed version of an aliased package (the alias's package.json). */
function installed(alias: string): string {
  const file = new URL(`../../node_modules/${alias}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { name: string; version: string }).version;
}

const live = new Set<Client>();

/** Close-event bookkeeping shared by every client kind. */
function closeRecorder() {
  const closes: number[] = [];
  const pending: Array<() => void> = [];
  return {
    closes,
    onFirstClose: (fn: () => void) => void pending.push(fn),
    closed(code: number) {
      closes.push(code);
      for (const fn of pending.splice(0)) fn();
    },
  };
}

/** Fast reconnects (the defaults back off from 1 s up to 30 s). */
const FAST_RECONNECT = { delay: 50, minDelay: 50, maxDelay: 300, factor: 1.5, jitter: false } as const;

/** The surface every Hocuspocus provider version shares. */
interface HocuspocusLike {
  readonly synced: boolean;
  readonly unsyncedChanges: number;
  on(event: 'close', fn: (data: { event: { code: number } }) => void): unknown;
  destroy(): void;
}

interface HocuspocusClientOptions {
  /**
   * 2.x's count can end below 0: an edit made while disconnected is counted and queued, the
   * reconnect's sync resets the count to 1, then the queued edit's acknowledgement comes on
   * top (3.x stops the count at 0). For it, "nothing unacknowledged" is a count of at most 0.
   */
  readonly settledAtOrBelowZero?: boolean;
  readonly extraDestroy?: () => void;
}

function hocuspocusClient(
  provider: HocuspocusLike,
  doc: Y.Doc,
  { settledAtOrBelowZero = false, extraDestroy }: HocuspocusClientOptions = {},
): Client {
  const recorder = closeRecorder();
  provider.on('close', ({ event }) => recorder.closed(event.code));
  const client: Client = {
    paper: paper13(doc),
    synced: () => provider.synced,
    acknowledged: () => (settledAtOrBelowZero ? provider.unsyncedChanges <= 0 : provider.unsyncedChanges === 0),
    willReconnect: () => true,
    closes: recorder.closes,
    onFirstClose: recorder.onFirstClose,
    destroy() {
      provider.destroy();
      extraDestroy?.();
    },
  };
  live.add(client);
  return client;
}

/** The surface every y-websocket provider version shares (y-websocket 3 adds `closed`). */
interface YWebsocketLike {
  readonly synced: boolean;
  readonly shouldConnect: boolean;
  on(event: 'connection-close', fn: (event: { code: number } | null) => void): unknown;
  destroy(): void;
}

type YWebsocketOptions = { WebSocketPolyfill: unknown; maxBackoffTime: number; disableBc: boolean };
type YWebsocketConstructor<D> = new (url: string, room: string, doc: D, options: YWebsocketOptions) => YWebsocketLike;

function yWebsocketClient<D>(Provider: YWebsocketConstructor<D>, port: number, name: string, doc: D, paper: Paper): Client {
  const provider = new Provider(`ws://127.0.0.1:${port}/y`, name, doc, {
    WebSocketPolyfill: WebSocket,
    maxBackoffTime: 300,
    disableBc: true,
  });
  const recorder = closeRecorder();
  provider.on('connection-close', (event) => {
    if (event !== null) recorder.closed(event.code);
  });
  const client: Client = {
    paper,
    synced: () => provider.synced,
    acknowledged: () => true,
    willReconnect: () => provider.shouldConnect,
    closes: recorder.closes,
    onFirstClose: recorder.onFirstClose,
    destroy: () => provider.destroy(),
  };
  live.add(client);
  return client;
}

/** A y-websocket client of a Yjs 13 version (1.x, 2.x, 3.x). */
function yjs13Client(Provider: unknown, port: number, name: string): Client {
  const doc = new Y.Doc();
  return yWebsocketClient(Provider as YWebsocketConstructor<Y.Doc>, port, name, doc, paper13(doc));
}

const HOCUSPOCUS_VERSIONS: readonly Version[] = [
  {
    label: `@hocuspocus/provider ${installed('hocuspocus-provider-2')}`,
    protocol: 'hocuspocus',
    connect(port, name) {
      // 2.x builds its own socket from `url` without the polyfill or the delays: give it one.
      // It sends Auth only when it has a token, and Hocuspocus servers (this one too) wait for
      // Auth before they open a document: 2.x needs a token, any token in open mode.
      const websocketProvider = new HocuspocusProviderWebsocket2({
        url: `ws://127.0.0.1:${port}`,
        WebSocketPolyfill: WebSocket,
        ...FAST_RECONNECT,
      });
      const doc = new Y.Doc();
      const provider = new HocuspocusProvider2({ websocketProvider, name, document: doc, token: 'open', broadcast: false });
      return hocuspocusClient(provider, doc, { settledAtOrBelowZero: true, extraDestroy: () => websocketProvider.destroy() });
    },
  },
  {
    label: `@hocuspocus/provider ${installed('hocuspocus-provider-3')}`,
    protocol: 'hocuspocus',
    connect(port, name) {
      const doc = new Y.Doc();
      // The socket options (polyfill, delays) pass through to the socket it builds.
      const options = { url: `ws://127.0.0.1:${port}`, name, document: doc, WebSocketPolyfill: WebSocket, ...FAST_RECONNECT };
      const provider = new HocuspocusProvider3(options as ConstructorParameters<typeof HocuspocusProvider3>[0]);
      return hocuspocusClient(provider, doc);
    },
  },
  {
    label: `@hocuspocus/provider ${installed('@hocuspocus/provider')}`,
    protocol: 'hocuspocus',
    connect(port, name) {
      const doc = new Y.Doc();
      const options = { url: `ws://127.0.0.1:${port}`, name, document: doc, WebSocketPolyfill: WebSocket, ...FAST_RECONNECT };
      const provider = new HocuspocusProvider4(options as ConstructorParameters<typeof HocuspocusProvider4>[0]);
      return hocuspocusClient(provider, doc);
    },
  },
];

const Y_WEBSOCKET_VERSIONS: readonly Version[] = [
  {
    label: `y-websocket ${installed('y-websocket')}`,
    protocol: 'y-websocket',
    connect: (port, name) => yjs13Client(WebsocketProvider1, port, name),
  },
  {
    label: `y-websocket ${installed('y-websocket-2')}`,
    protocol: 'y-websocket',
    connect: (port, name) => yjs13Client(WebsocketProvider2, port, name),
  },
  {
    label: `y-websocket ${installed('y-websocket-3')}`,
    protocol: 'y-websocket',
    connect: (port, name) => yjs13Client(WebsocketProvider3, port, name),
  },
  {
    label: `@y/websocket ${installed('y-websocket-4')} (Yjs ${installed('@y/y')})`,
    protocol: 'y-websocket',
    connect(port, name) {
      const doc = new Y14.Doc();
      return yWebsocketClient(WebsocketProvider4 as unknown as YWebsocketConstructor<Y14.Doc>, port, name, doc, paper14(doc));
    },
  },
];

const VERSIONS = [...HOCUSPOCUS_VERSIONS, ...Y_WEBSOCKET_VERSIONS];
/** The main (current) client of each protocol, the partner in (b). */
const CURRENT: Record<Protocol, Version> = { hocuspocus: HOCUSPOCUS_VERSIONS[2]!, 'y-websocket': Y_WEBSOCKET_VERSIONS[0]! };

let database: TestDatabase;
/** Serves (b) and loads what (c) stored. */
let main: RunningServer;
let extra: RunningServer[] = [];
let counter = 0;

async function serve(overrides: Partial<Config> = {}): Promise<RunningServer> {
  const server = await startServer({
    config: {
      port: 0,
      host: '127.0.0.1',
      databaseUrl: database.url,
      storage: 'durable',
      transport: 'uws',
      logLevel: 'silent',
      ...overrides,
    },
  });
  extra.push(server);
  return server;
}

async function closeServer(server: RunningServer): Promise<void> {
  expect(await server.close()).toBe(true); // true: every accepted edit was committed
  extra = extra.filter((s) => s !== server);
}

function destroyClients(): void {
  for (const client of live) client.destroy();
  live.clear();
}

const docName = (kind: string) => `versions-${kind}-${++counter}-${process.pid}`;
const plain = (xml: string) => xml.replace(/<[^>]*>/g, '');
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

beforeAll(async () => {
  database = await createTestDatabase('versions');
  main = await startServer({
    config: { port: 0, host: '127.0.0.1', databaseUrl: database.url, storage: 'durable', transport: 'uws', logLevel: 'silent' },
  });
});

afterEach(async () => {
  destroyClients();
  await Promise.all(extra.map((server) => server.close()));
  extra = [];
});

afterAll(async () => {
  await main?.close();
  await database?.drop();
});

/** Loads `name` into a fresh client of `version` on `server` and returns it once synced. */
async function freshClient(version: Version, server: RunningServer, name: string): Promise<Client> {
  const client = version.connect(server.port, name);
  await waitFor(() => client.synced(), 10_000, `${version.label}: fresh client synced`);
  return client;
}

describe.each(VERSIONS)('$label', (version) => {
  it('(a) two clients: formatted text and the edits into it are relayed, acknowledged, stored and reloaded exactly', async () => {
    const name = docName('a');
    const first = await serve();
    const a = version.connect(first.port, name);
    const b = version.connect(first.port, name);
    await waitFor(() => a.synced() && b.synced(), 10_000, 'both synced');

    a.paper.appendHelloWorld();
    await waitFor(() => b.paper.native() === a.paper.native(), 10_000, 'B has "Hello **world**"');
    expect(plain(b.paper.text())).toBe('Hello world');

    // After the bold word, inside it, and a second, empty paragraph.
    a.paper.type(0, 11, ' again');
    a.paper.type(0, 8, 'X');
    a.paper.appendEmptyParagraph();
    if (version.label.startsWith('@y/websocket')) {
      // Yjs 14 does not carry the mark over to text typed next to it.
      expect(a.paper.native()).toBe('<paragraph>Hello woXrld again</paragraph><paragraph />');
    } else {
      expect(a.paper.text()).toBe('<paragraph>Hello <bold>woXrld again</bold></paragraph><paragraph></paragraph>');
    }
    await waitFor(
      () => b.paper.native() === a.paper.native() && sameBytes(b.paper.stateVector(), a.paper.stateVector()),
      10_000,
      'B receives the three edits',
    );
    await waitFor(() => a.acknowledged(), 10_000, "A's unsyncedChanges back to 0");
    const expected = { text: a.paper.text(), native: a.paper.native(), stateVector: a.paper.stateVector() };

    // Clients first: a provider destroyed while it reconnects to a stopped server throws.
    destroyClients();
    await closeServer(first);
    const second = await serve();
    const reader = await freshClient(version, second, name);
    expect(reader.paper.text()).toBe(expected.text);
    expect(reader.paper.native()).toBe(expected.native);
    expect(sameBytes(reader.paper.stateVector(), expected.stateVector)).toBe(true);
  });

  it(`(b) with a current ${version.protocol === 'hocuspocus' ? 'y-websocket' : 'Hocuspocus'} client on one paper: both edit, both converge`, async () => {
    const name = docName('b');
    const other = CURRENT[version.protocol === 'hocuspocus' ? 'y-websocket' : 'hocuspocus'];
    const mine = version.connect(main.port, name);
    const theirs = other.connect(main.port, name);
    await waitFor(() => mine.synced() && theirs.synced(), 10_000, 'both synced');

    theirs.paper.appendHelloWorld();
    await waitFor(() => mine.paper.text() === theirs.paper.text(), 10_000, `${version.label} has the paragraph`);
    // At once on both sides: into the bold word, after it, and a new paragraph.
    mine.paper.type(0, 8, 'X');
    theirs.paper.type(0, 11, ' again');
    mine.paper.appendEmptyParagraph();
    mine.paper.appendHelloWorld();

    await waitFor(
      () => mine.paper.text() === theirs.paper.text() && sameBytes(mine.paper.stateVector(), theirs.paper.stateVector()),
      10_000,
      'both hold the same state',
    );
    await waitFor(() => mine.acknowledged() && theirs.acknowledged(), 10_000, 'acknowledged');
    expect(plain(theirs.paper.text())).toBe('Hello woXrld againHello world');
    expect(theirs.paper.text()).toMatch(/^<paragraph>.*<\/paragraph><paragraph><\/paragraph><paragraph>.*<\/paragraph>$/);
  });

  it('(c) closed for its rate limit, it reconnects by itself and what it typed meanwhile is stored', async () => {
    const name = docName('c');
    const limited = await serve({ maxMessagesPerSecond: 5, maxMessagesBurst: 12 });
    const client = version.connect(limited.port, name);
    await waitFor(() => client.synced(), 10_000, 'synced');
    client.paper.appendHelloWorld();
    // Typed while the socket is closed, before the client reconnects.
    client.onFirstClose(() => client.paper.type(0, 0, '[typed while closed] '));
    // One frame per keystroke: the burst of 12 frames runs out.
    for (let i = 0; i < 40; i++) client.paper.type(0, 6, String(i % 10));

    await waitFor(() => client.closes.length > 0, 10_000, 'closed for the rate limit');
    expect(client.closes[0]).toBe(version.protocol === 'hocuspocus' ? 4429 : 4529);
    await waitFor(() => client.synced(), 10_000, 'reconnected and synced');
    expect(client.willReconnect()).toBe(true);
    await settled(client, limited, name);
  });

  if (version.protocol === 'y-websocket') {
    it('(c) closed for idleness, it reconnects by itself and what it typed meanwhile is stored', async () => {
      const name = docName('idle');
      const idle = await serve({ idleTimeoutMs: 1_000 });
      const client = version.connect(idle.port, name);
      await waitFor(() => client.synced(), 10_000, 'synced');
      client.paper.appendHelloWorld();
      client.onFirstClose(() => client.paper.type(0, 0, '[typed while closed] '));

      await waitFor(() => client.closes.length > 0, 5_000, 'closed for idleness');
      expect(client.closes[0]).toBe(4508);
      await waitFor(() => client.synced(), 10_000, 'reconnected and synced');
      expect(client.willReconnect()).toBe(true);
      await settled(client, idle, name);
    });
  }
});

/**
 * Waits until the server holds everything `client` has (seen by a current Hocuspocus client
 * on it), stops that server (which commits it all), and loads the paper on `main`.
 */
async function settled(client: Client, server: RunningServer, name: string): Promise<void> {
  expect(plain(client.paper.text())).toMatch(/^\[typed while closed\] Hello /);
  const witness = CURRENT.hocuspocus.connect(server.port, name);
  await waitFor(
    () => witness.paper.text() === client.paper.text() && sameBytes(witness.paper.stateVector(), client.paper.stateVector()),
    10_000,
    'the server has every edit',
  );
  await waitFor(() => client.acknowledged(), 10_000, 'acknowledged');
  const expected = client.paper.text();
  destroyClients(); // before the server stops: a provider destroyed while it reconnects throws
  await closeServer(server);
  const reader = await freshClient(CURRENT.hocuspocus, main, name);
  expect(reader.paper.text()).toBe(expected);
}
