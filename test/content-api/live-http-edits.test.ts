/**
 * HTTP writes into a document people are typing in, on two instances sharing PostgreSQL and
 * Redis: Hocuspocus and y-websocket clients on both instances type into paragraphs of their
 * own while two programs — one per instance — append blocks and replace text with edit ops
 * and send raw Yjs updates. Every client and both instances converge on one paper that holds
 * every keystroke and every HTTP write; what was acknowledged (Hocuspocus acks, HTTP 200s) is
 * in the database as soon as it is acknowledged, before anyone shuts down; and a server
 * started afresh on the database serves the converged paper.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { HocuspocusProvider } from '@hocuspocus/provider';
import type { WebsocketProvider } from 'y-websocket';
import { renderPaper } from '../../server/documents/paper.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { apiClient } from '../helpers/http.js';
import { destroyProviders, hocuspocusProvider, yWebsocketProvider } from '../helpers/providers.js';
import { REDIS_URL, testRedis, type TestRedis } from '../helpers/redis.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { docOf, docPath, liveState, postEdits, postUpdate, request } from './content-client.js';

const NAME = 'live/paper';
const KEYSTROKES = 40;
const WRITES_PER_PROGRAM = 12;

let database: TestDatabase;
let redis: TestRedis;
let sql: pg.Client;
let servers: RunningServer[] = [];

beforeAll(async () => {
  database = await createTestDatabase('contentlive');
  redis = testRedis();
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
});

afterEach(async () => {
  destroyProviders();
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

afterAll(async () => {
  await sql?.end();
  await redis?.cleanup();
  await database?.drop();
});

async function start(withRedis: boolean): Promise<RunningServer> {
  const server = await startServer({
    config: {
      port: 0,
      host: '127.0.0.1',
      databaseUrl: database.url,
      storage: 'durable',
      transport: 'uws',
      logLevel: 'silent',
      httpRateLimitPerMinute: 10_000,
      ...(withRedis ? { redisUrl: REDIS_URL, redisPrefix: redis.prefix } : {}),
    },
  });
  servers.push(server);
  return server;
}

/**
 * What the database holds of the document: its folded state and every log row, applied in order;
 * `pending` when some stored update waits for an item the database does not hold yet.
 */
async function storedDocument(name: string): Promise<{ text: string; pending: boolean }> {
  const doc = new Y.Doc();
  const state = await sql.query<{ state: Buffer | null }>('select state from documents where name = $1', [name]);
  if (state.rows[0]?.state) Y.applyUpdate(doc, new Uint8Array(state.rows[0].state));
  const log = await sql.query<{ update: Buffer }>(
    'select c.update from collaborations c join documents d on d.id = c.document_id where d.name = $1 order by c.position',
    [name],
  );
  for (const row of log.rows) Y.applyUpdate(doc, new Uint8Array(row.update));
  return { text: renderPaper(doc).text, pending: doc.store.pendingStructs !== null || doc.store.pendingDs !== null };
}

async function storedText(name: string): Promise<string> {
  return (await storedDocument(name)).text;
}

interface Typist {
  readonly tag: string;
  readonly doc: Y.Doc;
  readonly provider: HocuspocusProvider | WebsocketProvider;
  /** Hocuspocus: every keystroke acknowledged; y-websocket has no acks. */
  readonly acknowledges: boolean;
}

/**
 * Types into a paragraph of the typist's own, one character per transaction, until the
 * programs are done writing (and at least `KEYSTROKES` characters), so every HTTP write lands
 * during the typing.
 */
async function type(typist: Typist, writing: () => boolean): Promise<string> {
  const fragment = typist.doc.getXmlFragment('default');
  const paragraph = new Y.XmlElement('paragraph');
  const text = new Y.XmlText(`${typist.tag}:`);
  paragraph.insert(0, [text]);
  fragment.insert(fragment.length, [paragraph]);
  for (let i = 0; i < KEYSTROKES || writing(); i++) {
    text.insert(text.length, String.fromCharCode(97 + (i % 26)));
    await sleep(5);
  }
  return text.toString();
}

/**
 * A program writing over HTTP to one instance: appends a block (edit op), sends a paragraph
 * as a raw update built on the state it read, replaces text in its own block. Returns the
 * lines its acknowledged writes leave in the paper, each checked in the database as soon as it is answered.
 */
