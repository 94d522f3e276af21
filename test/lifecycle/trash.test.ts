/**
 * Delete, the trash and restore, in token mode on two instances sharing PostgreSQL and Redis:
 * who may delete (owners and editors), who sees and restores the trash (owners), what a
 * deleted document is (gone from every list, 404, its name still taken), and that its live
 * sockets close on both instances with the reason — Hocuspocus PermissionDenied
 * `document deleted`, y-websocket 4410 — while opening it again is refused as for a document
 * that does not exist. Restored, it opens with its content.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { WebsocketProvider as WebsocketProvider3 } from 'y-websocket-3';
import WebSocket from 'ws';
import type { RunningServer } from '../../server/server.js';
import type { DocumentSummary, TrashedDocumentSummary } from '../../server/http/api-types.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { destroyProviders, hocuspocusProvider, yWebsocketProvider } from '../helpers/providers.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { createPaper, createWorld, documentPath, expectStatus, startInstances, type World } from './lifecycle-world.js';

let database: TestDatabase;
let a: RunningServer;
let b: RunningServer;
let world: World;

beforeAll(async () => {
  database = await createTestDatabase('lifetrash');
  [a, b] = (await startInstances(database.url, 2)) as [RunningServer, RunningServer];
  world = await createWorld(a, 'trash');
}, 60_000);

afterAll(async () => {
  destroyProviders();
  await Promise.all([a?.close(), b?.close()]);
  await database?.drop();
});

const names = (documents: readonly { name: string }[]) => documents.map((document) => document.name);

describe('DELETE /api/documents/:name and the trash', () => {
  it('delete: owners and editors (204), not viewers or outsiders (403); the document leaves every list and its name stays taken', async () => {
    const { id } = await createPaper(a, world, 'trash/access');
    for (const who of ['viewer', 'outsider'] as const)
      await expectStatus(a, 403, 'DELETE', documentPath('trash/access'), { token: world.tokens[who] });
    await expectStatus(a, 404, 'DELETE', documentPath('trash/nothing here'), { token: world.tokens.owner });
    await expectStatus(b, 204, 'DELETE', documentPath('trash/access'), { token: world.tokens.editor });
    await expectStatus(a, 404, 'DELETE', documentPath('trash/access'), { token: world.tokens.owner });

    for (const who of ['owner', 'editor', 'viewer'] as const) {
      expect(names(await expectStatus<DocumentSummary[]>(a, 200, 'GET', '/api/documents', { token: world.tokens[who] }))).not.toContain(
        'trash/access',
      );
    }
    await expectStatus(a, 404, 'GET', documentPath('trash/access'), { token: world.tokens.owner });
    await expectStatus(a, 404, 'GET', `${documentPath('trash/access')}/history`, { token: world.tokens.owner });
    await expectStatus(a, 404, 'GET', `${documentPath('trash/access')}/versions`, { token: world.tokens.owner });
    // Its name stays taken while it is in the trash.
    await expectStatus(a, 409, 'POST', '/api/documents', {
      token: world.tokens.owner,
      body: { name: 'trash/access', kind: 'paper', projectId: world.project },
    });

    const trash = await expectStatus<TrashedDocumentSummary[]>(b, 200, 'GET', '/api/trash', { token: world.tokens.owner });
    const entry = trash.find((document) => document.id === id);
    expect(entry).toMatchObject({ id, name: 'trash/access', kind: 'paper', projectId: world.project, deletedBy: world.users.editor });
    expect(Date.now() - Date.parse(entry!.deletedAt)).toBeLessThan(60_000);
    expect(
      names(
        await expectStatus<TrashedDocumentSummary[]>(a, 200, 'GET', `/api/trash?projectId=${world.project}`, { token: world.tokens.owner }),
      ),
    ).toContain('trash/access');
  });

  it('the trash is the owners’: others get 403 for a project, and nothing of it without one; restoring is the owners’ too', async () => {
    const { id } = await createPaper(a, world, 'trash/restore');
    await expectStatus(a, 204, 'DELETE', documentPath('trash/restore'), { token: world.tokens.owner });
    for (const who of ['editor', 'viewer', 'outsider'] as const) {
      await expectStatus(a, 403, 'GET', `/api/trash?projectId=${world.project}`, { token: world.tokens[who] });
      expect(await expectStatus(a, 200, 'GET', '/api/trash', { token: world.tokens[who] })).toEqual([]);
      await expectStatus(a, 403, 'POST', `/api/trash/${id}/restore`, { token: world.tokens[who] });
    }
    await expectStatus(a, 404, 'GET', `/api/trash?projectId=${crypto.randomUUID()}`, { token: world.tokens.owner });
    await expectStatus(a, 400, 'GET', '/api/trash?projectId=not-a-uuid', { token: world.tokens.owner });
    await expectStatus(a, 401, 'GET', '/api/trash');
    await expectStatus(a, 400, 'POST', '/api/trash/not-a-uuid/restore', { token: world.tokens.owner });
    await expectStatus(a, 404, 'POST', `/api/trash/${crypto.randomUUID()}/restore`, { token: world.tokens.owner });

    expect(await expectStatus(b, 200, 'POST', `/api/trash/${id}/restore`, { token: world.tokens.owner })).toEqual({
      id,
      name: 'trash/restore',
      kind: 'paper',
      projectId: world.project,
    });
    await expectStatus(a, 404, 'POST', `/api/trash/${id}/restore`, { token: world.tokens.owner });
    expect(names(await expectStatus<TrashedDocumentSummary[]>(a, 200, 'GET', '/api/trash', { token: world.tokens.owner }))).not.toContain(
      'trash/restore',
    );
    expect(names(await expectStatus<DocumentSummary[]>(a, 200, 'GET', '/api/documents', { token: world.tokens.viewer }))).toContain(
      'trash/restore',
    );
    await expectStatus(a, 200, 'GET', documentPath('trash/restore'), { token: world.tokens.viewer });
  });

  it('closes the live sockets of both protocols on both instances with the reason; reopening is refused as for no document; restored, it opens with its content', async () => {
    const name = 'trash/live';
    await createPaper(a, world, name);
    const failures = { hocuspocusA: [] as string[], hocuspocusB: [] as string[] };
    const onA = new Y.Doc();
    const hocuspocusA = hocuspocusProvider(a.port, name, onA, {
      token: world.tokens.editor,
      onAuthenticationFailed: ({ reason }: { reason: string }) => failures.hocuspocusA.push(reason),
    });
    const hocuspocusB = hocuspocusProvider(b.port, name, new Y.Doc(), {
      token: world.tokens.viewer,
      onAuthenticationFailed: ({ reason }: { reason: string }) => failures.hocuspocusB.push(reason),
    });
    const onB = new Y.Doc();
    const yB = yWebsocketProvider(b.port, name, onB, { params: { token: world.tokens.owner } });
    const yCloses: number[] = [];
    yB.on('connection-close', (event: { code: number } | null) => event && yCloses.push(event.code));
    // y-websocket 3 stops reconnecting for good on 44xx: 4410 must end it.
    const y3 = new WebsocketProvider3(`ws://127.0.0.1:${a.port}/y`, name, new Y.Doc(), {
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      maxBackoffTime: 300,
      disableBc: true,
      params: { token: world.tokens.editor },
    });
    const y3Closes: number[] = [];
    y3.on('connection-close', (event) => event && y3Closes.push(event.code));
    try {
      await waitFor(() => hocuspocusA.isSynced && hocuspocusB.isSynced && yB.synced && y3.synced, 10_000, 'every client synced');
      onA.getText('t').insert(0, 'kept through the trash');
      await waitFor(
        () => onB.getText('t').toString() === 'kept through the trash' && hocuspocusA.unsyncedChanges === 0,
        10_000,
        'the edit crossed to B and was stored',
      );

      await expectStatus(a, 204, 'DELETE', documentPath(name), { token: world.tokens.owner });
      await waitFor(
        () => failures.hocuspocusA.length > 0 && failures.hocuspocusB.length > 0 && yCloses.length > 0 && y3Closes.length > 0,
        10_000,
        'every client told',
      );
      expect(failures.hocuspocusA[0]).toBe('document deleted');
      expect(failures.hocuspocusB[0]).toBe('document deleted');
      expect(yCloses[0]).toBe(4410);
      expect(y3Closes[0]).toBe(4410);
      await sleep(300);
      expect(y3.shouldConnect).toBe(false);
      expect(y3Closes).toEqual([4410]);

      // Opening it again: as for a document that does not exist (token mode creates nothing from a socket).
      const refusedReasons: string[] = [];
      hocuspocusProvider(b.port, name, new Y.Doc(), {
        token: world.tokens.owner,
        onAuthenticationFailed: ({ reason }: { reason: string }) => refusedReasons.push(reason),
      });
      const again = yWebsocketProvider(a.port, name, new Y.Doc(), { params: { token: world.tokens.owner } });
      const againCloses: number[] = [];
      again.on('connection-close', (event: { code: number } | null) => event && againCloses.push(event.code));
      await waitFor(() => refusedReasons.length > 0 && againCloses.length > 0, 10_000, 'reopening refused');
      expect(refusedReasons[0]).toBe(`no document named ${JSON.stringify(name)}`);
      expect(againCloses[0]).toBe(4403);
    } finally {
      y3.destroy();
    }

    const [trashed] = (
      await expectStatus<TrashedDocumentSummary[]>(a, 200, 'GET', `/api/trash?projectId=${world.project}`, { token: world.tokens.owner })
    ).filter((document) => document.name === name);
    await expectStatus(b, 200, 'POST', `/api/trash/${trashed!.id}/restore`, { token: world.tokens.owner });
    for (const server of [a, b]) {
      const reader = new Y.Doc();
      const provider = hocuspocusProvider(server.port, name, reader, { token: world.tokens.viewer });
      await waitFor(() => provider.isSynced, 10_000, 'restored document opens');
      expect(reader.getText('t').toString()).toBe('kept through the trash');
    }
  });
});
