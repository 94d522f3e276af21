/**
 * Coarsened history and folds that scale with the document (history-coarsening.ts,
 * compaction-policy.ts, compaction.ts), on PostgreSQL:
 * - the history still says who changed the document and when (each row one session, every
 *   update dated to within the window), the log's rows still replay to the document, and a
 *   fresh storage loads exactly the same state;
 * - a pass without a fold coarsens the tail and leaves documents.state alone; the next load
 *   merges the coarsened tail without a Y.Doc; the fold comes once the tail reaches the state's
 *   size, and on release for a small document;
 * - the rare paths: two passes racing for the same rows (the loser's transaction rolls back,
 *   whether it lost the rows or the compare-and-set), a row that does not apply in the middle
 *   of a session, an update too large to be worth rewriting, a merge Yjs refuses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { compactDocument, DEFAULT_HISTORY_WINDOW_MS, loadDocumentState, type CompactionPlan } from '../../server/persistence/compaction.js';
import type { Db, Queryable, QueryResult } from '../../server/persistence/db.js';
import { DurableStorage } from '../../server/persistence/durable-storage.js';
import { listHistory } from '../../server/persistence/history.js';
import { coarsenLog, COARSEN_BELOW_BYTES, type LogEntry } from '../../server/persistence/history-coarsening.js';
import { openStorage } from '../../server/persistence/open-storage.js';
import {
  CountingListener,
  createTestDatabase,
  ItemWriter,
  itemKeys,
  logger,
  openDocument,
  waitFor,
  type TestDatabase,
} from '../helpers/storage.js';

const USERS = { ada: '10000000-0000-4000-8000-0000000000a1', bob: '10000000-0000-4000-8000-0000000000b2' };
/** No fold unless asked for: the state has to be enormous before the tail is due. */
const NEVER_FOLD: CompactionPlan = { rule: 'due', policy: { foldRatio: 1e9 }, historyWindowMs: DEFAULT_HISTORY_WINDOW_MS };
const FOLD: CompactionPlan = { ...NEVER_FOLD, rule: 'always' };

describe('coarsenLog (unit)', () => {
  const writer = new ItemWriter('u');
  const t0 = Date.parse('2026-12-01T10:00:00Z');
  const entry = (position: number, sessionId: string, secondsIn: number, update = writer.next().update): LogEntry => ({
    position,
    tx: 1000 + position,
    update,
    userId: null,
    sessionId,
    operationType: 'update',
    createdAt: new Date(t0 + secondsIn * 1000),
  });

  it('one row per session and window of two or more; single, large and refused rows stay as they are', () => {
    const entries = [
      entry(1, 'a', 0),
      entry(2, 'b', 1),
      entry(3, 'a', 30),
      entry(4, 'a', 59.9),
      entry(5, 'a', 60), // a new window
      entry(6, 'c', 70, new Uint8Array(COARSEN_BELOW_BYTES)),
      entry(7, 'd', 80, new TextEncoder().encode('not a yjs update')),
      entry(8, 'd', 81, new TextEncoder().encode('nor this')),
    ];
    const rows = coarsenLog(entries, { windowMs: 60_000 });
    expect(rows.map((r) => r.positions)).toEqual([[1, 3, 4]]);
    expect(rows[0]).toMatchObject({ sessionId: 'a', updates: 3, tx: 1004, createdAt: new Date(t0), lastAt: new Date(t0 + 59_900) });
  });
});

