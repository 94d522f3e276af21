/**
 * Rename, in token mode on two instances sharing PostgreSQL and Redis: who may rename (owners
 * and editors), which names are taken (another document's name or former name, a trashed
 * one's), and that the old name stays an alias — for the HTTP routes and for sockets. Clients
 * of both protocols that opened the document by its old name keep editing through the rename,
 * clients that open it by the new name and by the old one at once share one room, and edits
 * cross between the instances (each reloads its copy under the new name).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { RunningServer } from '../../server/server.js';
import type { DocumentSummary, RenamedDocument } from '../../server/http/api-types.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { destroyProviders, hocuspocusProvider, yWebsocketProvider } from '../helpers/providers.js';
import { waitFor } from '../helpers/wait.js';
import { createPaper, createWorld, documentPath, expectStatus, startInstances, type World } from './lifecycle-world.js';

let database: TestDatabase;
let a: RunningServer;
let b: RunningServer;
let world: World;

beforeAll(async () => {
  database = await createTestDatabase('liferename');
  [a, b] = (await startInstances(database.url, 2)) as [RunningServer, RunningServer];
  world = await createWorld(a, 'rename');
}, 60_000);

afterAll(async () => {
  destroyProviders();
  await Promise.all([a?.close(), b?.close()]);
  await database?.drop();
});

const rename = (server: RunningServer, from: string, to: string, token: string, status = 200) =>
  expectStatus<RenamedDocument>(server, status, 'PATCH', documentPath(from), { token, body: { name: to } });

describe('PATCH /api/documents/:name', () => {
  it('renames for owners and editors (200 {id,name}), not for viewers or outsiders (403); the old name keeps answering', async () => {
    const { id } = await createPaper(a, world, 'rename/draft');
    for (const who of ['viewer', 'outsider'] as const) await rename(a, 'rename/draft', 'rename/by ' + who, world.tokens[who], 403);
    await rename(a, 'rename/missing', 'rename/x', world.tokens.owner, 404);
    await expectStatus(a, 400, 'PATCH', documentPath('rename/draft'), { token: world.tokens.owner, body: { name: '' } });
    await expectStatus(a, 400, 'PATCH', documentPath('rename/draft'), { token: world.tokens.owner, body: { title: 'x' } });

    expect(await rename(b, 'rename/draft', 'rename/final', world.tokens.editor)).toEqual({ id, name: 'rename/final' });
    // Renaming to the name it has: nothing to do.
    expect(await rename(b, 'rename/final', 'rename/final', world.tokens.editor)).toEqual({ id, name: 'rename/final' });

    // The old name is an alias: every route finds the document, under its new name.
    expect(await expectStatus(a, 200, 'GET', documentPath('rename/draft'), { token: world.tokens.viewer })).toMatchObject({
      id,
      name: 'rename/final',
    });
    await expectStatus(a, 200, 'GET', `${documentPath('rename/draft')}/history`, { token: world.tokens.viewer });
    await expectStatus(a, 200, 'GET', `${documentPath('rename/draft')}/versions`, { token: world.tokens.viewer });
    const listed = await expectStatus<DocumentSummary[]>(a, 200, 'GET', '/api/documents', { token: world.tokens.viewer });
    expect(listed.filter((document) => document.id === id).map((document) => document.name)).toEqual(['rename/final']);
    // ... and stays taken.
    await expectStatus(a, 409, 'POST', '/api/documents', {
      token: world.tokens.owner,
      body: { name: 'rename/draft', kind: 'paper', projectId: world.project },
    });
    // Renaming through the alias renames the document; renaming back takes the old name back.
    expect(await rename(a, 'rename/draft', 'rename/draft', world.tokens.owner)).toEqual({ id, name: 'rename/draft' });
    expect(await expectStatus(a, 200, 'GET', documentPath('rename/final'), { token: world.tokens.viewer })).toMatchObject({
      id,
      name: 'rename/draft',
    });
  });

  it('refuses a name another document holds (409): its current name, a former one, or one in the trash', async () => {
    await createPaper(a, world, 'rename/mine');
    await createPaper(a, world, 'rename/theirs');
    await createPaper(a, world, 'rename/theirs before');
    await rename(a, 'rename/theirs before', 'rename/theirs after', world.tokens.owner);
    await createPaper(a, world, 'rename/binned');
    await expectStatus(a, 204, 'DELETE', documentPath('rename/binned'), { token: world.tokens.owner });
    for (const taken of ['rename/theirs', 'rename/theirs before', 'rename/theirs after', 'rename/binned']) {
      expect(await rename(a, 'rename/mine', taken, world.tokens.owner, 409)).toMatchObject({
        error: expect.stringContaining('already exists'),
      });
    }
    expect(await expectStatus(a, 200, 'GET', documentPath('rename/mine'), { token: world.tokens.owner })).toMatchObject({
      name: 'rename/mine',
    });
  });

  it('clients of both protocols on both instances, by the old name and the new one at once, edit one document', async () => {
    const name = 'rename/live before';
    const renamed = 'rename/live after';
    await createPaper(a, world, name);
    const roomsOnA = a.metrics.counters.roomsOpen;

    // Open by the old name on A only, with both protocols: B has no copy yet.
    const hocuspocusOnA = new Y.Doc();
    const hocuspocusOld = hocuspocusProvider(a.port, name, hocuspocusOnA, { token: world.tokens.editor });
    const yOnA = new Y.Doc();
    const yOld = yWebsocketProvider(a.port, name, yOnA, { params: { token: world.tokens.owner } });
    await waitFor(() => hocuspocusOld.isSynced && yOld.synced, 10_000, 'old-name clients synced');
    hocuspocusOnA.getText('t').insert(0, 'A1;');
    await waitFor(() => yOnA.getText('t').toString() === 'A1;', 10_000, 'A1 relayed on A');

    await rename(a, name, renamed, world.tokens.owner);

    // The same clients keep editing across the rename.
    yOnA.getText('t').insert(yOnA.getText('t').length, 'A2;');
    hocuspocusOnA.getText('t').insert(hocuspocusOnA.getText('t').length, 'A3;');

    // B loads it fresh, under the new name: by the new name (Hocuspocus) and by the old one
    // (y-websocket) at once; A gets a y-websocket client by the new name too.
    const hocuspocusOnB = new Y.Doc();
    const hocuspocusNew = hocuspocusProvider(b.port, renamed, hocuspocusOnB, { token: world.tokens.editor });
    const yOldOnB = new Y.Doc();
    const yOldB = yWebsocketProvider(b.port, name, yOldOnB, { params: { token: world.tokens.editor } });
    const yNewOnA = new Y.Doc();
    const yNewA = yWebsocketProvider(a.port, renamed, yNewOnA, { params: { token: world.tokens.editor } });
    await waitFor(() => hocuspocusNew.isSynced && yOldB.synced && yNewA.synced, 10_000, 'new clients synced');
    hocuspocusOnB.getText('t').insert(hocuspocusOnB.getText('t').length, 'B1;');
    yOldOnB.getText('t').insert(yOldOnB.getText('t').length, 'B2;');
    yNewOnA.getText('t').insert(yNewOnA.getText('t').length, 'A4;');

    const docs = [hocuspocusOnA, yOnA, hocuspocusOnB, yOldOnB, yNewOnA];
    const all = (text: string) => ['A1;', 'A2;', 'A3;', 'A4;', 'B1;', 'B2;'].every((part) => text.includes(part));
    await waitFor(() => docs.every((doc) => all(doc.getText('t').toString())), 10_000, 'every client has every edit');
    expect(new Set(docs.map((doc) => doc.getText('t').toString())).size).toBe(1);
    // One room on A for the document, whichever name its three clients used.
    expect(a.metrics.counters.roomsOpen - roomsOnA).toBe(1);
    await waitFor(
      () => hocuspocusOld.unsyncedChanges === 0 && hocuspocusNew.unsyncedChanges === 0,
      10_000,
      'Hocuspocus edits acknowledged',
    );

    // A newcomer by either name, on either instance, loads all of it.
    for (const [server, by] of [
      [a, name],
      [b, renamed],
    ] as const) {
      const reader = new Y.Doc();
      const provider = hocuspocusProvider(server.port, by, reader, { token: world.tokens.viewer });
      await waitFor(() => provider.isSynced && all(reader.getText('t').toString()), 10_000, `newcomer by ${by}`);
    }
  });
});
