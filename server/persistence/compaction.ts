/**
 * Folding the update log into documents.state, and reading a document back.
 *
 * The folded set of a document is exactly
 *     F = { rows with position <= covered_position and tx < covered_tx and not quarantined }
 * where tx is the id of the transaction that inserted the row. Load returns
 * state + every row outside F, so correctness rests on one invariant:
 * every row in F is contained in documents.state.
 *
 * Why positions alone are not enough: identity values are handed out when a row is
 * inserted but become visible when its transaction commits, in another order.
 * A compaction that saw positions up to 11 while 10 was still uncommitted, and
 * recorded "covered <= 11", would hide row 10 forever.
 *
 * The transaction-id horizon closes that window without any lock on the append
 * path. `pg_snapshot_xmin(pg_current_snapshot())` is the oldest transaction still
 * running; every transaction with a smaller id has finished, so all of its rows
 * are visible to any later statement. Compaction:
 *   1. reads state, the covered pair and the horizon H (one statement);
 *   2. reads the rows outside F with tx < H (a later statement: all visible);
 *   3. applies them to state; a row Yjs refuses to apply is NOT in state', so it
 *      must stay outside F: it is marked quarantined;
 *   4. writes state' = state + the rows that applied, covered_tx = H,
 *      covered_position = max(covered_position, highest position read),
 *      with compare-and-set on the covered pair it read in step 1.
 * Step 3's mark and step 4 are one statement, so both happen or neither: the mark can
 * never be lost while covered_position moves past its row. (Marking alone is always
 * safe: it only takes rows out of F, which makes loads read more.) Afterwards a row
 * with position <= covered_position', tx < H and not quarantined was either in the
 * old F (already in state) or read in step 2 and applied, so the invariant holds. A
 * row that commits late has tx >= H (its transaction was running at step 1) and
 * stays outside F whatever its position. Concurrent compactions (other instances)
 * lose the CAS and change nothing but marks. Nothing here depends on transaction
 * ids growing monotonically either: rows above covered_position are never in F, so
 * a restore into a fresh cluster (ids restart, the position sequence carries on)
 * only makes load re-read rows, which Yjs applies idempotently.
 *
 * Quarantined rows stay in the log (retention never deletes them) and are read and
 * tried again by every load and compaction, so a fixed Yjs or a repaired row gets
 * its content back; a row that applies again is merged into state but keeps its
 * mark (clearing it is an operator's decision), which costs a re-read, nothing else.
 *
 * History coarsening (history-coarsening.ts) rides on the same reads. A compaction pass
 * replaces the appended rows it read and saw apply by history rows, one per session and
 * time window, in one transaction that deletes the appended rows (all of them, or the pass
 * gives up: another compaction coarsened them first) and inserts the merged rows at NEW
 * positions (the sequence's next values) with tx = the highest tx of the rows each replaces.
 * The new row is outside F when it is written (its position is above anything a compaction
 * had read when the sequence handed it out), and a compaction can only take it into F with
 * a horizon above its tx, i.e. above every replaced row's: such a compaction read either the
 * replaced rows (the pass had not committed yet) or the merged row, so its content is in
 * that compaction's state — the invariant holds with coarsened rows too. When the same pass
 * also writes the state (it applied every row it read), the CAS sets covered_position to the
 * highest of the new positions as well: the merged rows join F with the rows they replace.
 * No row of another transaction can slip in below that position: one with tx < H committed
 * before step 1, so step 2 read it; one with tx >= H stays outside F by its tx.
 *
 * A pass writes documents.state only when the fold is due (compaction-policy.ts). A coarsened
 * row (merged_updates set) has been applied by a compaction on top of the state, so a load
 * whose tail holds only such rows merges them with Y.mergeUpdates instead of building a Y.Doc:
 * a bad update would have been quarantined by that compaction.
 *
 * Cost of the scheme: the horizon is cluster-wide, so a long-running *writing*
 * transaction anywhere on the server (any database) holds compaction back; the
 * tail then grows until it finishes and loads merge more rows. Never wrong, at
 * worst slower. Read-only transactions have no transaction id and do not count.
 */
