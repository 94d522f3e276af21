/**
 * Restore is a forward edit: the current state is saved first, one server-origin
 * transaction makes the live document the version's content — every connected client of
 * both protocols receives it — it is recorded in the collaborations log as a 'restore', a
 * version "Restored from vN" follows, and restoring the version saved before it undoes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { destroyProviders, hocuspocusProvider, yWebsocketProvider } from '../helpers/providers.js';
import { waitFor } from '../helpers/wait.js';
import { apiClient } from '../helpers/http.js';
import {
  acknowledged,
  appendParagraph,
  paperLines,
  path,
  startDurableServer,
  storedVersions,
  writePaper,
  type VersionBody,
  type VersionList,
} from '../helpers/versions.js';

let database: TestDatabase;
let server: RunningServer;
const api = apiClient(() => server.port);

beforeAll(async () => {
  database = await createTestDatabase('verrestore');
  server = await startDurableServer(database, { autoVersionQuietMs: 3_600_000, autoVersionMaxMs: 3_600_000 });
});

afterAll(async () => {
  destroyProviders();
  await server?.close();
  await database?.drop();
});

interface RestoreBody {
  restoredFrom: number;
  changed: boolean;
  before: VersionBody | null;
  version: VersionBody | null;
}

interface HistoryBody {
  entries: { position: number; operationType: string; userId: string | null; sessionId: string }[];
}

describe('POST /api/documents/:name/versions/:v/restore', () => {
  const name = 'restore/paper';
  const hocuspocusDoc = new Y.Doc();
  const yDoc = new Y.Doc();

  it('brings live clients of both protocols to the version, after saving the current state', async () => {
    const editor = hocuspocusProvider(server.port, name, hocuspocusDoc);
    const reader = yWebsocketProvider(server.port, name, yDoc);
    writePaper(hocuspocusDoc, ['Introduction', 'Method A']);
    await acknowledged(editor);
    expect((await api<VersionBody>('POST', path(name, '/versions'), { body: { label: 'Method A' } })).body.version).toBe(1);

    writePaper(hocuspocusDoc, ['Introduction', 'Method B, rewritten', 'Results']);
    await acknowledged(editor);
    await waitFor(() => paperLines(yDoc).length === 3, 10_000, 'the y-websocket client has the edit');

    const restore = await api<RestoreBody>('POST', path(name, '/versions/1/restore'));
    expect(restore.status).toBe(200);
    expect(restore.body).toMatchObject({
      restoredFrom: 1,
      changed: true,
      before: { version: 2, label: 'Before restoring v1', kind: 'auto', parentVersion: 1 },
      version: { version: 3, label: 'Restored from v1', kind: 'named', parentVersion: 2 },
    });

    await waitFor(() => paperLines(hocuspocusDoc).join('|') === 'Introduction|Method A', 10_000, 'Hocuspocus client sees the restore');
    await waitFor(() => paperLines(yDoc).join('|') === 'Introduction|Method A', 10_000, 'y-websocket client sees the restore');
    expect((await api<{ content: { text: string } }>('GET', path(name))).body.content.text).toBe('Introduction\nMethod A');
    expect((reader as unknown as { wsconnected: boolean }).wsconnected).toBe(true);
  });

  it('shows the restore in the history and in the versions list', async () => {
    const history = await api<HistoryBody>('GET', path(name, '/history'));
    expect(history.status).toBe(200);
    expect(history.body.entries[0]).toMatchObject({ operationType: 'restore', userId: null });
    expect(history.body.entries.filter((entry) => entry.operationType === 'restore')).toHaveLength(1);
    const list = await api<VersionList>('GET', path(name, '/versions'));
    expect(list.body.versions.map((v) => [v.version, v.label])).toEqual([
      [3, 'Restored from v1'],
      [2, 'Before restoring v1'],
      [1, 'Method A'],
    ]);
  });

  it('is undone by restoring the version saved before it', async () => {
    const undo = await api<RestoreBody>('POST', path(name, '/versions/2/restore'));
    expect(undo.status).toBe(200);
    // The state right before is version 3 (already stored): nothing is saved twice.
    expect(undo.body.before?.version).toBe(3);
    expect(undo.body.version).toMatchObject({ version: 4, label: 'Restored from v2', parentVersion: 3 });
    await waitFor(
      () => paperLines(hocuspocusDoc).join('|') === 'Introduction|Method B, rewritten|Results',
      10_000,
      'undone on the Hocuspocus client',
    );
    await waitFor(
      () => paperLines(yDoc).join('|') === 'Introduction|Method B, rewritten|Results',
      10_000,
      'undone on the y-websocket client',
    );
    const rows = await storedVersions(database, name);
    expect(rows.map((r) => r.version)).toEqual([1, 2, 3, 4]);
    expect(new Set(rows.map((r) => r.hash)).size).toBe(4);
  });

  it('keeps editing working after a restore, and restoring the current content changes nothing', async () => {
    appendParagraph(yDoc, 'After the restore');
    await waitFor(() => paperLines(hocuspocusDoc).includes('After the restore'), 10_000, 'a later edit still syncs');
    await acknowledged(hocuspocusProvider(server.port, name, new Y.Doc()));
    const saved = await api<VersionBody>('POST', path(name, '/versions'), { body: { label: 'Now' } });
    const same = await api<RestoreBody>('POST', path(name, `/versions/${saved.body.version}/restore`));
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ changed: false, version: null, before: { version: saved.body.version } });
  });

  it('restores a document nobody has open (opened for the restore)', async () => {
    const doc = new Y.Doc();
    const lone = 'restore/closed paper';
    const provider = hocuspocusProvider(server.port, lone, doc);
    writePaper(doc, ['Version one']);
    await acknowledged(provider);
    await api('POST', path(lone, '/versions'), { body: { label: 'one' } });
    writePaper(doc, ['Version two']);
    await acknowledged(provider);
    destroyProviders();
    const restore = await api<RestoreBody>('POST', path(lone, '/versions/1/restore'));
    expect(restore.status).toBe(200);
    expect((await api<{ content: { text: string } }>('GET', path(lone))).body.content.text).toBe('Version one');
    const fresh = new Y.Doc();
    const later = hocuspocusProvider(server.port, lone, fresh);
    await waitFor(() => later.isSynced, 10_000, 'synced');
    expect(paperLines(fresh)).toEqual(['Version one']);
  });
});
