/**
 * Automatic versions with short AUTO_VERSION_QUIET_MS / AUTO_VERSION_MAX_MS: one after the
 * edits go quiet, at least one per max period while editing goes on, one when the last
 * client leaves with edits pending, none for an unchanged state, and one for edits a crash
 * left without a version once the document is loaded again.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { destroyProvider, destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { acknowledged, appendParagraph, startDurableServer, storedVersions, writePaper } from '../helpers/versions.js';

const QUIET = 300;
const MAX = 1_000;

let database: TestDatabase;
let server: RunningServer | null = null;

beforeAll(async () => {
  database = await createTestDatabase('verauto');
});

afterEach(async () => {
  destroyProviders();
  await server?.close();
  server = null;
});

afterAll(async () => {
  await database?.drop();
});

const start = async (quiet = QUIET, max = MAX) =>
  (server = await startDurableServer(database, { autoVersionQuietMs: quiet, autoVersionMaxMs: max }));

describe('automatic versions', () => {
  it('takes one version the quiet period after the last edit, and no more while nothing changes', async () => {
    const { port } = await start();
    const doc = new Y.Doc();
    const provider = hocuspocusProvider(port, 'auto/quiet', doc);
    writePaper(doc, ['one']);
    appendParagraph(doc, 'two');
    await acknowledged(provider);
    expect(await storedVersions(database, 'auto/quiet')).toHaveLength(0);
    await waitFor(async () => (await storedVersions(database, 'auto/quiet')).length === 1, 5_000, 'the automatic version');
    await sleep(QUIET * 3);
    const rows = await storedVersions(database, 'auto/quiet');
    expect(rows).toHaveLength(1);
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    try {
      const { rows: kinds } = await sql.query(
        `select v.kind, v.label from document_versions v join documents d on d.id = v.document_id where d.name = 'auto/quiet'`,
      );
      expect(kinds).toEqual([{ kind: 'auto', label: null }]);
    } finally {
      await sql.end();
    }
  });

  it('takes versions at least every max period while editing goes on', async () => {
    const { port } = await start();
    const doc = new Y.Doc();
    const provider = hocuspocusProvider(port, 'auto/busy', doc);
    const started = Date.now();
    // An edit every QUIET/3: the quiet period never comes.
    let i = 0;
    while (Date.now() - started < MAX * 2.6) {
      appendParagraph(doc, `edit ${i++}`);
      await sleep(QUIET / 3);
    }
    await acknowledged(provider);
    const during = await storedVersions(database, 'auto/busy');
    expect(during.length).toBeGreaterThanOrEqual(2);
    expect(during.length).toBeLessThanOrEqual(3);
  });

  it('takes the pending version when the last client leaves', async () => {
    const { port } = await start(60_000, 600_000);
    const doc = new Y.Doc();
    const provider = hocuspocusProvider(port, 'auto/leaving', doc);
    writePaper(doc, ['written, then left']);
    await acknowledged(provider);
    destroyProvider(provider);
    await waitFor(async () => (await storedVersions(database, 'auto/leaving')).length === 1, 5_000, 'the version taken at unload');
  });

  it('versions edits a crash left without a version when the document is loaded again, once', async () => {
    const name = 'auto/crashed';
    let { port } = await start(3_600_000, 3_600_000);
    const doc = new Y.Doc();
    const provider = hocuspocusProvider(port, name, doc);
    writePaper(doc, ['edited before the crash']);
    await acknowledged(provider);
    destroyProviders();
    await server!.close();
    // Whatever happened at shutdown, the version is gone as if the process had died first.
    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    await sql.query(`delete from document_versions where document_id = (select id from documents where name = $1)`, [name]);
    await sql.end();

    ({ port } = await start());
    const reader = hocuspocusProvider(port, name, new Y.Doc());
    await waitFor(() => reader.isSynced, 5_000, 'synced');
    await waitFor(async () => (await storedVersions(database, name)).length === 1, 5_000, 'the version of the crash-left edits');
    destroyProviders();
    await sleep(100);
    // Loaded again: the state is the newest version's, so nothing new is stored.
    const again = hocuspocusProvider(port, name, new Y.Doc());
    await waitFor(() => again.isSynced, 5_000, 'synced');
    await sleep(QUIET * 3);
    expect(await storedVersions(database, name)).toHaveLength(1);
  });
});