import * as Y from 'yjs';
import { DEFAULT_FOLD_POLICY, foldDue, type FoldPolicy, type FoldRule } from './compaction-policy.js';
import type { Db, Queryable } from './db.js';
import { coarsenLog, type CoarsenedRow } from './history-coarsening.js';
import { IN_THREAD_MERGER, type UpdateMerger } from './merge.js';

interface LogRow {
  position: number;
  tx: number;
  update: Uint8Array;
  quarantined: boolean;
  userId: string | null;
  sessionId: string;
  operationType: string;
  createdAt: Date;
  /** Null: a row as appended (one update, not coarsened); else the updates it stands for. */
  mergedUpdates: number | null;
  /** operation_data is set: kept as its own row. */
  hasData: boolean;
}

/** What a compaction pass decides about writing the state, and how coarse the history gets. */
export interface CompactionPlan {
  readonly rule: FoldRule;
  readonly policy: FoldPolicy;
  /** Updates of one session within this span share a history row (history-coarsening.ts). */
  readonly historyWindowMs: number;
  /** Where folds run (default: this thread). */
  readonly merger?: UpdateMerger | undefined;
}

/** One-minute resolution of "when" in the history. */
export const DEFAULT_HISTORY_WINDOW_MS = 60_000;

/** An explicit compaction: coarsen and fold everything foldable. */
export const FOLD_EVERYTHING: CompactionPlan = { rule: 'always', policy: DEFAULT_FOLD_POLICY, historyWindowMs: DEFAULT_HISTORY_WINDOW_MS };

interface DocumentSnapshot {
  state: Uint8Array | null;
  /** The document is in the trash (read with the state, so a load needs no query of its own). */
  trashed: boolean;
  coveredTx: number;
  coveredPosition: number;
  /** Transaction-id horizon taken before the rows were read. */
  horizon: number;
  /** Rows outside the folded set (only tx < horizon when read for compaction), by position. */
  rows: LogRow[];
}

/** Bytes of the state per row of HEAD_SQL. */
const STATE_SLICE_BYTES = 1024 * 1024;

/**
 * The document's state, trash mark, covered pair and horizon ($1: document id), one statement
 * (one snapshot), the state cut into slices of STATE_SLICE_BYTES, one row each, as base64 text.
 * node-postgres reads every column as text and holds a whole message in one buffer: a 20 MB
 * state in hex, its default text form, was a 42 MB message, copied while the buffer grew, made
 * into a string and decoded back, most of a large document's load. Base64 is a third smaller
 * than hex, and slices keep each message small. A slice reads only its own TOAST chunks because
 * documents.state is stored uncompressed (migration 014); a compressed value would be
 * decompressed from its start for every slice. No state: one row, with a null slice.
 */
const HEAD_SQL = `select encode(substring(d.state from o::int for ${STATE_SLICE_BYTES}), 'base64') as slice,
        octet_length(d.state) as state_bytes, d.deleted_at is not null as trashed, d.covered_tx, d.covered_position,
        pg_snapshot_xmin(pg_current_snapshot())::text::bigint as horizon
   from documents d
   left join lateral generate_series(1, octet_length(d.state), ${STATE_SLICE_BYTES}) o on true
  where d.id = $1
  order by o`;

interface HeadRow {
  slice: string | null;
  state_bytes: number | null;
  trashed: boolean;
  covered_tx: number;
  covered_position: number;
  horizon: number;
}

/** The state from HEAD_SQL's rows (in slice order); null when the document has none. */
function stateOf(rows: readonly HeadRow[]): Uint8Array | null {
  const bytes = rows[0]?.state_bytes ?? null;
  if (bytes === null) return null;
  const state = Buffer.allocUnsafe(bytes);
  let offset = 0;
  // PostgreSQL's base64 breaks lines every 76 characters; Buffer skips the line breaks.
  for (const row of rows) offset += state.write(row.slice ?? '', offset, 'base64');
  if (offset !== bytes) throw new Error(`documents.state read as ${offset} of its ${bytes} bytes`);
  return state;
}

