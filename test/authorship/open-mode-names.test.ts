/**
 * Open mode has no users: authorship names an editor by the display name its editor puts in
 * its awareness (`user.name`), which has the same client id as its edits. Two instances on one
 * database and bus: Uma (Hocuspocus) and Vic (y-websocket) on A, Wes (Hocuspocus) on B. While
 * they are there, either instance names all three (a room holds every instance's states). An
 * instance keeps the names of its own connections after they leave; one that only saw a state
 * relayed from another instance forgets it when the editor leaves: that author is unnamed there.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { HocuspocusProvider } from '@hocuspocus/provider';
import type { WebsocketProvider } from 'y-websocket';
import { InProcessBusHub } from '../../server/cluster/bus.js';
import { InProcessLocks } from '../../server/cluster/locks.js';
import type { DocumentAuthor, PaperBlame } from '../../server/authorship/authorship-types.js';
import type { RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { apiClient } from '../helpers/http.js';
import { destroyProvider, destroyProviders, hocuspocusProvider, yWebsocketProvider } from '../helpers/providers.js';
import { acknowledged, appendParagraph, path, startDurableServer } from '../helpers/versions.js';
import { waitFor } from '../helpers/wait.js';

const NAME = 'authorship/open names';

let database: TestDatabase;
const servers: RunningServer[] = [];

beforeAll(async () => {
  database = await createTestDatabase('authopen');
  const hub = new InProcessBusHub();
  const locks = new InProcessLocks();
  for (const i of [0, 1])
    servers.push(await startDurableServer(database, { authSecret: undefined }, { bus: hub.connect(`instance-${i}`), locks }));
});

afterAll(async () => {
  destroyProviders();
  await Promise.all(servers.map((server) => server.close()));
  await database?.drop();
});

/** Who wrote each line, as the blame says: line text → name. */
async function namesByLine(api: ReturnType<typeof apiClient>): Promise<Record<string, string | null>> {
  const { body } = await api<PaperBlame>('GET', path(NAME, '/blame'));
  const out: Record<string, string | null> = {};
  for (const span of body.spans) {
    expect(span.userId).toBeNull();
    out[body.text.slice(span.from, span.to)] = span.name;
  }
  return out;
}

it('names open-mode authors by their display names, as far as the instance saw them', async () => {
  const [a, b] = servers as [RunningServer, RunningServer];
  const apiA = apiClient(() => a.port);
  const apiB = apiClient(() => b.port);
  expect((await apiA('POST', '/api/documents', { body: { name: NAME, kind: 'paper' } })).status).toBe(201);

  const uma = { doc: new Y.Doc() };
  const vic = { doc: new Y.Doc() };
  const wes = { doc: new Y.Doc() };
  const umaProvider: HocuspocusProvider = hocuspocusProvider(a.port, NAME, uma.doc);
  const vicProvider: WebsocketProvider = yWebsocketProvider(a.port, NAME, vic.doc);
  const wesProvider: HocuspocusProvider = hocuspocusProvider(b.port, NAME, wes.doc);
  umaProvider.setAwarenessField('user', { name: 'Uma', color: '#0f766e' });
  vicProvider.awareness.setLocalStateField('user', { name: 'Vic', color: '#1d4ed8' });
  wesProvider.setAwarenessField('user', { name: 'Wes', color: '#6d28d9' });
  await waitFor(() => umaProvider.isSynced && wesProvider.isSynced && vicProvider.synced, 10_000, 'synced');

  appendParagraph(uma.doc, 'from Uma');
  await acknowledged(umaProvider);
  await waitFor(() => vic.doc.getXmlFragment('default').length === 1, 5_000, 'Vic has it');
  appendParagraph(vic.doc, 'from Vic');
  await waitFor(() => uma.doc.getXmlFragment('default').length === 2, 5_000, 'Uma has it');
  appendParagraph(wes.doc, 'from Wes');
  await acknowledged(wesProvider);

  const everyone = { 'from Uma': 'Uma', 'from Vic': 'Vic', 'from Wes': 'Wes' };
  // y-websocket has no acknowledgements: poll until Vic's row is stored.
  for (const api of [apiA, apiB]) await expect.poll(() => namesByLine(api), { timeout: 10_000 }).toEqual(everyone);
  const authors = await apiA<DocumentAuthor[]>('GET', path(NAME, '/authors'));
  expect(authors.body.map(({ userId, name, insertedChars }) => ({ userId, name, insertedChars }))).toEqual([
    { userId: null, name: 'Uma', insertedChars: 8 },
    { userId: null, name: 'Vic', insertedChars: 8 },
    { userId: null, name: 'Wes', insertedChars: 8 },
  ]);

  // Everyone leaves. A keeps the names its own connections told it; B, which saw Uma's and
  // Vic's states only as relayed, no longer knows them (and A no longer knows Wes).
  destroyProvider(umaProvider);
  destroyProvider(vicProvider);
  destroyProvider(wesProvider);
  await expect.poll(() => namesByLine(apiA), { timeout: 10_000 }).toEqual({ 'from Uma': 'Uma', 'from Vic': 'Vic', 'from Wes': null });
  await expect.poll(() => namesByLine(apiB), { timeout: 10_000 }).toEqual({ 'from Uma': null, 'from Vic': null, 'from Wes': 'Wes' });
}, 60_000);
