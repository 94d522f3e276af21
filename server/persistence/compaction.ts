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
 * Cost of the scheme: the horizon is cluster-wide, so a long-running *writing*
 * transaction anywhere on the server (any database) holds compaction back; the
 * tail then grows until it finishes and loads merge more rows. Never wrong, at
 * worst slower. Read-only transactions have no transaction id and do not count.
 */
import type { Queryable } from './db.js';
import { mergeUpdates } from './merge.js';

interface LogRow {
  position: number;
  tx: number;
  update: Uint8Array;
  quarantined: boolean;
}

interface DocumentSnapshot {
  state: Uint8Array | null;
  coveredTx: number;
  coveredPosition: number;
  /** Transaction-id horizon taken before the rows were read. */
  horizon: number;
  /** Rows outside the folded set (only tx < horizon when read for compaction), by position. */
  rows: LogRow[];
}

/** The document's state, covered pair and horizon ($1: document id). */
const HEAD_SQL = `select state, covered_tx, covered_position,
        pg_snapshot_xmin(pg_current_snapshot())::text::bigint as horizon
   from documents where id = $1`;

/**
 * The rows outside the folded set ($1 document id, $2 covered_position, $3 covered_tx, and
 * with `foldableOnly` $4 the horizon), in position order. Three disjoint, index-friendly
 * parts instead of one OR: rows above covered_position (the ordinary tail, via
 * (document_id, position)), late committers below it (via (document_id, tx)), and quarantined
 * rows below it (via the partial index on quarantined rows, which holds next to nothing).
 */
function tailSql(foldableOnly: boolean): string {
  const horizonFilter = foldableOnly ? 'and tx < $4' : '';
  return `select position, tx, update, quarantined from collaborations
      where document_id = $1 and position > $2 ${horizonFilter}
     union all
     select position, tx, update, quarantined from collaborations
      where document_id = $1 and position <= $2 and tx >= $3 ${horizonFilter}
     union all
     select position, tx, update, quarantined from collaborations
      where document_id = $1 and quarantined and position <= $2 and tx < $3 ${horizonFilter}
     order by position`;
}

async function readSnapshot(db: Queryable, documentId: string, foldableOnly: boolean): Promise<DocumentSnapshot | null> {
  const head = await db.query<{ state: Uint8Array | null; covered_tx: number; covered_position: number; horizon: number }>(HEAD_SQL, [documentId]);
  const doc = head.rows[0];
  if (!doc) return null;
  const params: unknown[] = [documentId, doc.covered_position, doc.covered_tx];
  if (foldableOnly) params.push(doc.horizon);
  const { rows } = await db.query<LogRow>(tailSql(foldableOnly), params);
  return {
    state: doc.state,
    coveredTx: doc.covered_tx,
    coveredPosition: doc.covered_position,
    horizon: doc.horizon,
    rows,
  };
}

interface Fold {
  readonly state: Uint8Array | null;
  /** Rows that did not apply (they are not in `state`). */
  readonly failed: readonly LogRow[];
}