const TAIL_COLUMNS = `position, tx, update, quarantined, user_id as "userId", session_id as "sessionId",
        operation_type as "operationType", created_at as "createdAt", merged_updates as "mergedUpdates",
        operation_data is not null as "hasData"`;

/**
 * The rows outside the folded set ($1 document id, $2 covered_position, $3 covered_tx, and
 * with `foldableOnly` $4 the horizon), in position order. Three disjoint, index-friendly
 * parts instead of one OR: rows above covered_position (the ordinary tail, via
 * (document_id, position)), late committers below it (via (document_id, tx)), and quarantined
 * rows below it (via the partial index on quarantined rows, which holds next to nothing).
 */
function tailSql(foldableOnly: boolean): string {
  const horizonFilter = foldableOnly ? 'and tx < $4' : '';
  return `select ${TAIL_COLUMNS} from collaborations
      where document_id = $1 and position > $2 ${horizonFilter}
     union all
     select ${TAIL_COLUMNS} from collaborations
      where document_id = $1 and position <= $2 and tx >= $3 ${horizonFilter}
     union all
     select ${TAIL_COLUMNS} from collaborations
      where document_id = $1 and quarantined and position <= $2 and tx < $3 ${horizonFilter}
     order by position`;
}

async function readSnapshot(db: Queryable, documentId: string, foldableOnly: boolean): Promise<DocumentSnapshot | null> {
  const head = await db.query<HeadRow>(HEAD_SQL, [documentId]);
  const doc = head.rows[0];
  if (!doc) return null;
  const params: unknown[] = [documentId, doc.covered_position, doc.covered_tx];
  if (foldableOnly) params.push(doc.horizon);
  const { rows } = await db.query<LogRow>(tailSql(foldableOnly), params);
  return {
    state: stateOf(head.rows),
    trashed: doc.trashed,
    coveredTx: doc.covered_tx,
    coveredPosition: doc.covered_position,
    horizon: doc.horizon,
    rows,
  };
}

interface Fold {
  /** `base` + the rows that applied; null when not encoded (or nothing applied). */
  readonly state: Uint8Array | null;
  /** Rows that did not apply (they are not in `state`). */
  readonly failed: readonly LogRow[];
}

/** `base` + `rows`, reporting the rows Yjs refused; `encode` false only checks which apply. */
async function fold(
  merger: UpdateMerger,
  documentId: string,
  base: Uint8Array | null,
  rows: readonly LogRow[],
  encode = true,
): Promise<Fold> {
  const updates = rows.map((r) => r.update);
  const inputs = base ? [base, ...updates] : updates;
  const merged = await merger.merge(inputs, encode);
  const offset = base ? 1 : 0;
  if (base && merged.failed[0] === 0) {
    // Folding on without it would write a state that lacks everything folded so far.
    throw new Error(`documents.state of ${documentId} does not apply; not folding over it`);
  }
  return { state: merged.state, failed: merged.failed.map((i) => rows[i - offset] as LogRow) };
}

/** Positions of failed rows not marked yet. */
function newlyFailed(failed: readonly LogRow[]): number[] {
  const positions: number[] = [];
  for (const row of failed) if (!row.quarantined) positions.push(row.position);
  return positions;
}

/** Marks rows quarantined (true whatever else happens: it only takes rows out of F). */
async function markQuarantined(db: Queryable, documentId: string, positions: readonly number[]): Promise<number[]> {
  if (positions.length === 0) return [];
  const { rows } = await db.query<{ position: number }>(
    `update collaborations set quarantined = true
      where document_id = $1 and position = any($2::bigint[]) and not quarantined
     returning position`,
    [documentId, positions],
  );
  return rows.map((r) => r.position).sort((a, b) => a - b);
}

