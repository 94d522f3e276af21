/**
 * Every path on which the server acknowledges (or accepts) an update, with formatted content
 * written the way y-prosemirror writes a paper — the content that once made Room.apply take an
 * edit for a duplicate. Why each path is safe (README, "When an edit counts as saved"):
 *
 * - a duplicate: acknowledged unstored only when every transaction of its apply changed nothing,
 *   so all of it was already in the room, which holds nothing that is not stored or on its way
 *   (its ack waits for everything applied before it); a duplicate of what another instance
 *   relayed and has not yet confirmed is stored again (Room unit test, 'stored-again');
 * - SyncStep2: the same apply as an Update, only relayed re-encoded;
 * - a read-only member: its update is acknowledged only if it would change nothing, and never
 *   applied, stored or relayed otherwise;
 * - a full write queue: refused before it is applied, SyncStatus 0, and the provider keeps it;
 * - restore: a server-origin apply, answered only after its commit;
 * - remote (bus) and compaction: formatted-text.test.ts (two instances, and every restart there
 *   reloads a compacted state).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { Authorizer, Grant, Principal } from '../../server/auth/authorizer.js';
import { DEFAULT_PROJECT_ID } from '../../server/persistence/documents.js';
import { startServer, type RunningServer } from '../../server/server.js';
import type { Config } from '../../server/config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { step2Frame, updateFrame } from '../helpers/frames.js';
import { destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { RawClient } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait.js';
import { apiClient } from '../helpers/http.js';

let database: TestDatabase;
let sql: pg.Client;
const servers: RunningServer[] = [];

beforeAll(async () => {
  database = await createTestDatabase('ackpaths');
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
});

afterAll(async () => {
  destroyProviders();
  RawClient.terminateAll();
  await Promise.all(servers.map((server) => server.close()));
  await sql.end();
  await database.drop();
});

async function start(config: Partial<Config> = {}, authorizer?: Authorizer): Promise<RunningServer> {
  const server = await startServer({
    config: { port: 0, host: '127.0.0.1', databaseUrl: database.url, storage: 'durable', transport: 'uws', logLevel: 'silent', ...config },
    ...(authorizer ? { authorizer } : {}),
  });
  servers.push(server);
  return server;
}

async function rows(name: string): Promise<number> {
  const result = await sql.query<{ n: string }>(
    'select count(*) as n from collaborations c join documents d on d.id = c.document_id where d.name = $1',
    [name],
  );
  return Number(result.rows[0]!.n);
}

/** A formatted edit on `doc` (a paragraph "plain " + bold "bold" + a link), returned as its update. */
function formattedEdit(doc: Y.Doc, words = 'bold'): Uint8Array {
  const before = Y.encodeStateVector(doc);
  const fragment = doc.getXmlFragment('default');
  const block = new Y.XmlElement('paragraph');
  const text = new Y.XmlText();
  block.insert(0, [text]);
  doc.transact(() => {
    fragment.insert(fragment.length, [block]);
    text.insert(0, 'plain ');
    text.insert(6, words, { bold: {} });
    text.insert(6 + words.length, ' link', { link: { href: 'https://example.org' } });
  });
  return Y.encodeStateAsUpdate(doc, before);
}

/** Typing into the last paragraph, inside its bold run. */
function typeIntoBold(doc: Y.Doc, chars: string): Uint8Array {
  const before = Y.encodeStateVector(doc);
  const fragment = doc.getXmlFragment('default');
  const text = (fragment.get(fragment.length - 1) as Y.XmlElement).get(0) as Y.XmlText;
  text.insert(8, chars);
  return Y.encodeStateAsUpdate(doc, before);
}

