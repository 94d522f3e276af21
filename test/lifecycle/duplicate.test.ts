/**
 * Duplicate, in token mode: the copy has the source's current content (edits still live in
 * the room included) and none of its history — no log rows, no versions — in the same project
 * and of the same kind. Reading the source and creating in its project are both needed: a
 * viewer gets 403, an outsider 403, an unknown source 404, a taken name 409.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { RunningServer } from '../../server/server.js';
import type { CreatedDocument } from '../../server/http/api-types.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { waitFor } from '../helpers/wait.js';
import { createPaper, createWorld, documentPath, expectStatus, startInstances, type World } from './lifecycle-world.js';

let database: TestDatabase;
let server: RunningServer;
let world: World;

beforeAll(async () => {
  database = await createTestDatabase('lifedup');
  [server] = (await startInstances(database.url, 1)) as [RunningServer];
  world = await createWorld(server, 'dup');
}, 60_000);

afterAll(async () => {
  destroyProviders();
  await server?.close();
  await database?.drop();
});

const duplicate = (from: string, to: string, token: string, status = 201) =>
  expectStatus<CreatedDocument>(server, status, 'POST', `${documentPath(from)}/duplicate`, { token, body: { name: to } });

describe('POST /api/documents/:name/duplicate', () => {
  it('copies the current content without history; the copy is a document of its own', async () => {
    await createPaper(server, world, 'dup/source');
    const source = new Y.Doc();
    const editor = hocuspocusProvider(server.port, 'dup/source', source, { token: world.tokens.editor });
    await waitFor(() => editor.isSynced, 10_000, 'source open');
    source.getText('t').insert(0, 'first;');
    await waitFor(() => editor.unsyncedChanges === 0, 10_000, 'first edit stored');
    await expectStatus(server, 201, 'POST', `${documentPath('dup/source')}/versions`, {
      token: world.tokens.editor,
      body: { label: 'v1' },
    });
    source.getText('t').insert(6, 'second;');
    // The room has it; whether it is stored yet or not, the copy takes what the room holds.
    const copy = await duplicate('dup/source', 'dup/copy', world.tokens.editor);
    expect(copy).toEqual({ id: expect.any(String), name: 'dup/copy', kind: 'paper' });

    const read = new Y.Doc();
    const reader = hocuspocusProvider(server.port, 'dup/copy', read, { token: world.tokens.viewer });
    await waitFor(() => reader.isSynced, 10_000, 'copy open');
    expect(read.getText('t').toString()).toBe('first;second;');
    expect(await expectStatus(server, 200, 'GET', `${documentPath('dup/copy')}/history`, { token: world.tokens.owner })).toMatchObject({
      entries: [],
    });
    expect(await expectStatus(server, 200, 'GET', `${documentPath('dup/copy')}/versions`, { token: world.tokens.owner })).toMatchObject({
      versions: [],
    });
    expect(await expectStatus(server, 200, 'GET', documentPath('dup/copy'), { token: world.tokens.owner })).toMatchObject({
      id: copy.id,
      projectId: world.project,
      kind: 'paper',
    });

    // Edits of one do not reach the other.
    read.getText('t').insert(0, 'copy only;');
    const writer = hocuspocusProvider(server.port, 'dup/copy', read, { token: world.tokens.owner });
    await waitFor(() => writer.isSynced && writer.unsyncedChanges === 0, 10_000, 'copy edited');
    expect(source.getText('t').toString()).toBe('first;second;');
  });

  it('keeps the kind: a research tree copies as a research tree', async () => {
    await createPaper(server, world, 'dup/tree', 'research_tree');
    expect(await duplicate('dup/tree', 'dup/tree copy', world.tokens.owner)).toMatchObject({
      name: 'dup/tree copy',
      kind: 'research_tree',
    });
  });

  it('needs read access to the source and the right to create in its project', async () => {
    await createPaper(server, world, 'dup/guarded');
    await createPaper(server, world, 'dup/existing');
    expect(await duplicate('dup/guarded', 'dup/by viewer', world.tokens.viewer, 403)).toMatchObject({
      error: expect.stringMatching(/owner or editor/),
    });
    await duplicate('dup/guarded', 'dup/by outsider', world.tokens.outsider, 403);
    await duplicate('dup/no such source', 'dup/from nothing', world.tokens.owner, 404);
    await duplicate('dup/guarded', 'dup/existing', world.tokens.owner, 409);
    await expectStatus(server, 400, 'POST', `${documentPath('dup/guarded')}/duplicate`, {
      token: world.tokens.owner,
      body: { name: 'x'.repeat(256) },
    });
    await expectStatus(server, 401, 'POST', `${documentPath('dup/guarded')}/duplicate`, { body: { name: 'dup/anonymous' } });
    for (const name of ['dup/by viewer', 'dup/by outsider', 'dup/from nothing', 'dup/anonymous']) {
      await expectStatus(server, 404, 'GET', documentPath(name), { token: world.tokens.owner });
    }
  });
});
