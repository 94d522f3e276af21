/**
 * On PostgreSQL a version's state is read, merged, hashed and inserted by the version worker
 * thread on its own connection, never through the main thread's pool; it stores exactly what
 * the main-thread path (PGlite's) stores, keeps "committed edits only" and "same state never
 * twice", and a worker that cannot reach the database fails that version cleanly and takes the
 * next one once it can.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { openDb, type Db, type QueryOptions } from '../../server/persistence/db.js';
import { DEFAULT_PROJECT_ID, createDocument } from '../../server/persistence/documents.js';
import { migrateUp } from '../../server/persistence/migrations.js';
import type { DocumentRef } from '../../server/persistence/storage.js';
import { Durability } from '../../server/rooms/durability.js';
import { stateHash } from '../../server/versions/state-identity.js';
import type { Worker } from 'node:worker_threads';
import { VERSION_WORKER_APPLICATION_NAME, VersionWorker } from '../../server/versions/version-worker.js';
import { Versions, type StoredVersionEvent, type VersionSource } from '../../server/versions/versions.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { startTcpForwarder } from '../helpers/tcp-forwarder.js';
import { appendParagraph, writePaper } from '../helpers/versions.js';

const silent = pino({ level: 'silent' });
let database: TestDatabase;
let db: Db;
const opened: Versions[] = [];

beforeAll(async () => {
  database = await createTestDatabase('verworker');
  db = await openDb({ databaseUrl: database.url, dataDir: '' });
  await migrateUp(db);
});

afterAll(async () => {
  for (const versions of opened) await versions.close();
  await db?.close();
  await database?.drop();
});

/** The test database as the main thread sees it, recording every statement sent through it; the worker connects with `connectionString`. */
function recorded(connectionString: string | undefined): { db: Db; statements: string[] } {
  const statements: string[] = [];
  const wrapped: Db = {
    kind: 'postgres',
    connectionString,
    query: <T>(sql: string, params?: readonly unknown[], options?: QueryOptions) => {
      statements.push(sql);
      return db.query<T>(sql, params, options);
    },
    exec: (sql) => db.exec(sql),
    transaction: (fn) => db.transaction(fn),
    close: async () => undefined,
  };
  return { db: wrapped, statements };
}

function versionsOn(target: Db, told: StoredVersionEvent[] = []): Versions {
  const versions = new Versions(target, silent, [{ versionStored: async (event) => void told.push(event) }]);
  opened.push(versions);
  return versions;
}

/** A document not held by a room: nothing of it waits to be stored. */
const source = (doc: Y.Doc): VersionSource => ({ doc, durability: new Durability() });

/** A paper whose stored form is a compacted state plus a log row, as after a compaction and one more edit. */
async function storedPaper(name: string): Promise<{ ref: DocumentRef; doc: Y.Doc }> {
  const ref = (await createDocument(db, name, 'paper', DEFAULT_PROJECT_ID)).document;
  const doc = new Y.Doc();
  writePaper(doc, ['First paragraph', 'Second paragraph']);
  await db.query('update documents set state = $2 where id = $1', [ref.id, Y.encodeStateAsUpdate(doc)]);
  await storeEdit(ref, doc, 'Third paragraph');
  return { ref, doc };
}

/** An edit of `doc`, stored in the update log. */
async function storeEdit(ref: DocumentRef, doc: Y.Doc, line: string): Promise<void> {
  const before = Y.encodeStateVector(doc);
  appendParagraph(doc, line);
  const update = Y.encodeStateAsUpdate(doc, before);
  await db.query(`insert into collaborations (document_id, session_id, update, size) values ($1, 'test', $2, $3)`, [
    ref.id,
    update,
    update.byteLength,
  ]);
}

async function storedRow(id: string): Promise<{ state: Uint8Array; hash: Uint8Array }> {
  const { rows } = await db.query<{ state: Uint8Array; content_hash: Uint8Array }>(
    'select state, content_hash from document_versions where id = $1',
    [id],
  );
  return { state: new Uint8Array(rows[0]!.state), hash: new Uint8Array(rows[0]!.content_hash) };
}