describe('coarsened history and scaled folds (PostgreSQL)', () => {
  let database: TestDatabase;
  let db: Db;
  let base: DurableStorage;
  const opened: DurableStorage[] = [];
  const storage = (options: ConstructorParameters<typeof DurableStorage>[1] = {}) => {
    const s = new DurableStorage(db, { logger, ...options });
    opened.push(s);
    return s;
  };

  beforeAll(async () => {
    database = await createTestDatabase('coarsening');
    ({ db, storage: base } = await openStorage({ databaseUrl: database.url, dataDir: 'unused', logger }));
    await db.query(`insert into users (id, email, name) values ($1, 'ada@example.org', 'Ada'), ($2, 'bob@example.org', 'Bob')`, [
      USERS.ada,
      USERS.bob,
    ]);
  });
  afterAll(async () => {
    for (const s of opened) await s.close(10_000);
    await base?.close(10_000);
    await database?.drop();
  });

  const logRows = async (documentId: string) =>
    (
      await db.query<{ position: number; merged_updates: number | null; session_id: string; quarantined: boolean; update: Uint8Array }>(
        'select position, merged_updates, session_id, quarantined, update from collaborations where document_id = $1 order by position',
        [documentId],
      )
    ).rows;
  const covered = async (documentId: string) =>
    (
      await db.query<{ covered_position: number; state: Uint8Array | null }>(
        'select covered_position, state from documents where id = $1',
        [documentId],
      )
    ).rows[0]!;
  /** Every row of the log applied in order: what readers of `collaborations` rebuild. */
  const replayLog = async (documentId: string) => {
    const doc = new Y.Doc();
    for (const row of await logRows(documentId)) if (!row.quarantined) Y.applyUpdate(doc, row.update);
    return new Set(doc.getMap('items').keys());
  };
  const appendAll = async (
    s: DurableStorage,
    documentId: string,
    updates: readonly { update: Uint8Array; sessionId: string; userId: string | null }[],
  ) => {
    const listener = new CountingListener();
    for (const u of updates) s.append(documentId, u.update, { userId: u.userId, sessionId: u.sessionId }, listener);
    await s.flush();
    expect(listener.total).toBe(updates.length);
  };
  /**
   * Waits until no open transaction anywhere in the cluster (other test files run alongside) is
   * older than the document's rows, so that a compaction reads all of them.
   */
  const belowHorizon = (documentId: string) =>
    waitFor(
      async () =>
        (
          await db.query<{ n: number }>(
            `select count(*)::int as n from collaborations
              where document_id = $1 and tx >= pg_snapshot_xmin(pg_current_snapshot())::text::bigint`,
            [documentId],
          )
        ).rows[0]?.n === 0,
      10_000,
      'every row below the horizon',
    );
  /** Folds until every row that applies is in F (another test file's transaction may hold the horizon back). */
  const foldCompletely = (documentId: string) =>
    waitFor(
      async () => {
        await compactDocument(db, documentId, 1, FOLD);
        return (await loadDocumentState(db, documentId, 0))?.unfoldedRows === 0;
      },
      10_000,
      'a complete fold',
    );

  it('history keeps who and when (one session a row, every update within its window); the log replays and a reload is exact', async () => {
    const s = storage();
    const doc = await openDocument(s, 'who-and-when');
    const writers = { ada: new ItemWriter('ada'), bob: new ItemWriter('bob'), anon: new ItemWriter('anon') };
    const keys: string[] = [];
    const updates: { update: Uint8Array; sessionId: string; userId: string | null }[] = [];
    for (let i = 0; i < 300; i++) {
      const who = (['ada', 'bob', 'anon'] as const)[i % 3]!;
      const { key, update } = writers[who].next();
      keys.push(key);
      updates.push({ update, sessionId: `session-${who}`, userId: who === 'anon' ? null : USERS[who] });
    }
    await appendAll(s, doc.id, updates);
    // Ada's first 50 updates were made five minutes earlier: they get rows of their own.
    await db.query(
      `update collaborations set created_at = created_at - interval '5 minutes'
        where position in (select position from collaborations where document_id = $1 and session_id = 'session-ada' order by position limit 50)`,
      [doc.id],
    );
    await foldCompletely(doc.id);

    const history = await listHistory(db, 'who-and-when', { limit: 1000 });
    expect(history.reduce((n, e) => n + e.updates, 0)).toBe(300);
    const bySession = new Map<string, { updates: number; rows: number; users: Set<string | null> }>();
    for (const e of history) {
      const s1 = bySession.get(e.sessionId) ?? { updates: 0, rows: 0, users: new Set() };
      s1.updates += e.updates;
      s1.rows++;
      s1.users.add(e.userId);
      bySession.set(e.sessionId, s1);
      expect(e.lastAt.getTime() - e.createdAt.getTime()).toBeLessThan(DEFAULT_HISTORY_WINDOW_MS);
      expect(e.lastAt.getTime()).toBeGreaterThanOrEqual(e.createdAt.getTime());
    }
    expect([...bySession.keys()].sort()).toEqual(['session-ada', 'session-anon', 'session-bob']);
    expect(bySession.get('session-ada')).toMatchObject({ updates: 100, users: new Set([USERS.ada]) });
    expect(bySession.get('session-bob')).toMatchObject({ updates: 100, users: new Set([USERS.bob]) });
    expect(bySession.get('session-anon')).toMatchObject({ updates: 100, users: new Set([null]) });
    // Ada's two minutes are two rows at least. (A pass coarsens what it can read: one held back by
    // another test file's open transaction may leave a few more rows, never fewer.)
    expect(bySession.get('session-ada')!.rows).toBeGreaterThanOrEqual(2);
    expect(history.length).toBeLessThan(30);

    expect([...(await replayLog(doc.id))].sort()).toEqual([...keys].sort());
    const reloaded = await storage().load((await s.find('who-and-when'))!);
    expect([...itemKeys(reloaded.state)].sort()).toEqual([...keys].sort());
    expect(Y.encodeStateVector(docOf(reloaded.state))).toEqual(Y.encodeStateVector(docOf((await covered(doc.id)).state)));
  });

  it('a pass coarsens without writing the state until the tail reaches its size; loads merge the coarsened tail lazily', async () => {
    const first = storage({ compactOnRelease: false });
    const doc = await openDocument(first, 'scaled-fold');
    // A state of some size first: one large text.
    const big = new Y.Doc();
    big.getText('t').insert(0, 'x'.repeat(8_000));
    await appendAll(first, doc.id, [{ update: Y.encodeStateAsUpdate(big), sessionId: 'paste', userId: null }]);
    await foldCompletely(doc.id);
    const folded = await covered(doc.id);
    const stateBytes = folded.state!.byteLength;

    // A fresh storage (its estimate of the appended rows starts at the load), a pass every 40 rows,
    // the fold when the tail is as large as the state.
    const s = storage({ compactThresholdRows: 40, compactOnRelease: false, foldRatio: 1 });
    await s.load((await s.find('scaled-fold'))!);
    const writer = new ItemWriter('w');
    const keys: string[] = [];
    const batch = (n: number) =>
      Array.from({ length: n }, () => {
        const { key, update } = writer.next();
        keys.push(key);
        return { update, sessionId: 'typist', userId: null };
      });
    const loaded = async () => (await loadDocumentState(db, doc.id, 0))!;
    let passes = 0;
    let tailBefore = 0;
    for (;;) {
      const rows = batch(40);
      await appendAll(s, doc.id, rows);
      // This batch's pass (in the background): no appended row left, or the fold.
      await waitFor(
        async () => (await covered(doc.id)).covered_position !== folded.covered_position || (await loaded()).appendedRows === 0,
        10_000,
        'a pass',
      );
      if ((await covered(doc.id)).covered_position !== folded.covered_position) break;
      passes++;
      const tail = await loaded();
      // Not folded: the state is untouched, the tail is below its size and merged without a Y.Doc.
      expect(await covered(doc.id)).toEqual(folded);
      expect(tail.tailBytes).toBeLessThan(stateBytes);
      expect(tail.merge).toBe('lazy');
      expect([...itemKeys(tail.state)].sort()).toEqual([...keys].sort());
      expect(docOf(tail.state).getText('t').length).toBe(8_000);
      tailBefore = tail.tailBytes;
      expect(passes).toBeLessThan(200);
    }
    // The fold came with the pass that took the tail to the state's size, not before.
    expect(passes).toBeGreaterThan(1);
    expect(tailBefore + 40 * 40).toBeGreaterThanOrEqual(stateBytes);
    const after = await storage().load((await s.find('scaled-fold'))!);
    expect([...itemKeys(after.state)].sort()).toEqual([...keys].sort());
  });

  it('release folds whatever the tail holds, also where a pass would not fold yet', async () => {
    // The fold is never due here: only the release folds.
    const s = storage({ foldRatio: 1e9, compactThresholdRows: 5 });
    const doc = await openDocument(s, 'release-folds');
    const w = new ItemWriter('rf');
    const keys: string[] = [];
    const next = () => {
      const x = w.next();
      keys.push(x.key);
      return { update: x.update, sessionId: 's', userId: null };
    };
    await appendAll(s, doc.id, [next()]);
    await foldCompletely(doc.id);
    const folded = await covered(doc.id);
    await appendAll(s, doc.id, Array.from({ length: 10 }, next));
    // The threshold's pass coarsened the rows and left the state as it was.
    await waitFor(
      async () => (await logRows(doc.id)).filter((r) => r.position > folded.covered_position).every((r) => r.merged_updates !== null),
      10_000,
      'a pass',
    );
    expect(await covered(doc.id)).toEqual(folded);
    // Released again while another test file's open transaction holds the fold back.
    await waitFor(
      async () => {
        await s.release(doc.id);
        return (await loadDocumentState(db, doc.id, 0))?.merge === 'none';
      },
      10_000,
      'the release fold',
    );
    expect((await covered(doc.id)).covered_position).toBeGreaterThan(folded.covered_position);
    expect([...itemKeys((await loadDocumentState(db, doc.id, 0))!.state)].sort()).toEqual([...keys].sort());
  });

  /** `inner`, whose transactions wait for `gate` before the first statement that starts with `before`. */
  function gated(inner: Db, before: string, gate: Promise<void>, reached: () => void): Db {
    const wrap = (tx: Queryable): Queryable => ({
      async query<T>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
        if (sql.trimStart().startsWith(before)) {
          reached();
          await gate;
        }
        return tx.query<T>(sql, params);
      },
      exec: (sql: string) => tx.exec(sql),
    });
    return {
      ...inner,
      query: (sql, params, options) => inner.query(sql, params, options),
      exec: (sql) => inner.exec(sql),
      transaction: (fn) => inner.transaction((tx) => fn(wrap(tx))),
    };
  }

  // The fast pass of the second case folds without coarsening (a zero window merges nothing), so
  // it takes no row lock the gated pass holds.
  for (const [what, slowPlan, fastPlan, before] of [
    ['the rows (another pass coarsened them first)', NEVER_FOLD, NEVER_FOLD, 'delete from collaborations'],
    ['the compare-and-set (another pass folded first)', FOLD, { ...FOLD, historyWindowMs: 0 }, 'update documents'],
  ] as const) {
    it(`two passes race: the one that loses ${what} rolls back, and nothing is lost or doubled`, async () => {
      const s = storage({ compactOnRelease: false, compactThresholdRows: 1_000_000 });
      const name = `race-${before.split(' ')[0]}`;
      const doc = await openDocument(s, name);
      const w = new ItemWriter(name);
      const keys: string[] = [];
      const next = () => {
        const x = w.next();
        keys.push(x.key);
        return { update: x.update, sessionId: 's', userId: null };
      };
      await appendAll(s, doc.id, [next()]);
      await foldCompletely(doc.id);
      await appendAll(s, doc.id, Array.from({ length: 30 }, next));
      // Both passes must be able to read every row.
      await belowHorizon(doc.id);

      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      let reached!: () => void;
      const atGate = new Promise<void>((resolve) => (reached = resolve));
      const slow = compactDocument(gated(db, before, gate, reached), doc.id, 1, slowPlan);
      await Promise.race([atGate, slow.then(() => Promise.reject(new Error('the gated pass finished without reaching its gate')))]);
      const fast = await compactDocument(db, doc.id, 1, fastPlan);
      expect(fast.won).toBe(true);
      open();
      const lost = await slow;
      expect(lost.won).toBe(false);
      expect(lost.coarsenedRows).toBe(0);
      expect(lost.wroteState).toBe(false);

      expect((await logRows(doc.id)).reduce((n, r) => n + (r.merged_updates ?? 1), 0)).toBe(31);
      expect([...(await replayLog(doc.id))].sort()).toEqual([...keys].sort());
      const loaded = await loadDocumentState(db, doc.id, 0);
      expect([...itemKeys(loaded!.state)].sort()).toEqual([...keys].sort());
    });
  }

  it('a row that does not apply in the middle of a session is quarantined alone; the rows around it are coarsened', async () => {
    const s = storage({ compactOnRelease: false });
    const doc = await openDocument(s, 'garbage-in-session');
    const w = new ItemWriter('g');
    const keys: string[] = [];
    const some = (n: number) =>
      Array.from({ length: n }, () => {
        const x = w.next();
        keys.push(x.key);
        return { update: x.update, sessionId: 'same', userId: null };
      });
    await appendAll(s, doc.id, some(10));
    const garbage = new TextEncoder().encode('not a yjs update');
    const { rows } = await db.query<{ position: number }>(
      `insert into collaborations (document_id, session_id, update, size) values ($1, 'same', $2, $3) returning position`,
      [doc.id, garbage, garbage.byteLength],
    );
    await appendAll(s, doc.id, some(10));
    await foldCompletely(doc.id);
    const log = await logRows(doc.id);
    expect(log.filter((r) => r.quarantined).map((r) => r.position)).toEqual([rows[0]!.position]);
    expect(log.filter((r) => !r.quarantined).reduce((n, r) => n + (r.merged_updates ?? 1), 0)).toBe(20);
    expect(log.filter((r) => !r.quarantined).length).toBeLessThan(20);
    expect([...itemKeys((await loadDocumentState(db, doc.id, 0))!.state)].sort()).toEqual([...keys].sort());
  });

  it('an update of a few hundred bytes or more keeps its own row, folded or not', async () => {
    const s = storage({ compactOnRelease: false });
    const doc = await openDocument(s, 'large-update');
    const big = new Y.Doc();
    big.getText('t').insert(0, 'y'.repeat(COARSEN_BELOW_BYTES + 100));
    const w = new ItemWriter('l');
    await appendAll(s, doc.id, [
      { update: w.next().update, sessionId: 's', userId: null },
      { update: Y.encodeStateAsUpdate(big), sessionId: 's', userId: null },
      { update: w.next().update, sessionId: 's', userId: null },
      { update: w.next().update, sessionId: 's', userId: null },
    ]);
    const positions = (await logRows(doc.id)).map((r) => r.position);
    await foldCompletely(doc.id);
    const log = await logRows(doc.id);
    expect(log).toHaveLength(2);
    expect(log.find((r) => r.merged_updates === null)?.position).toBe(positions[1]);
    expect(log.find((r) => r.merged_updates !== null)?.merged_updates).toBe(3);
    expect(docOf((await loadDocumentState(db, doc.id, 0))!.state).getText('t').length).toBe(COARSEN_BELOW_BYTES + 100);

    // Another one, and a pass that does not fold: the small rows are coarsened, the large one stays
    // as it was, and the load applies that tail in a Y.Doc.
    const before = docOf((await loadDocumentState(db, doc.id, 0))!.state);
    big.getText('t').insert(0, 'z'.repeat(COARSEN_BELOW_BYTES));
    await appendAll(s, doc.id, [
      { update: w.next().update, sessionId: 's', userId: null },
      { update: Y.encodeStateAsUpdate(big, Y.encodeStateVector(before)), sessionId: 's', userId: null },
      { update: w.next().update, sessionId: 's', userId: null },
    ]);
    const appended = (await logRows(doc.id)).slice(-3);
    await belowHorizon(doc.id);
    expect((await compactDocument(db, doc.id, 1, NEVER_FOLD)).wroteState).toBe(false);
    const after = await logRows(doc.id);
    expect(after.find((r) => r.position === appended[1]!.position)?.merged_updates).toBeNull();
    expect(after.filter((r) => r.position > appended[2]!.position).map((r) => r.merged_updates)).toEqual([2]);
    const loaded = await loadDocumentState(db, doc.id, 0);
    expect(loaded?.merge).toBe('doc');
    expect(docOf(loaded!.state).getText('t').length).toBe(2 * COARSEN_BELOW_BYTES + 100);
  });
});

function docOf(state: Uint8Array | null): Y.Doc {
  const doc = new Y.Doc();
  if (state) Y.applyUpdate(doc, state);
  return doc;
}