describe('acknowledgement paths with formatted content', () => {
  it('a duplicate is acknowledged without a second row; an edit into bold text is a change', async () => {
    const server = await start();
    const client = await RawClient.connect(server.port);
    await client.join('dup');
    const writer = new Y.Doc();
    const first = formattedEdit(writer);
    client.send(updateFrame('dup', first));
    await waitFor(() => client.acks('dup').length === 1, 5_000, 'first ack');
    expect(await rows('dup')).toBe(1);

    client.send(updateFrame('dup', first));
    await waitFor(() => client.acks('dup').length === 2, 5_000, 'duplicate acked');
    expect(await rows('dup')).toBe(1);

    client.send(updateFrame('dup', typeIntoBold(writer, 'X')));
    await waitFor(() => client.acks('dup').length === 3, 5_000, 'typing acked');
    expect(client.acks('dup')).toEqual([1, 1, 1]);
    expect(await rows('dup')).toBe(2);
  });

  it('SyncStep2 with formatted content is applied, stored, relayed and acknowledged like an Update', async () => {
    const server = await start();
    const sender = await RawClient.connect(server.port);
    const other = await RawClient.connect(server.port);
    await sender.join('step2');
    await other.join('step2');
    const writer = new Y.Doc();
    const first = formattedEdit(writer);
    sender.send(step2Frame('step2', first));
    await waitFor(() => sender.acks('step2').length === 1, 5_000, 'ack');
    sender.send(step2Frame('step2', typeIntoBold(writer, 'Y')));
    await waitFor(() => sender.acks('step2').length === 2, 5_000, 'second ack');
    await waitFor(
      () => other.doc('step2').getXmlFragment('default').toString() === writer.getXmlFragment('default').toString(),
      5_000,
      'relayed',
    );
    expect(await rows('step2')).toBe(2);
  });

  it('a read-only member: its duplicate is acknowledged, its formatted edit refused, neither stored nor relayed', async () => {
    const viewerGrant = (principal: Principal): Grant => ({ ...principal, scope: 'readonly', create: null });
    const editorGrant = (principal: Principal): Grant => ({
      ...principal,
      scope: 'read-write',
      create: { kind: 'paper', projectId: DEFAULT_PROJECT_ID },
    });
    // Token "viewer" reads, any other writes.
    const authorizer: Authorizer = {
      authenticate: (token) => Promise.resolve({ userId: null, sessionId: token, expiresAt: null }),
      revalidate: () => Promise.resolve(),
      authorize: (principal) => Promise.resolve(principal.sessionId === 'viewer' ? viewerGrant(principal) : editorGrant(principal)),
    };
    const server = await start({}, authorizer);
    const editor = hocuspocusProvider(server.port, 'readonly-fmt', new Y.Doc(), { token: 'editor' });
    await waitFor(() => editor.synced, 5_000, 'editor synced');
    const edited = formattedEdit(editor.document);
    await waitFor(() => editor.unsyncedChanges === 0, 5_000, 'editor acked');
    const rowsBefore = await rows('readonly-fmt');

    const viewerDoc = new Y.Doc();
    const viewer = hocuspocusProvider(server.port, 'readonly-fmt', viewerDoc, { token: 'viewer' });
    await waitFor(() => viewer.synced && viewerDoc.getXmlFragment('default').length === 1, 5_000, 'viewer synced');
    expect(edited.byteLength).toBeGreaterThan(0);
    // A duplicate of what it has (its sync step 2 already was one) changes nothing: acknowledged.
    await waitFor(() => viewer.unsyncedChanges === 0, 5_000, 'viewer duplicate acked');
    // A real edit into the bold word: refused, never applied, stored or relayed.
    const rejected = server.metrics.counters.updatesRejected;
    typeIntoBold(viewerDoc, 'V');
    await waitFor(() => server.metrics.counters.updatesRejected > rejected, 5_000, 'viewer edit refused');
    // The editor's own next edit overtakes anything the viewer's could still be doing.
    typeIntoBold(editor.document, 'E');
    await waitFor(() => editor.unsyncedChanges === 0, 5_000, 'editor acked');
    expect(editor.document.getXmlFragment('default').toString()).not.toContain('V');
    expect(await rows('readonly-fmt')).toBe(rowsBefore + 1);
    const fresh = await RawClient.connect(server.port);
    await fresh.join('readonly-fmt');
    expect(fresh.doc('readonly-fmt').getXmlFragment('default').toString()).toBe(editor.document.getXmlFragment('default').toString());
  });

  it('a full write queue refuses formatted edits before applying them; what it admitted is stored', async () => {
    const server = await start({ maxPendingUpdates: 2, commitDelayMs: 0 });
    const client = await RawClient.connect(server.port);
    await client.join('full');
    const writer = new Y.Doc();
    const updates = [formattedEdit(writer, 'one'), typeIntoBold(writer, 'a'), typeIntoBold(writer, 'b'), typeIntoBold(writer, 'c')];
    const locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
    await locker.query('begin');
    await locker.query('lock table collaborations in access exclusive mode');
    try {
      for (const update of updates) client.send(updateFrame('full', update));
      // Acks leave in order, so the refusals wait behind the first commit; the counter shows them.
      await waitFor(() => server.metrics.counters.updatesRejected >= 1, 10_000, 'refusals while the queue is blocked');
      expect(client.acks('full')).toEqual([]);
    } finally {
      await locker.query('commit');
      await locker.end();
    }
    await waitFor(() => client.acks('full').length === 4, 10_000, 'four answers');
    const acks = client.acks('full');
    const admitted = acks.filter((ack) => ack === 1).length;
    expect(admitted).toBeGreaterThanOrEqual(1);
    expect(acks.slice(0, admitted).every((ack) => ack === 1)).toBe(true);
    expect(await rows('full')).toBe(admitted);
    // The refused ones are still the client's: resent, they are stored and relayed.
    for (const update of updates.slice(admitted)) client.send(updateFrame('full', update));
    await waitFor(() => client.acks('full').length === 4 + updates.length - admitted, 10_000, 'resent answered');
    const reader = await RawClient.connect(server.port);
    await reader.join('full');
    expect(reader.doc('full').getXmlFragment('default').toString()).toBe(writer.getXmlFragment('default').toString());
  });

  it('restoring a formatted version: answered after its commit, relayed, and what a reload shows', async () => {
    const server = await start({ autoVersionQuietMs: 3_600_000, autoVersionMaxMs: 3_600_000 });
    const api = apiClient(() => server.port);
    const doc = new Y.Doc();
    const provider = hocuspocusProvider(server.port, 'restore-fmt', doc);
    await waitFor(() => provider.synced, 5_000, 'synced');
    formattedEdit(doc, 'version one');
    await waitFor(() => provider.unsyncedChanges === 0, 5_000, 'acked');
    const kept = doc.getXmlFragment('default').toString();
    const named = await api<{ version: number }>('POST', '/api/documents/restore-fmt/versions', { body: { label: 'formatted' } });
    expect(named.status).toBe(201);
    const version = named.body.version;
    typeIntoBold(doc, 'changed ');
    formattedEdit(doc, 'later');
    await waitFor(() => provider.unsyncedChanges === 0, 5_000, 'acked');

    const restored = await api('POST', `/api/documents/restore-fmt/versions/${version}/restore`, { body: {} });
    expect(restored.status).toBe(200);
    await waitFor(() => doc.getXmlFragment('default').toString() === kept, 5_000, 'live client sees the restore');
    const reader = await RawClient.connect(server.port);
    await reader.join('restore-fmt');
    expect(reader.doc('restore-fmt').getXmlFragment('default').toString()).toBe(kept);
  });
});