describe('the version worker on PostgreSQL', () => {
  it('reads and inserts on its own connection and stores what the main-thread path stores', async () => {
    const { ref, doc } = await storedPaper('worker/same');
    const onWorker = recorded(database.url);
    const toldWorker: StoredVersionEvent[] = [];
    const worker = versionsOn(onWorker.db, toldWorker);
    expect(worker.storesOn).toBe('worker');

    const taken = await worker.take(ref, source(doc), { kind: 'named', label: 'first', createdBy: null });
    expect(taken?.created).toBe(true);
    expect(taken?.version).toMatchObject({ version: 1, kind: 'named', label: 'first', parentVersion: null });
    // The state went through the worker's connection, not the main thread's.
    expect(onWorker.statements.some((sql) => /collaborations|insert into document_versions/.test(sql))).toBe(false);
    const { rows } = await db.query<{ n: number }>(
      'select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = $2',
      [database.name, VERSION_WORKER_APPLICATION_NAME],
    );
    expect(rows[0]!.n).toBe(1);
    const fromWorker = await storedRow(taken!.version.id);
    expect(fromWorker.hash).toEqual(new Uint8Array(stateHash(doc)));
    expect(toldWorker.map((event) => event.version.version)).toEqual([1]);
    expect(new Uint8Array(toldWorker[0]!.state)).toEqual(fromWorker.state);

    // The same document through the main-thread path (PGlite's): the same bytes and identity.
    await db.query('delete from document_versions where document_id = $1', [ref.id]);
    const onMain = recorded(undefined);
    const main = versionsOn(onMain.db);
    expect(main.storesOn).toBe('main');
    const again = await main.take(ref, source(doc), { kind: 'named', label: 'first', createdBy: null });
    expect(again?.created).toBe(true);
    expect(onMain.statements.some((sql) => /insert into document_versions/.test(sql))).toBe(true);
    const fromMain = await storedRow(again!.version.id);
    expect(fromMain.hash).toEqual(fromWorker.hash);
    expect(fromMain.state).toEqual(fromWorker.state);
  });

  it('keeps committed edits only, never stores a state twice, numbers on from the parent', async () => {
    const { ref, doc } = await storedPaper('worker/rules');
    const versions = versionsOn(recorded(database.url).db);
    const first = await versions.take(ref, source(doc), { kind: 'auto', label: null, createdBy: null });
    expect(first).toMatchObject({ created: true, version: { version: 1, kind: 'auto' } });

    // A live edit not stored yet: the stored state is still version 1's, so naming it labels version 1.
    const live = new Y.Doc();
    Y.applyUpdate(live, Y.encodeStateAsUpdate(doc));
    appendParagraph(live, 'not stored');
    const named = await versions.take(ref, source(live), { kind: 'named', label: 'as stored', createdBy: null });
    expect(named).toMatchObject({ created: false, version: { version: 1, kind: 'named', label: 'as stored' } });
    expect(await versions.take(ref, source(live), { kind: 'auto', label: null, createdBy: null })).toMatchObject({
      created: false,
      version: { version: 1 },
    });

    await storeEdit(ref, doc, 'stored now');
    const second = await versions.take(ref, source(doc), { kind: 'auto', label: null, createdBy: null });
    expect(second).toMatchObject({ created: true, version: { version: 2, parentVersion: 1 } });
    expect((await storedRow(second!.version.id)).hash).toEqual(new Uint8Array(stateHash(doc)));
  });

  it('takes no automatic version of a document whose storage is empty, and rejects for a deleted one', async () => {
    const ref = (await createDocument(db, 'worker/empty', 'paper', DEFAULT_PROJECT_ID)).document;
    const live = new Y.Doc();
    writePaper(live, ['only live']);
    const versions = versionsOn(recorded(database.url).db);
    expect(await versions.take(ref, source(live), { kind: 'auto', label: null, createdBy: null })).toBeNull();
    await db.query('delete from documents where id = $1', [ref.id]);
    await expect(versions.take(ref, source(live), { kind: 'named', label: null, createdBy: null })).rejects.toThrow(/no longer exists/);
  });

  it('fails a version cleanly while its connection cannot reach the database, and takes the next once it can', async () => {
    const { ref, doc } = await storedPaper('worker/unreachable');
    const url = new URL(database.url);
    const forwarder = await startTcpForwarder([Number(url.port || 5432)]);
    try {
      url.host = `127.0.0.1:${forwarder.port}`;
      // Only the worker's connection goes through the forwarder; the main thread's pool does not.
      const versions = versionsOn(recorded(url.toString()).db);
      expect(await versions.take(ref, source(doc), { kind: 'auto', label: null, createdBy: null })).toMatchObject({
        created: true,
        version: { version: 1 },
      });

      forwarder.cut();
      await storeEdit(ref, doc, 'while cut');
      await expect(versions.take(ref, source(doc), { kind: 'auto', label: null, createdBy: null })).rejects.toThrow(
        /storing a version failed/,
      );
      const { rows } = await db.query<{ n: number }>('select count(*)::int as n from document_versions where document_id = $1', [ref.id]);
      expect(rows[0]!.n).toBe(1);

      forwarder.restore();
      const next = await versions.take(ref, source(doc), { kind: 'auto', label: null, createdBy: null });
      expect(next).toMatchObject({ created: true, version: { version: 2, parentVersion: 1 } });
      expect((await storedRow(next!.version.id)).hash).toEqual(new Uint8Array(stateHash(doc)));
    } finally {
      await forwarder.close();
    }
  });

  it('rejects what it held when its thread dies, and the next request runs on a new one', async () => {
    const { ref } = await storedPaper('worker/killed');
    const worker = new VersionWorker({ connectionString: database.url });
    try {
      const request = { documentId: ref.id, latestHash: null, skipEmpty: true, kind: 'auto', label: null, createdBy: null } as const;
      const held = worker.store(request);
      // The thread dies with the request in it (as after a fatal error or an out-of-memory kill).
      await (worker as unknown as { worker: Worker }).worker.terminate();
      await expect(held).rejects.toThrow(/storing a version failed: the version worker exited/);
      expect(await worker.store(request)).toMatchObject({ outcome: 'stored', created: true });
    } finally {
      await worker.close();
    }
  });
});
