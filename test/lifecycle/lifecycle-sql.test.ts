/**
 * The lifecycle's SQL (persistence/documents.ts, document-lifecycle.ts, trash-purge.ts) on
 * PostgreSQL and PGlite: a name belongs to one document at a time — as its name or as a former
 * one, live or in the trash — also when a creation and a rename race on PostgreSQL; a document
 * keeps a bounded number of former names; the purge deletes what stayed in the trash too long
 * with its log, versions and aliases, on the Clock's time, and two instances purging at once
 * split the work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { configFromEnv, ConfigError } from '../../server/config.js';
import type { Db } from '../../server/persistence/db.js';
import { createPgDb } from '../../server/persistence/pg-db.js';
import { createPgliteDb } from '../../server/persistence/pglite-db.js';
import { migrateUp } from '../../server/persistence/migrations.js';
import { createDocument, DEFAULT_PROJECT_ID, findDocument, findNameHolder } from '../../server/persistence/documents.js';
import {
  listTrash,
  MAX_ALIASES_PER_DOCUMENT,
  purgeTrash,
  renameDocument,
  restoreDocument,
  trashDocument,
} from '../../server/persistence/document-lifecycle.js';
import { DurableStorage } from '../../server/persistence/durable-storage.js';
import { DocumentDeletedError } from '../../server/persistence/storage.js';
import {
  TRASH_PURGE_BATCH,
  TRASH_PURGE_FIRST_DELAY_MS,
  TRASH_PURGE_INTERVAL_MS,
  TrashPurge,
} from '../../server/persistence/trash-purge.js';
import { createTestDatabase, logger, makeTempDir, type TestDatabase } from '../helpers/storage.js';
import { ManualClock } from '../helpers/rooms.js';

const DAY_MS = 86_400_000;

function suite(kind: 'postgres' | 'pglite', open: () => Promise<{ db: Db; cleanup(): Promise<void> }>): void {
  describe(`lifecycle SQL on ${kind}`, () => {
    let db: Db;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ db, cleanup } = await open());
      await migrateUp(db);
    });
    afterAll(async () => {
      await db?.close();
      await cleanup?.();
    });

    const create = async (name: string) => (await createDocument(db, name, 'paper')).document;

    it('a former name finds the document; creation and rename refuse names another document holds', async () => {
      const doc = await create('sql/a');
      const other = await create('sql/b');
      expect(await renameDocument(db, doc.id, 'sql/a2')).toMatchObject({
        status: 'renamed',
        formerName: 'sql/a',
        document: { id: doc.id, name: 'sql/a2' },
      });
      expect(await findDocument(db, 'sql/a')).toMatchObject({ id: doc.id, name: 'sql/a2' });
      // Created under a former name: the holder comes back, not created.
      expect(await createDocument(db, 'sql/a', 'paper')).toMatchObject({ created: false, document: { id: doc.id } });
      expect(await renameDocument(db, other.id, 'sql/a')).toEqual({ status: 'taken' });
      expect(await renameDocument(db, other.id, 'sql/a2')).toEqual({ status: 'taken' });
      expect(await renameDocument(db, other.id, 'sql/b')).toMatchObject({ status: 'unchanged' });
      expect(await renameDocument(db, crypto.randomUUID(), 'sql/c')).toEqual({ status: 'gone' });
      // Back to its former name: that alias becomes its name again, the other name an alias.
      expect(await renameDocument(db, doc.id, 'sql/a')).toMatchObject({ status: 'renamed', document: { name: 'sql/a' } });
      expect(await findDocument(db, 'sql/a2')).toMatchObject({ id: doc.id, name: 'sql/a' });
      const { rows } = await db.query<{ name: string }>('select name from document_aliases where document_id = $1 order by name', [doc.id]);
      expect(rows.map((row) => row.name)).toEqual(['sql/a2']);
    });

    it('a rename carries the new name into the research-tree projection', async () => {
      const { document } = await createDocument(db, 'sql/tree', 'research_tree');
      await db.query(`insert into research_trees (project_id, document_id, name) values ($1, $2, 'sql/tree')`, [
        DEFAULT_PROJECT_ID,
        document.id,
      ]);
      await renameDocument(db, document.id, 'sql/tree renamed');
      const { rows } = await db.query<{ name: string }>('select name from research_trees where document_id = $1', [document.id]);
      expect(rows.map((row) => row.name)).toEqual(['sql/tree renamed']);
    });

    it('the trash keeps every name taken; storage refuses to create or load a trashed document', async () => {
      const doc = await create('sql/binned');
      await renameDocument(db, doc.id, 'sql/binned now');
      const trashed = await db.transaction((tx) => trashDocument(tx, doc.id, null, new Date(Date.UTC(2030, 0, 1))));
      expect(trashed).toMatchObject({ id: doc.id, name: 'sql/binned now', deletedBy: null, deletedAt: new Date(Date.UTC(2030, 0, 1)) });
      expect(await db.transaction((tx) => trashDocument(tx, doc.id, null, new Date()))).toBeNull();
      for (const name of ['sql/binned', 'sql/binned now']) {
        expect(await findDocument(db, name)).toBeNull();
        expect(await findNameHolder(db, name)).toMatchObject({ id: doc.id, deletedAt: expect.any(Date) });
        expect(await createDocument(db, name, 'paper')).toMatchObject({ created: false, document: { id: doc.id } });
      }
      const other = await create('sql/other');
      expect(await renameDocument(db, other.id, 'sql/binned')).toEqual({ status: 'taken' });
      expect(await renameDocument(db, doc.id, 'sql/elsewhere')).toEqual({ status: 'gone' });
      expect((await listTrash(db, { ownerId: null })).map((entry) => entry.id)).toContain(doc.id);

      const storage = new DurableStorage(db, { logger });
      try {
        await expect(storage.create('sql/binned', { kind: 'paper' })).rejects.toBeInstanceOf(DocumentDeletedError);
        await expect(
          storage.load({ id: doc.id, name: 'sql/binned now', kind: 'paper', projectId: DEFAULT_PROJECT_ID }),
        ).rejects.toBeInstanceOf(DocumentDeletedError);
        expect(await restoreDocument(db, doc.id)).toMatchObject({
          status: 'restored',
          document: { name: 'sql/binned now', deletedAt: null },
        });
        expect(await restoreDocument(db, doc.id)).toEqual({ status: 'not-in-trash' });
        expect(await storage.load({ id: doc.id, name: 'sql/binned now', kind: 'paper', projectId: DEFAULT_PROJECT_ID })).toMatchObject({
          id: doc.id,
          state: null,
        });
      } finally {
        await storage.close(1_000);
      }
    });

    it(`keeps at most ${MAX_ALIASES_PER_DOCUMENT} former names`, async () => {
      const doc = await create('sql/renamed 0');
      for (let i = 1; i <= MAX_ALIASES_PER_DOCUMENT; i++)
        expect((await renameDocument(db, doc.id, `sql/renamed ${i}`)).status).toBe('renamed');
      expect(await renameDocument(db, doc.id, 'sql/one too many')).toEqual({ status: 'too-many-names' });
      expect(await findDocument(db, 'sql/one too many')).toBeNull();
      expect(await findDocument(db, `sql/renamed ${MAX_ALIASES_PER_DOCUMENT}`)).toMatchObject({ id: doc.id });
      // Renaming back to a former name frees a slot.
      expect((await renameDocument(db, doc.id, 'sql/renamed 0')).status).toBe('renamed');
    });

    it('a duplicate’s initial state is its content, with no log row', async () => {
      const source = new Y.Doc();
      source.getText('t').insert(0, 'copied');
      const { document } = await createDocument(db, 'sql/copy', 'paper', DEFAULT_PROJECT_ID, Y.encodeStateAsUpdate(source));
      const storage = new DurableStorage(db, { logger });
      try {
        const loaded = await storage.load(document);
        const copy = new Y.Doc();
        Y.applyUpdate(copy, loaded.state!);
        expect(copy.getText('t').toString()).toBe('copied');
        const { rows } = await db.query('select 1 from collaborations where document_id = $1', [document.id]);
        expect(rows).toEqual([]);
      } finally {
        await storage.close(1_000);
      }
    });

    it('purges what stayed in the trash past the retention, with its log, versions and aliases, on the Clock; two purges split the work', async () => {
      const clock = new ManualClock();
      clock.time = Date.UTC(2031, 0, 31);
      const old: string[] = [];
      for (let i = 0; i < TRASH_PURGE_BATCH + 7; i++) {
        const doc = await create(`sql/purge old ${i}`);
        await db.query(`insert into collaborations (document_id, session_id, update, size) values ($1, 's', '\\x00'::bytea, 1)`, [doc.id]);
        await db.query(`insert into document_versions (document_id, version, state) values ($1, 1, '\\x00'::bytea)`, [doc.id]);
        await renameDocument(db, doc.id, `sql/purge old ${i} renamed`);
        await db.transaction((tx) => trashDocument(tx, doc.id, null, new Date(Date.UTC(2030, 11, 1))));
        old.push(doc.id);
      }
      const recent = await create('sql/purge recent');
      await db.transaction((tx) => trashDocument(tx, recent.id, null, new Date(Date.UTC(2031, 0, 15))));
      const live = await create('sql/purge live');

      const purges = [0, 1].map(() => new TrashPurge({ db, clock, logger, retentionDays: 30 }));
      try {
        const purged = await Promise.all(purges.map((purge) => purge.purgeNow()));
        expect(purged[0]! + purged[1]!).toBe(old.length);
        const left = await db.query<{ id: string }>('select id from documents where id = any($1::uuid[])', [[...old, recent.id, live.id]]);
        expect(left.rows.map((row) => row.id).sort()).toEqual([recent.id, live.id].sort());
        for (const table of ['collaborations', 'document_versions', 'document_aliases']) {
          const { rows } = await db.query(`select 1 from ${table} where document_id = any($1::uuid[])`, [old]);
          expect({ table, rows }).toEqual({ table, rows: [] });
        }
        // Freed: the names can be taken again.
        expect((await createDocument(db, 'sql/purge old 0 renamed', 'paper')).created).toBe(true);

        // The timer: first a short while after start, then every interval, on the Clock.
        clock.time += 20 * DAY_MS; // the recent one is now 36 days in the trash
        clock.advance(TRASH_PURGE_FIRST_DELAY_MS);
        await expect
          .poll(async () => (await db.query('select 1 from documents where id = $1', [recent.id])).rows.length, { timeout: 5_000 })
          .toBe(0);
        expect(clock.timers.filter((timer) => !timer.cancelled).map((timer) => timer.ms)).toEqual([
          TRASH_PURGE_INTERVAL_MS,
          TRASH_PURGE_INTERVAL_MS,
        ]);
      } finally {
        for (const purge of purges) await purge.stop(performance.now() + 1_000);
      }
      expect(clock.timers.every((timer) => timer.cancelled)).toBe(true);
      expect(await purgeTrash(db, new Date(clock.now()), 10)).toEqual([]);
    });
  });
}

let pgDatabase: TestDatabase | undefined;
suite('postgres', async () => {
  pgDatabase = await createTestDatabase('lifesql');
  const db = createPgDb({ connectionString: pgDatabase.url, logger });
  return { db, cleanup: async () => pgDatabase?.drop() };
});

suite('pglite', async () => {
  const tmp = await makeTempDir('lifesql');
  const db = await createPgliteDb({ dataDir: tmp.dir, logger });
  return { db, cleanup: tmp.remove };
});

describe('a creation racing a rename on PostgreSQL', () => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase('liferace');
    db = createPgDb({ connectionString: database.url, logger, max: 8 });
    await migrateUp(db);
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  it('never leaves a name both a document’s and another’s former name', async () => {
    for (let i = 0; i < 25; i++) {
      const { document } = await createDocument(db, `race/${i}`, 'paper');
      // The rename frees race/i as a current name and makes it an alias, while the creation takes it.
      const [renamed, created] = await Promise.all([
        renameDocument(db, document.id, `race/${i} renamed`),
        createDocument(db, `race/${i}`, 'paper'),
      ]);
      expect(renamed.status).toBe('renamed');
      expect(created).toMatchObject({ created: false, document: { id: document.id } });
    }
    const { rows } = await db.query('select d.name from documents d join document_aliases a on a.name = d.name');
    expect(rows).toEqual([]);
  });
});

describe('TRASH_RETENTION_DAYS', () => {
  it('defaults to 30 days; out of range stops the start', () => {
    expect(configFromEnv({}).trashRetentionDays).toBe(30);
    expect(configFromEnv({ TRASH_RETENTION_DAYS: '7' }).trashRetentionDays).toBe(7);
    for (const bad of ['0', '-1', '1.5', 'week', '100000']) expect(() => configFromEnv({ TRASH_RETENTION_DAYS: bad })).toThrow(ConfigError);
  });
});
