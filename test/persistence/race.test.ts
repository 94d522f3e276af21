/**
 * THE RACE: several instances append to one document while compactions run
 * concurrently and repeatedly. Identity positions commit out of order across
 * transactions; every appender here holds its insert transaction open for a
 * random delay before COMMIT to widen exactly that window. At the end every single
 * update must be in load().
 *
 * The test also proves it exercised the window: it counts log rows that were still
 * uncommitted when a compaction read the log although a higher position was
 * already visible, i.e. rows that "covered <= max position seen" bookkeeping
 * would have hidden forever.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db, Queryable, QueryResult } from '../../persistence/db.js';
import { compactDocument, loadDocumentState } from '../../persistence/compaction.js';
import { DurableStorage } from '../../persistence/durable-storage.js';
import { migrateUp } from '../../persistence/migrations.js';
import { createPgDb } from '../../persistence/pg-db.js';
import { CountingListener, createTestDatabase, ItemWriter, itemKeys, logger, sleep, type TestDatabase } from './helpers.js';

/** Runs the log's INSERTs in an explicit transaction that waits before COMMIT. */
function delayedCommits(inner: Db, maxDelayMs: number): Db {
  return {
    kind: inner.kind,
    query<T>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      if (!sql.trimStart().startsWith('insert into collaborations')) return inner.query<T>(sql, params);
      return inner.transaction(async (tx) => {
        const result = await tx.query<T>(sql, params);
        await sleep(Math.random() * maxDelayMs);
        return result;
      });
    },
    exec: (sql: string) => inner.exec(sql),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => inner.transaction(fn),
    close: () => inner.close(),
  };
}

const INSTANCES = 4;
const WRITERS_PER_INSTANCE = 2;
const UPDATES_PER_WRITER = 500;
const COMPACTORS = 2;

describe('concurrent appends from several instances vs concurrent compaction (PostgreSQL)', () => {
  let database: TestDatabase;
  const dbs: Db[] = [];
  const open = (max = 4): Db => {
    const db = createPgDb({ connectionString: database.url, logger, max });
    dbs.push(db);
    return db;
  };

  beforeAll(async () => {
    database = await createTestDatabase('race');
    await migrateUp(open(2));
  });
  afterAll(async () => {
    for (const db of dbs) await db.close();
    await database?.drop();
  });

  it('never loses an update', async () => {
    const setup = new DurableStorage(open(2), { logger });
    const { id: documentId } = await setup.load('contended');

    // Appending instances: own pool each, slow commits, small compaction threshold
    // so they compact too (from their own connections).
    const instances = Array.from({ length: INSTANCES }, (_, i) => ({
      storage: new DurableStorage(delayedCommits(open(), 20), { logger, compactThresholdRows: 40 + i * 10 }),
      writers: Array.from({ length: WRITERS_PER_INSTANCE }, (_, w) => ({
        writer: new ItemWriter(`i${i}w${w}`),
        listener: new CountingListener(),
      })),
    }));
    for (const inst of instances) await inst.storage.load('contended');

    const expected: string[] = [];
    let appending = true;
    const appenders = instances.flatMap((inst) =>
      inst.writers.map(async ({ writer, listener }) => {
        for (let n = 0; n < UPDATES_PER_WRITER; n++) {
          const { key, update } = writer.next();
          expected.push(key);
          inst.storage.append(documentId, update, { userId: null, sessionId: writer.tag }, listener);
          await sleep(Math.random() * 3);
        }
      }),
    );

    // Compactors: separate instances folding as fast as they can, alternating the
    // explicit compaction and the fold-on-load path.
    let compactions = 0;
    const coveredSeen = new Set<number>();
    // (max visible position, visible rows up to it) snapshots: rows at or below
    // that max which only became visible later are exactly the late committers a
    // "covered = highest position seen" rule would lose.
    const observations: { max: number; visible: number }[] = [];
    const observer = open(2);
    const compactors = Array.from({ length: COMPACTORS }, async (_, c) => {
      const db = open(2);
      let round = 0;
      while (appending) {
        const result = round++ % 3 === 2 ? await loadDocumentState(db, documentId, 1) : await compactDocument(db, documentId, 1);
        if (result && result.folded > 0) compactions++;
        const doc = await observer.query<{ covered_tx: number }>('select covered_tx from documents where id = $1', [documentId]);
        coveredSeen.add(doc.rows[0]?.covered_tx ?? 0);
        await sleep(Math.random() * 2 * (c + 1));
      }
    });
    const observing = (async () => {
      while (appending) {
        const seen = await observer.query<{ max: number | null; visible: number }>(
          'select max(position)::bigint as max, count(*)::int as visible from collaborations where document_id = $1',
          [documentId],
        );
        if (seen.rows[0]?.max != null) observations.push({ max: seen.rows[0].max, visible: seen.rows[0].visible });
        await sleep(1);
      }
    })();

    await Promise.all(appenders);
    for (const inst of instances) await inst.storage.flush();
    appending = false;
    await Promise.all([...compactors, observing]);
    for (const inst of instances) {
      for (const { listener } of inst.writers) expect(listener.total).toBe(UPDATES_PER_WRITER);
    }

    const total = INSTANCES * WRITERS_PER_INSTANCE * UPDATES_PER_WRITER;
    expect(expected).toHaveLength(total);
    const check = open(2);
    const loaded = await loadDocumentState(check, documentId, 0);
    const present = itemKeys(loaded?.state ?? null);
    const missing = expected.filter((k) => !present.has(k));
    expect(missing).toEqual([]);
    expect(present.size).toBe(total);

    // Fold everything and check once more, through a fresh storage as a restart would.
    await compactDocument(check, documentId, 1);
    expect((await loadDocumentState(check, documentId, 0))?.tailRows).toBe(0);
    const reloaded = await new DurableStorage(check, { logger }).load('contended');
    expect(itemKeys(reloaded.state).size).toBe(total);

    let lateRows = 0;
    let windowsHit = 0;
    for (const o of observations) {
      const { rows } = await check.query<{ n: number }>(
        'select count(*)::int as n from collaborations where document_id = $1 and position <= $2',
        [documentId, o.max],
      );
      const late = (rows[0]?.n ?? 0) - o.visible;
      lateRows += late;
      if (late > 0) windowsHit++;
    }
    console.log(
      `race: ${total} updates, ${compactions} folds by the compactors, ${coveredSeen.size} covered horizons seen, ` +
        `${windowsHit}/${observations.length} log reads had uncommitted rows below the highest visible position (${lateRows} rows in all)`,
    );
    expect(compactions).toBeGreaterThan(0);
    expect(coveredSeen.size).toBeGreaterThan(10);
    // The hammer really hit the out-of-order window, many times.
    expect(windowsHit).toBeGreaterThanOrEqual(10);

    for (const inst of instances) await inst.storage.close();
    await setup.close();
  }, 60_000);
});
