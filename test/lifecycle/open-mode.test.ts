/**
 * The lifecycle in open mode (no AUTH_SECRET), where a socket creates a document on first use:
 * anyone may delete, rename, duplicate and restore, and see the whole trash; a deleted
 * document's name is never silently created again by a socket — it is refused with the
 * deleted reason (Hocuspocus PermissionDenied `document deleted`, y-websocket 4410) until
 * the document is restored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { RunningServer } from '../../server/server.js';
import type { DocumentSummary, TrashedDocumentSummary } from '../../server/http/api-types.js';
import { DEFAULT_PROJECT_ID } from '../../server/persistence/documents.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { destroyProvider, destroyProviders, hocuspocusProvider, yWebsocketProvider } from '../helpers/providers.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { documentPath, expectStatus, startInstances } from './lifecycle-world.js';

let database: TestDatabase;
let server: RunningServer;

beforeAll(async () => {
  database = await createTestDatabase('lifeopen');
  [server] = (await startInstances(database.url, 1, { authSecret: undefined })) as [RunningServer];
}, 60_000);

afterAll(async () => {
  destroyProviders();
  await server?.close();
  await database?.drop();
});

describe('lifecycle in open mode', () => {
  it('a deleted document is not created again by a socket: refused as deleted until restored', async () => {
    const name = 'open/notes';
    const doc = new Y.Doc();
    const failures: string[] = [];
    const writer = hocuspocusProvider(server.port, name, doc, {
      onAuthenticationFailed: ({ reason }: { reason: string }) => failures.push(reason),
    });
    await waitFor(() => writer.isSynced, 10_000, 'created on first use');
    doc.getText('t').insert(0, 'open notes');
    await waitFor(() => writer.unsyncedChanges === 0, 10_000, 'stored');

    await expectStatus(server, 204, 'DELETE', documentPath(name));
    await waitFor(() => failures.length > 0, 10_000, 'the writer told');
    expect(failures).toEqual(['document deleted']);
    destroyProvider(writer);

    // Both protocols, opening the name afresh: refused with the deleted reason, nothing created.
    const refused: string[] = [];
    hocuspocusProvider(server.port, name, new Y.Doc(), {
      onAuthenticationFailed: ({ reason }: { reason: string }) => refused.push(reason),
    });
    const y = yWebsocketProvider(server.port, name, new Y.Doc());
    const closes: number[] = [];
    y.on('connection-close', (event: { code: number } | null) => event && closes.push(event.code));
    await waitFor(() => refused.length > 0 && closes.length > 0, 10_000, 'both refused');
    expect(refused[0]).toBe('document deleted');
    expect(closes[0]).toBe(4410);
    destroyProvider(y);
    await expectStatus(server, 409, 'POST', '/api/documents', { body: { name, kind: 'paper' } });
    expect((await expectStatus<DocumentSummary[]>(server, 200, 'GET', '/api/documents')).map((d) => d.name)).not.toContain(name);

    // Anyone sees the trash (everyone is every role here) and may restore from it.
    const trash = await expectStatus<TrashedDocumentSummary[]>(server, 200, 'GET', '/api/trash');
    const entry = trash.find((document) => document.name === name);
    expect(entry).toMatchObject({ name, kind: 'paper', projectId: DEFAULT_PROJECT_ID, deletedBy: null });
    await expectStatus(server, 200, 'POST', `/api/trash/${entry!.id}/restore`);
    const back = new Y.Doc();
    const reader = hocuspocusProvider(server.port, name, back);
    await waitFor(() => reader.isSynced, 10_000, 'restored document opens');
    expect(back.getText('t').toString()).toBe('open notes');
  });

  it('renames and duplicates for anyone; a former name opens the document by socket', async () => {
    await expectStatus(server, 201, 'POST', '/api/documents', { body: { name: 'open/first', kind: 'paper' } });
    const doc = new Y.Doc();
    const byOld = hocuspocusProvider(server.port, 'open/first', doc);
    await waitFor(() => byOld.isSynced, 10_000, 'open');
    doc.getText('t').insert(0, 'hello');
    await expectStatus(server, 200, 'PATCH', documentPath('open/first'), { body: { name: 'open/second' } });
    const byNew = new Y.Doc();
    const reader = yWebsocketProvider(server.port, 'open/second', byNew);
    await waitFor(() => reader.synced && byNew.getText('t').toString() === 'hello', 10_000, 'the new name has the content');
    await sleep(100);
    // The old name was not taken by a new, empty document on the way.
    const listed = (await expectStatus<DocumentSummary[]>(server, 200, 'GET', '/api/documents')).map((d) => d.name);
    expect(listed).toContain('open/second');
    expect(listed).not.toContain('open/first');
    await expectStatus(server, 201, 'POST', `${documentPath('open/first')}/duplicate`, { body: { name: 'open/third' } });
    expect(await expectStatus(server, 200, 'GET', documentPath('open/third'))).toMatchObject({
      name: 'open/third',
      projectId: DEFAULT_PROJECT_ID,
    });
  });
});