async function program(port: number, tag: string): Promise<string[]> {
  const lines: string[] = [];
  for (let i = 0; i < WRITES_PER_PROGRAM; i++) {
    const line = `${tag} ${i}`;
    if (i % 3 === 0) {
      const answer = await postEdits(port, NAME, [{ op: 'append', markdown: line }]);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      lines.push(line);
    } else if (i % 3 === 1) {
      const doc = docOf(await liveState(port, NAME));
      const before = Y.encodeStateVector(doc);
      const paragraph = new Y.XmlElement('paragraph');
      paragraph.insert(0, [new Y.XmlText(line)]);
      const fragment = doc.getXmlFragment('default');
      fragment.insert(fragment.length, [paragraph]);
      const answer = await postUpdate(port, NAME, Y.encodeStateAsUpdate(doc, before));
      expect(answer.status, answer.text).toBe(200);
      lines.push(line);
    } else {
      // The block appended two writes ago gets a suffix.
      const previous = `${tag} ${i - 2}`;
      const answer = await postEdits(port, NAME, [{ op: 'replace', find: previous, with: `${previous} edited` }]);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      lines[lines.indexOf(previous)] = `${previous} edited`;
    }
    // Answered only after the commit: the database has it already. A write built on the other
    // instance's relayed edits can be stored before that instance commits them (each instance
    // stores its own); it then waits in the log for them, and only that wait is allowed here.
    let stored = await storedDocument(NAME);
    for (let waited = 0; stored.pending && waited < 10_000; waited += 50) {
      await sleep(50);
      stored = await storedDocument(NAME);
    }
    expect(stored.text.split('\n'), `${line} stored when answered`).toEqual(expect.arrayContaining(lines));
  }
  return lines;
}

describe('HTTP writes during live typing on two instances', () => {
  it('converge with the typing, are stored when answered, and survive a restart', async () => {
    const a = await start(true);
    const b = await start(true);
    const api = apiClient(() => a.port);
    expect((await api('POST', '/api/documents', { body: { name: NAME, kind: 'paper', content: '# Live\n\nSeed.\n' } })).status).toBe(201);

    const typists: Typist[] = [];
    for (const [tag, server, protocol] of [
      ['hocuspocus-a', a, 'hocuspocus'],
      ['y-websocket-b', b, 'y-websocket'],
      ['hocuspocus-b', b, 'hocuspocus'],
      ['y-websocket-a', a, 'y-websocket'],
    ] as const) {
      const doc = new Y.Doc();
      const provider = protocol === 'hocuspocus' ? hocuspocusProvider(server.port, NAME, doc) : yWebsocketProvider(server.port, NAME, doc);
      typists.push({ tag, doc, provider, acknowledges: protocol === 'hocuspocus' });
    }
    await waitFor(() => typists.every((typist) => renderPaper(typist.doc).text === 'Live\nSeed.'), 10_000, 'every client has the seed');

    let writing = true;
    const programs = Promise.all([program(a.port, 'via A'), program(b.port, 'via B')]).finally(() => (writing = false));
    const [typed, programLines] = await Promise.all([Promise.all(typists.map((typist) => type(typist, () => writing))), programs]);
    const httpLines = programLines.flat();

    // Acknowledged means stored: read the database before anything shuts down.
    for (const typist of typists.filter((t) => t.acknowledges)) {
      const provider = typist.provider as HocuspocusProvider;
      await waitFor(() => provider.unsyncedChanges === 0, 10_000, `${typist.tag}'s keystrokes acknowledged`);
    }
    const storedLines = (await storedText(NAME)).split('\n');
    for (const line of httpLines) expect(storedLines, `HTTP write "${line}" stored`).toContain(line);
    typists.forEach((typist, i) => {
      if (typist.acknowledges) expect(storedLines, `${typist.tag}'s acknowledged keystrokes stored`).toContain(typed[i]);
    });

    // Everyone converges on one paper holding every keystroke and every HTTP write.
    const textOn = async (port: number) => (await request(port, 'GET', docPath(NAME, '/content?format=text'))).text;
    await waitFor(
      async () => {
        const texts = [...typists.map((typist) => renderPaper(typist.doc).text), await textOn(a.port), await textOn(b.port)];
        return texts.every((text) => text === texts[0]);
      },
      15_000,
      'every client and both instances converge',
    );
    const converged = renderPaper(typists[0]!.doc).text;
    const lines = converged.split('\n');
    expect(lines.slice(0, 2)).toEqual(['Live', 'Seed.']);
    expect(lines.slice(2).sort()).toEqual([...typed, ...httpLines].sort());

    // A server started afresh on the database has it all.
    destroyProviders();
    await Promise.all(servers.map((server) => server.close()));
    servers = [];
    const fresh = await start(false);
    expect(await textOn(fresh.port)).toBe(converged);
  });
});
