/**
 * Blame and authors after three users edit one paper at once, token mode, on two instances
 * sharing PostgreSQL, a bus and locks, over both protocols: Ada (Hocuspocus, instance A), Bob
 * (y-websocket, instance B) and Cy (Hocuspocus, instance B) type into the same paragraphs at
 * random places, each from an alphabet of their own, and delete some of one other user's
 * characters (Ada Bob's, Bob Cy's, Cy Ada's: no character is deleted twice). Whatever the
 * interleaving, the alphabet of each character says who typed it, so the blame can be checked
 * character by character, and the counts of typed and deleted characters are known exactly.
 * The same holds after a compaction coarsens the history (rows merged per session and minute).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as Y from 'yjs';
import { InProcessBusHub } from '../../server/cluster/bus.js';
import { InProcessLocks } from '../../server/cluster/locks.js';
import type { DocumentAuthor, PaperBlame } from '../../server/authorship/authorship-types.js';
import type { RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { apiClient } from '../helpers/http.js';
import { destroyProviders, hocuspocusProvider, yWebsocketProvider } from '../helpers/providers.js';
import { acknowledged, path, startDurableServer } from '../helpers/versions.js';
import { sleep, waitFor } from '../helpers/wait.js';
import pino from 'pino';
import { compactDocument } from '../../server/persistence/compaction.js';
import { createPgDb } from '../../server/persistence/pg-db.js';

const SECRET = 'test-secret-authorship-0123456789abcdef';
const ADMIN = 'admin-authorship-0123456789abcdef';
const NAME = 'authorship/three at once';

let database: TestDatabase;
const servers: RunningServer[] = [];

beforeAll(async () => {
  database = await createTestDatabase('authblame');
  const hub = new InProcessBusHub();
  const locks = new InProcessLocks();
  for (const [i, transport] of [
    [0, 'uws'],
    [1, 'ws'],
  ] as const) {
    servers.push(
      await startDurableServer(
        database,
        { authSecret: SECRET, adminToken: ADMIN, transport },
        { bus: hub.connect(`instance-${i}`), locks },
      ),
    );
  }
});

afterAll(async () => {
  destroyProviders();
  await Promise.all(servers.map((server) => server.close()));
  await database?.drop();
});

interface Typist {
  readonly name: string;
  readonly alphabet: string;
  readonly doc: Y.Doc;
  id: string;
  token: string;
  typed: number;
  deleted: number;
}

/** Seeded, so a failure can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const textNodes = (doc: Y.Doc): Y.XmlText[] =>
  doc
    .getXmlFragment('default')
    .toArray()
    .map((paragraph) => (paragraph as Y.XmlElement).get(0) as Y.XmlText);

const plain = (doc: Y.Doc): string =>
  textNodes(doc)
    .map((text) => text.toString())
    .join('\n');

it('blame says who typed each character and authors count what each typed and deleted', async () => {
  const [a, b] = servers as [RunningServer, RunningServer];
  const apiA = apiClient(() => a.port);
  const apiB = apiClient(() => b.port);
  const admin = async <T>(p: string, body: unknown): Promise<T> => {
    const response = await apiA<T>('POST', `/api/admin${p}`, { token: ADMIN, body });
    if (response.status >= 300) throw new Error(`${p}: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  };
  const typists: Typist[] = [
    { name: 'Ada Lovelace', alphabet: 'abcdefghijklm', doc: new Y.Doc(), id: '', token: '', typed: 0, deleted: 0 },
    { name: 'Bob Babbage', alphabet: 'NOPQRSTUVWXYZ', doc: new Y.Doc(), id: '', token: '', typed: 0, deleted: 0 },
    { name: 'Cy Clerk', alphabet: '0123456789#$%', doc: new Y.Doc(), id: '', token: '', typed: 0, deleted: 0 },
  ];
  for (const typist of typists) {
    typist.id = (await admin<{ id: string }>('/users', { email: `${typist.alphabet.slice(0, 3)}@example.org`, name: typist.name })).id;
    typist.token = (await admin<{ token: string }>('/tokens', { userId: typist.id })).token;
  }
  const [ada, bob, cy] = typists as [Typist, Typist, Typist];
  const { id: projectId } = await admin<{ id: string }>('/projects', { name: 'Authorship', ownerId: ada.id });
  for (const typist of [bob, cy]) await admin(`/projects/${projectId}/members`, { userId: typist.id, role: 'editor' });
  await admin('/documents', { projectId, name: NAME, kind: 'paper' });

  const adaProvider = hocuspocusProvider(a.port, NAME, ada.doc, { token: ada.token });
  yWebsocketProvider(b.port, NAME, bob.doc, { params: { token: bob.token } });
  const cyProvider = hocuspocusProvider(b.port, NAME, cy.doc, { token: cy.token });
  await waitFor(() => adaProvider.isSynced && cyProvider.isSynced, 10_000, 'providers synced');

  // Ada lays out three empty paragraphs; everyone waits for them.
  ada.doc.transact(() => {
    ada.doc.getXmlFragment('default').insert(
      0,
      [0, 1, 2].map(() => {
        const paragraph = new Y.XmlElement('paragraph');
        paragraph.insert(0, [new Y.XmlText('')]);
        return paragraph;
      }),
    );
  });
  await waitFor(() => typists.every((typist) => textNodes(typist.doc).length === 3), 10_000, 'paragraphs everywhere');

  const random = seeded(21);
  const victimOf = new Map([
    [ada, bob],
    [bob, cy],
    [cy, ada],
  ]);
  for (let round = 0; round < 120; round++) {
    for (const typist of typists) {
      const texts = textNodes(typist.doc);
      const text = texts[Math.floor(random() * texts.length)]!;
      const victim = victimOf.get(typist)!;
      const value = text.toString();
      const theirs = [...value].flatMap((char, i) => (victim.alphabet.includes(char) ? [i] : []));
      if (theirs.length > 0 && random() < 0.25) {
        text.delete(theirs[Math.floor(random() * theirs.length)]!, 1);
        typist.deleted++;
      } else {
        const length = 1 + Math.floor(random() * 3);
        let chars = '';
        for (let i = 0; i < length; i++) chars += typist.alphabet[Math.floor(random() * typist.alphabet.length)];
        text.insert(Math.floor(random() * (value.length + 1)), chars);
        typist.typed += length;
      }
    }
    // Every few rounds the network catches up a little: edits cross in flight, not in turns.
    if (round % 10 === 9) await sleep(15);
  }
  await waitFor(() => plain(ada.doc) === plain(bob.doc) && plain(bob.doc) === plain(cy.doc), 20_000, 'the three copies converge');
  await acknowledged(adaProvider);
  await acknowledged(cyProvider);
  const text = plain(ada.doc);
  const ownerOf = (char: string): Typist | undefined => typists.find((typist) => typist.alphabet.includes(char));

  // y-websocket has no acknowledgements: wait until Bob's last edits are in the log (then no character is unknown).
  for (const api of [apiA, apiB]) {
    await expect
      .poll(
        async () => {
          const blame = (await api<PaperBlame>('GET', path(NAME, '/blame'), { token: cy.token })).body;
          return blame.text === text && blame.spans.every((span) => span.userId !== null);
        },
        { timeout: 20_000 },
      )
      .toBe(true);
  }
  const check = async (port: number): Promise<void> => {
    const api = apiClient(() => port);
    const blame = await api<PaperBlame>('GET', path(NAME, '/blame'), { token: ada.token });
    expect(blame.status).toBe(200);
    // The same text as the document's plain-text content, so the offsets mean the same.
    const content = await fetch(`http://127.0.0.1:${port}${path(NAME, '/content?format=text')}`, {
      headers: { authorization: `Bearer ${ada.token}` },
    });
    expect(blame.body.text).toBe(await content.text());
    expect(blame.body.text).toBe(text);
    let covered = 0;
    let previousEnd = 0;
    for (const span of blame.body.spans) {
      expect(span.from).toBeGreaterThanOrEqual(previousEnd);
      expect(span.to).toBeGreaterThan(span.from);
      previousEnd = span.to;
      const owner = typists.find((typist) => typist.id === span.userId);
      expect(owner, JSON.stringify(span)).toBeDefined();
      expect(span.name).toBe(owner!.name);
      for (const char of text.slice(span.from, span.to)) expect(ownerOf(char), `"${char}" in ${owner!.name}'s span`).toBe(owner);
      covered += span.to - span.from;
    }
    // Every character but the line separators is in a span.
    expect(covered).toBe(text.replaceAll('\n', '').length);

    const authors = await api<DocumentAuthor[]>('GET', path(NAME, '/authors'), { token: bob.token });
    expect(authors.status).toBe(200);
    const byUser = new Map(authors.body.map((author) => [author.userId, author]));
    expect(byUser.size).toBe(3);
    for (const typist of typists) {
      const author = byUser.get(typist.id)!;
      expect(author).toMatchObject({ name: typist.name, insertedChars: typist.typed, deletedChars: typist.deleted });
      expect(Date.parse(author.firstEditAt!)).toBeLessThanOrEqual(Date.parse(author.lastEditAt!));
    }
  };
  for (const server of servers) await check(server.port);

  // A compaction coarsens the history: each session's updates within a minute become one row,
  // written anew. The answers stay the same, for an instance that has the log cached (it reads
  // the new rows) and for one that reads it all for the first time.
  destroyProviders();
  const db = createPgDb({ connectionString: database.url, logger: pino({ level: 'silent' }), max: 2 });
  try {
    const { rows: documents } = await db.query<{ id: string }>('select id from documents where name = $1', [NAME]);
    const coarsened = async (): Promise<number> => {
      await compactDocument(db, documents[0]!.id);
      const { rows } = await db.query<{ n: number }>(
        'select count(*)::int as n from collaborations where document_id = $1 and merged_updates > 1',
        [documents[0]!.id],
      );
      return rows[0]!.n;
    };
    // Compaction coarsens only rows of transactions older than every one still running on the server.
    await waitFor(async () => (await coarsened()) > 0, 20_000, 'a coarsened history');
  } finally {
    await db.close();
  }
  for (const server of servers) await check(server.port);
  const fresh = await startDurableServer(database, { authSecret: SECRET, adminToken: ADMIN });
  servers.push(fresh);
  await check(fresh.port);
}, 120_000);