/** Deletes appended rows a pass coarsened ($2); returns those it deleted. */
const DELETE_COARSENED_SQL = `delete from collaborations
  where document_id = $1 and position = any($2::bigint[]) and merged_updates is null and not quarantined
  returning position`;

/**
 * Inserts coarsened rows: their updates travel as one binary parameter ($5) cut apart by
 * offset ($6) and length ($7), as the update log's insert does.
 */
const INSERT_COARSENED_SQL = `insert into collaborations
    (document_id, user_id, session_id, operation_type, update, size, tx, created_at, merged_updates, merged_until)
  select $1, u, s, op, substring($5::bytea from o for l), l, t, c, n, e
    from unnest($2::uuid[], $3::text[], $4::text[], $6::int4[], $7::int4[], $8::int8[], $9::timestamptz[], $10::int4[], $11::timestamptz[])
         as x(u, s, op, o, l, t, c, n, e)
  returning position`;

const FOLD_SQL = `update documents
    set state = $2, covered_tx = $3, covered_position = $4, compacted_at = now(), updated_at = now()
  where id = $1 and covered_tx = $5 and covered_position = $6
  returning id`;

/** A pass's write lost to another compaction: its transaction is rolled back. */
class LostRace extends Error {}

async function insertCoarsened(tx: Queryable, documentId: string, rows: readonly CoarsenedRow[]): Promise<number[]> {
  const offsets: number[] = [];
  const lengths: number[] = [];
  let offset = 1; // substring() counts from 1
  for (const row of rows) {
    offsets.push(offset);
    lengths.push(row.update.byteLength);
    offset += row.update.byteLength;
  }
  const { rows: inserted } = await tx.query<{ position: number }>(INSERT_COARSENED_SQL, [
    documentId,
    rows.map((r) => r.userId),
    rows.map((r) => r.sessionId),
    rows.map((r) => r.operationType),
    Buffer.concat(rows.map((r) => r.update)),
    offsets,
    lengths,
    rows.map((r) => r.tx),
    rows.map((r) => r.createdAt.toISOString()),
    rows.map((r) => r.updates),
    rows.map((r) => r.lastAt.toISOString()),
  ]);
  return inserted.map((r) => r.position);
}

interface Written {
  readonly won: boolean;
  /** Positions this pass marked quarantined (not those marked before). */
  readonly quarantined: readonly number[];
  /** Coarsened rows written (none when the pass lost). */
  readonly coarsened: readonly CoarsenedRow[];
}

/**
 * Steps 3 and 4, with the history coarsening, as ONE transaction: marks `quarantine`, replaces
 * the coarsened rows' appended rows and, when `state` is given, compare-and-sets the folded
 * state. A lost compare-and-set or a coarsening that finds its rows gone (another pass took
 * them) rolls everything back; the quarantine marks are then made on their own (they are true
 * either way).
 */
async function writePass(
  db: Db,
  documentId: string,
  snap: DocumentSnapshot,
  read: readonly LogRow[],
  state: Uint8Array | null | undefined,
  quarantine: readonly number[],
  coarsened: readonly CoarsenedRow[],
): Promise<Written> {
  if (state === undefined && coarsened.length === 0) {
    return { won: true, quarantined: await markQuarantined(db, documentId, quarantine), coarsened: [] };
  }
  const body = async (tx: Queryable): Promise<number[]> => {
    const marked = await markQuarantined(tx, documentId, quarantine);
    let highest = snap.coveredPosition;
    for (const row of read) if (row.position > highest) highest = row.position;
    if (coarsened.length > 0) {
      const replaced = coarsened.flatMap((row) => row.positions);
      const { rows: deleted } = await tx.query<{ position: number }>(DELETE_COARSENED_SQL, [documentId, replaced]);
      if (deleted.length !== replaced.length) throw new LostRace('the rows were coarsened by another compaction');
      for (const position of await insertCoarsened(tx, documentId, coarsened)) if (position > highest) highest = position;
    }
    if (state !== undefined) {
      const { rows } = await tx.query(FOLD_SQL, [documentId, state, snap.horizon, highest, snap.coveredTx, snap.coveredPosition]);
      if (rows.length === 0) throw new LostRace('the covered pair changed');
    }
    return marked;
  };
  try {
    const marked = await db.transaction(body);
    return { won: true, quarantined: marked, coarsened };
  } catch (error) {
    if (!(error instanceof LostRace)) throw error;
    return { won: false, quarantined: await markQuarantined(db, documentId, quarantine), coarsened: [] };
  }
}