/** `base` + `rows`, reporting the rows Yjs refused. */
function fold(documentId: string, base: Uint8Array | null, rows: readonly LogRow[]): Fold {
  const updates = rows.map((r) => r.update);
  const merged = mergeUpdates(base ? [base, ...updates] : updates);
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

interface Written {
  readonly won: boolean;
  /** Positions this statement marked quarantined (not those marked before). */
  readonly quarantined: readonly number[];
}

/**
 * Steps 3 and 4 as ONE statement: marks `quarantine` and compare-and-sets the
 * folded state. The marks apply even when the CAS loses (they are true either way).
 */
async function writeFolded(
  db: Queryable,
  documentId: string,
  snap: DocumentSnapshot,
  read: readonly LogRow[],
  state: Uint8Array | null,
  quarantine: readonly number[],
): Promise<Written> {
  let highest = snap.coveredPosition;
  for (const row of read) if (row.position > highest) highest = row.position;
  const { rows } = await db.query<{ won: boolean; quarantined: number[] }>(
    `with marked as (
       update collaborations set quarantined = true
        where document_id = $1 and position = any($7::bigint[]) and not quarantined
       returning position),
     folded as (
       update documents
          set state = $2, covered_tx = $3, covered_position = $4, compacted_at = now(), updated_at = now()
        where id = $1 and covered_tx = $5 and covered_position = $6
       returning id)
     select exists (select 1 from folded) as won,
            coalesce((select jsonb_agg(position order by position) from marked), '[]'::jsonb) as quarantined`,
    [documentId, state, snap.horizon, highest, snap.coveredTx, snap.coveredPosition, quarantine],
  );
  const row = rows[0];
  return { won: row?.won === true, quarantined: row?.quarantined ?? [] };
}

/** Marks rows quarantined outside a fold (a load that does not write state back). */
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

export interface CompactionResult {
  /** Log rows that joined the folded set (0 when skipped or lost the CAS). */
  readonly folded: number;
  /** False when another compaction changed the covered pair first. */
  readonly won: boolean;
  /** Positions of rows that failed to apply and were quarantined by this call. */
  readonly quarantined: readonly number[];
}

/**
 * Folds the committed log tail into documents.state when at least `minRows`
 * rows (not counting quarantined ones) are foldable. Safe to run concurrently
 * from any number of instances.
 */
export async function compactDocument(db: Queryable, documentId: string, minRows = 1): Promise<CompactionResult> {
  const snap = await readSnapshot(db, documentId, true);
  let candidates = 0;
  if (snap) for (const row of snap.rows) if (!row.quarantined) candidates++;
  // Quarantined rows alone are no reason to write: they would fail again.
  if (!snap || candidates === 0 || candidates < minRows) return { folded: 0, won: true, quarantined: [] };
  const folded = fold(documentId, snap.state, snap.rows);
  const failedNow = newlyFailed(folded.failed);
  const written = await writeFolded(db, documentId, snap, snap.rows, folded.state, failedNow);
  return { folded: written.won ? candidates - failedNow.length : 0, won: written.won, quarantined: written.quarantined };
}

export interface LoadedState {
  readonly state: Uint8Array | null;
  /** Log rows read on top of documents.state (every row outside the folded set, quarantined ones too). */
  readonly tailRows: number;
  /** Tail bytes read on top of documents.state. */
  readonly tailBytes: number;
  /** Rows folded by this load (it compacts when the tail reached `foldThreshold`). */
  readonly folded: number;
  /** Rows still outside the folded set and not quarantined after this load: what a compaction would fold. */
  readonly unfoldedRows: number;
  readonly unfoldedBytes: number;
  /** Positions of rows that failed to apply and were quarantined by this load. */
  readonly quarantined: readonly number[];
}

/**
 * documents.state + every row outside the folded set, as one update. When the
 * foldable part of the tail has at least `foldThreshold` rows (not counting
 * quarantined ones) the merge is also written back (same CAS as
 * compactDocument), so a long tail is paid for once.
 */
export async function loadDocumentState(db: Queryable, documentId: string, foldThreshold: number): Promise<LoadedState | null> {
  const snap = await readSnapshot(db, documentId, false);
  if (!snap) return null;
  if (snap.rows.length === 0) {
    return { state: snap.state, tailRows: 0, tailBytes: 0, folded: 0, unfoldedRows: 0, unfoldedBytes: 0, quarantined: [] };
  }
  let tailBytes = 0;
  for (const row of snap.rows) tailBytes += row.update.byteLength;

  const foldable = snap.rows.filter((r) => r.tx < snap.horizon);
  let candidates = 0;
  for (const row of foldable) if (!row.quarantined) candidates++;

  let state: Uint8Array | null;
  let rest: readonly LogRow[];
  let folded = 0;
  let won = false;
  const quarantined: number[] = [];
  const failed = new Set<LogRow>();
  if (foldThreshold > 0 && candidates > 0 && candidates >= foldThreshold) {
    const first = fold(documentId, snap.state, foldable);
    const failedNow = newlyFailed(first.failed);
    const written = await writeFolded(db, documentId, snap, foldable, first.state, failedNow);
    won = written.won;
    if (won) folded = candidates - failedNow.length;
    quarantined.push(...written.quarantined);
    for (const row of first.failed) failed.add(row);
    state = first.state;
    rest = snap.rows.filter((r) => r.tx >= snap.horizon);
  } else {
    state = snap.state;
    rest = snap.rows;
  }
  if (rest.length > 0) {
    const second = fold(documentId, state, rest);
    quarantined.push(...(await markQuarantined(db, documentId, newlyFailed(second.failed))));
    for (const row of second.failed) failed.add(row);
    state = second.state;
  }

  // What stays for a later compaction: rows that applied, are not marked, and were not folded now.
  let unfoldedRows = 0;
  let unfoldedBytes = 0;
  for (const row of snap.rows) {
    if (row.quarantined || failed.has(row)) continue;
    if (won && row.tx < snap.horizon) continue;
    unfoldedRows++;
    unfoldedBytes += row.update.byteLength;
  }
  return { state, tailRows: snap.rows.length, tailBytes, folded, unfoldedRows, unfoldedBytes, quarantined };
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
          and c.created_at < now() - make_interval(secs => $2::double precision / 1000)
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