/** The tail's bytes a fold would take in (quarantined rows stay out). */
function unfoldedBytes(rows: readonly LogRow[]): number {
  let bytes = 0;
  for (const row of rows) if (!row.quarantined) bytes += row.update.byteLength;
  return bytes;
}

interface Pass {
  /** state + the rows that applied, when encoded (a fold, or `encode`); else null. */
  readonly state: Uint8Array | null;
  readonly failed: readonly LogRow[];
  readonly written: Written;
  readonly folded: boolean;
}

/**
 * One compaction pass over `rows` (all read with tx < horizon): applies them on top of the
 * state, coarsens the appended ones that applied and writes the state when the plan says the
 * fold is due.
 */
async function runPass(
  db: Db,
  documentId: string,
  snap: DocumentSnapshot,
  rows: readonly LogRow[],
  plan: CompactionPlan,
  encode: boolean,
): Promise<Pass> {
  const stateBytes = snap.state?.byteLength ?? 0;
  const due = foldDue(plan.rule, plan.policy, stateBytes, unfoldedBytes(rows));
  const applied = await fold(plan.merger ?? IN_THREAD_MERGER, documentId, snap.state, rows, due || encode);
  const failed = new Set(applied.failed);
  const coarsenable = rows.filter((r) => r.mergedUpdates === null && !r.quarantined && !r.hasData && !failed.has(r));
  const coarsened = coarsenLog(coarsenable, { windowMs: plan.historyWindowMs });
  const written = await writePass(db, documentId, snap, rows, due ? applied.state : undefined, newlyFailed(applied.failed), coarsened);
  return { state: applied.state, failed: applied.failed, written, folded: due && written.won };
}

export interface CompactionResult {
  /** Log rows that joined the folded set (0 when skipped, not due, or lost the CAS). */
  readonly folded: number;
  /** False when another compaction changed the covered pair, or coarsened the rows, first. */
  readonly won: boolean;
  /** Positions of rows that failed to apply and were quarantined by this call. */
  readonly quarantined: readonly number[];
  /** documents.state was written. */
  readonly wroteState: boolean;
  /** History rows written in place of appended ones, and the appended rows they replaced. */
  readonly coarsenedRows: number;
  readonly replacedRows: number;
  /**
   * Appended rows this pass has seen (folded, coarsened, quarantined, or left as they are),
   * and their bytes: what no longer calls for a pass.
   */
  readonly settledRows: number;
  readonly settledBytes: number;
  /** Bytes of documents.state after the call (as written, or as read); null when there is no such document. */
  readonly stateBytes: number | null;
}

const nothing = (stateBytes: number | null): CompactionResult => ({
  folded: 0,
  won: true,
  quarantined: [],
  wroteState: false,
  coarsenedRows: 0,
  replacedRows: 0,
  settledRows: 0,
  settledBytes: 0,
  stateBytes,
});

function resultOf(snap: DocumentSnapshot, rows: readonly LogRow[], pass: Pass): CompactionResult {
  const failed = new Set(pass.failed);
  let folded = 0;
  let settledRows = 0;
  let settledBytes = 0;
  const replaced = new Set(pass.written.coarsened.flatMap((r) => r.positions));
  for (const row of rows) {
    if (pass.folded && !row.quarantined && !failed.has(row)) folded++;
    if (row.mergedUpdates !== null || row.quarantined) continue;
    settledRows++;
    settledBytes += row.update.byteLength;
  }
  return {
    folded,
    won: pass.written.won,
    quarantined: pass.written.quarantined,
    wroteState: pass.folded,
    coarsenedRows: pass.written.coarsened.length,
    replacedRows: replaced.size,
    settledRows,
    settledBytes,
    stateBytes: (pass.folded ? pass.state : snap.state)?.byteLength ?? 0,
  };
}

/**
 * A compaction pass over the committed log tail, when at least `minRows` rows (not counting
 * quarantined ones) are foldable: coarsens the history and writes documents.state as `plan`
 * says (default: fold everything). Safe to run concurrently from any number of instances.
 */
export async function compactDocument(
  db: Db,
  documentId: string,
  minRows = 1,
  plan: CompactionPlan = FOLD_EVERYTHING,
): Promise<CompactionResult> {
  const snap = await readSnapshot(db, documentId, true);
  if (!snap) return nothing(null);
  const stateBytes = snap.state?.byteLength ?? 0;
  let candidates = 0;
  let appended = 0;
  for (const row of snap.rows) {
    if (row.quarantined) continue;
    candidates++;
    if (row.mergedUpdates === null) appended++;
  }
  // Quarantined rows alone are no reason to write: they would fail again.
  if (candidates === 0 || candidates < minRows) return nothing(stateBytes);
  // Only coarsened rows and no fold due: nothing to do, and no reason to apply the state.
  if (appended === 0 && !foldDue(plan.rule, plan.policy, stateBytes, unfoldedBytes(snap.rows))) return nothing(stateBytes);
  return resultOf(snap, snap.rows, await runPass(db, documentId, snap, snap.rows, plan, false));
}

export interface LoadedState {
  readonly state: Uint8Array | null;
  /** The document is in the trash. */
  readonly trashed: boolean;
  /**
   * How the tail was merged: `none` (no tail: the stored state as it is), `lazy` (coarsened
   * rows only, merged with Y.mergeUpdates) or `doc` (applied row by row in a Y.Doc).
   */
  readonly merge: 'none' | 'lazy' | 'doc';
  /** Log rows read on top of documents.state (every row outside the folded set, quarantined ones too). */
  readonly tailRows: number;
  /** Tail bytes read on top of documents.state. */
  readonly tailBytes: number;
  /** Rows folded by this load (it compacts when the tail reached `passThreshold`). */
  readonly folded: number;
  /** Rows still outside the folded set and not quarantined after this load: what a compaction would fold. */
  readonly unfoldedRows: number;
  readonly unfoldedBytes: number;
  /** Of those, rows as appended (not coarsened), and their bytes. */
  readonly appendedRows: number;
  readonly appendedBytes: number;
  /** Positions of rows that failed to apply and were quarantined by this load. */
  readonly quarantined: readonly number[];
}

/**
 * documents.state + every row outside the folded set, as one update. A tail of coarsened rows
 * only (each applied by a compaction already) is merged with Y.mergeUpdates, without a Y.Doc;
 * any other tail is applied in a Y.Doc, row by row, so a row that does not apply is found and
 * quarantined. When the foldable part of the tail holds at least `passThreshold` appended rows
 * (not counting quarantined ones), the load also runs a compaction pass (`plan`: coarsening,
 * and a fold when due, with the same CAS as compactDocument), so a long tail is paid for once.
 */
export async function loadDocumentState(
  db: Db,
  documentId: string,
  passThreshold: number,
  plan: CompactionPlan = { ...FOLD_EVERYTHING, rule: 'due' },
): Promise<LoadedState | null> {
  const snap = await readSnapshot(db, documentId, false);
  if (!snap) return null;
  let tailBytes = 0;
  for (const row of snap.rows) tailBytes += row.update.byteLength;
  const nothingFolded = { trashed: snap.trashed, folded: 0, appendedRows: 0, appendedBytes: 0, quarantined: [] };
  if (snap.rows.length === 0) {
    return { state: snap.state, merge: 'none', tailRows: 0, tailBytes: 0, unfoldedRows: 0, unfoldedBytes: 0, ...nothingFolded };
  }
  if (snap.rows.every((r) => r.mergedUpdates !== null && !r.quarantined)) {
    const parts = snap.rows.map((r) => r.update);
    const state = Y.mergeUpdates(snap.state ? [snap.state, ...parts] : parts);
    return {
      state,
      merge: 'lazy',
      tailRows: snap.rows.length,
      tailBytes,
      unfoldedRows: snap.rows.length,
      unfoldedBytes: tailBytes,
      ...nothingFolded,
    };
  }

  const foldable = snap.rows.filter((r) => r.tx < snap.horizon);
  let appended = 0;
  for (const row of foldable) if (!row.quarantined && row.mergedUpdates === null) appended++;

  let state: Uint8Array | null;
  let rest: readonly LogRow[];
  let folded = false;
  const quarantined: number[] = [];
  const failed = new Set<LogRow>();
  const replaced = new Set<number>();
  if (passThreshold > 0 && appended > 0 && appended >= passThreshold) {
    const pass = await runPass(db, documentId, snap, foldable, plan, true);
    folded = pass.folded;
    quarantined.push(...pass.written.quarantined);
    for (const row of pass.failed) failed.add(row);
    for (const row of pass.written.coarsened) for (const position of row.positions) replaced.add(position);
    state = pass.state;
    rest = snap.rows.filter((r) => r.tx >= snap.horizon);
  } else {
    state = snap.state;
    rest = snap.rows;
  }
  if (rest.length > 0) {
    const second = await fold(plan.merger ?? IN_THREAD_MERGER, documentId, state, rest);
    quarantined.push(...(await markQuarantined(db, documentId, newlyFailed(second.failed))));
    for (const row of second.failed) failed.add(row);
    state = second.state;
  }

  // What stays for a later compaction: rows that applied, are not marked, and were not folded now.
  let unfoldedRows = 0;
  let unfoldedBytesLeft = 0;
  let appendedRows = 0;
  let appendedBytes = 0;
  let foldedRows = 0;
  for (const row of snap.rows) {
    if (row.quarantined || failed.has(row)) continue;
    if (folded && row.tx < snap.horizon) {
      foldedRows++;
      continue;
    }
    unfoldedRows++;
    unfoldedBytesLeft += row.update.byteLength;
    if (row.mergedUpdates === null && !replaced.has(row.position)) {
      appendedRows++;
      appendedBytes += row.update.byteLength;
    }
  }
  return {
    state,
    trashed: snap.trashed,
    merge: 'doc',
    tailRows: snap.rows.length,
    tailBytes,
    folded: foldedRows,
    unfoldedRows,
    unfoldedBytes: unfoldedBytesLeft,
    appendedRows,
    appendedBytes,
    quarantined,
  };
}

/**
 * History retention: deletes log rows of a document that are folded into its
 * state and older than `olderThanMs`. Unfolded and quarantined rows are never
 * deleted (a quarantined row's content is in no state: the row is all there is).
 */
export async function pruneHistory(db: Queryable, documentId: string, olderThanMs: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `with deleted as (
       delete from collaborations c
        using documents d
        where d.id = $1 and c.document_id = d.id
          and c.position <= d.covered_position and c.tx < d.covered_tx and not c.quarantined
          and coalesce(c.merged_until, c.created_at) < now() - make_interval(secs => $2::double precision / 1000)
       returning 1)
     select count(*)::int as n from deleted`,
    [documentId, olderThanMs],
  );
  return rows[0]?.n ?? 0;
}

/**
 * What storage holds of a document, unmerged: documents.state (if any) followed by every log
 * row outside the folded set, in position order — applied in order they give the loaded state.
 * Reads only (no folding, no quarantine marks), so the merge can run elsewhere (a worker
 * thread taking a version). Null when there is no such document.
 */
export async function readStoredUpdates(db: Queryable, documentId: string): Promise<Uint8Array[] | null> {
  const snap = await readSnapshot(db, documentId, false);
  if (!snap) return null;
  const parts = snap.rows.map((row) => row.update);
  return snap.state ? [snap.state, ...parts] : parts;
}
