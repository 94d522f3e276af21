/**
 * Folding the update log into documents.state, and reading a document back.
 *
 * The folded set of a document is exactly
 *     F = { rows with position <= covered_position and tx < covered_tx }
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
 *   3. writes state' = state + those rows, covered_tx = H,
 *      covered_position = max(covered_position, highest position read),
 *      with compare-and-set on the covered pair it read in step 1.
 * Afterwards a row with position <= covered_position' and tx < H was either in
 * the old F (already in state) or read in step 2, so the invariant holds. A row
 * that commits late has tx >= H (its transaction was running at step 1) and stays
 * outside F whatever its position. Concurrent compactions (other instances) lose
 * the CAS and change nothing. Nothing here depends on transaction ids growing
 * monotonically either: rows above covered_position are never in F, so a restore
 * into a fresh cluster (ids restart, the position sequence carries on) only makes
 * load re-read rows, which Yjs applies idempotently.
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

async function readSnapshot(db: Queryable, documentId: string, foldableOnly: boolean): Promise<DocumentSnapshot | null> {
  const head = await db.query<{ state: Uint8Array | null; covered_tx: number; covered_position: number; horizon: number }>(
    `select state, covered_tx, covered_position,
            pg_snapshot_xmin(pg_current_snapshot())::text::bigint as horizon
       from documents where id = $1`,
    [documentId],
  );
  const doc = head.rows[0];
  if (!doc) return null;
  // Two index-friendly halves instead of one OR: rows above covered_position
  // (the ordinary tail, via (document_id, position)) and late committers below it
  // (via (document_id, tx)).
  const horizonFilter = foldableOnly ? 'and tx < $4' : '';
  const params: unknown[] = [documentId, doc.covered_position, doc.covered_tx];
  if (foldableOnly) params.push(doc.horizon);
  const { rows } = await db.query<LogRow>(
    `select position, tx, update from collaborations
      where document_id = $1 and position > $2 ${horizonFilter}
     union all
     select position, tx, update from collaborations
      where document_id = $1 and position <= $2 and tx >= $3 ${horizonFilter}
     order by position`,
    params,
  );
  return {
    state: doc.state,
    coveredTx: doc.covered_tx,
    coveredPosition: doc.covered_position,
    horizon: doc.horizon,
    rows,
  };
}

/** Step 3: compare-and-set. Returns false when another compaction won. */
async function writeFolded(db: Queryable, documentId: string, snap: DocumentSnapshot, folded: LogRow[], state: Uint8Array | null): Promise<boolean> {
  let highest = snap.coveredPosition;
  for (const row of folded) if (row.position > highest) highest = row.position;
  const { rows } = await db.query(
    `update documents
        set state = $2, covered_tx = $3, covered_position = $4, compacted_at = now(), updated_at = now()
      where id = $1 and covered_tx = $5 and covered_position = $6
      returning id`,
    [documentId, state, snap.horizon, highest, snap.coveredTx, snap.coveredPosition],
  );
  return rows.length === 1;
}

export interface CompactionResult {
  /** Log rows folded into documents.state (0 when skipped or lost the CAS). */
  readonly folded: number;
  /** False when another compaction changed the covered pair first. */
  readonly won: boolean;
  /** Updates Yjs could not decode (dropped from the state, kept in the log). */
  readonly invalid: number;
}

/**
 * Folds the committed log tail into documents.state when at least `minRows`
 * rows are foldable. Safe to run concurrently from any number of instances.
 */
export async function compactDocument(db: Queryable, documentId: string, minRows = 1): Promise<CompactionResult> {
  const snap = await readSnapshot(db, documentId, true);
  if (!snap || snap.rows.length === 0 || snap.rows.length < minRows) return { folded: 0, won: true, invalid: 0 };
  const merged = mergeUpdates(snap.state ? [snap.state, ...snap.rows.map((r) => r.update)] : snap.rows.map((r) => r.update));
  const won = await writeFolded(db, documentId, snap, snap.rows, merged.state);
  return { folded: won ? snap.rows.length : 0, won, invalid: merged.invalid };
}

export interface LoadedState {
  readonly state: Uint8Array | null;
  /** Log rows read on top of documents.state. */
  readonly tailRows: number;
  /** Tail bytes read on top of documents.state. */
  readonly tailBytes: number;
  /** Rows folded by this load (it compacts when the tail reached `foldThreshold`). */
  readonly folded: number;
  readonly invalid: number;
}

/**
 * documents.state + every row outside the folded set, as one update. When the
 * foldable part of the tail has at least `foldThreshold` rows the merge is also
 * written back (same CAS as compactDocument), so a long tail is paid for once.
 */
export async function loadDocumentState(db: Queryable, documentId: string, foldThreshold: number): Promise<LoadedState | null> {
  const snap = await readSnapshot(db, documentId, false);
  if (!snap) return null;
  let tailBytes = 0;
  for (const row of snap.rows) tailBytes += row.update.byteLength;
  const base = snap.state ? [snap.state] : [];
  if (snap.rows.length === 0) return { state: snap.state, tailRows: 0, tailBytes: 0, folded: 0, invalid: 0 };

  const foldable = snap.rows.filter((r) => r.tx < snap.horizon);
  if (foldThreshold > 0 && foldable.length >= foldThreshold) {
    const merged = mergeUpdates([...base, ...foldable.map((r) => r.update)]);
    const won = await writeFolded(db, documentId, snap, foldable, merged.state);
    const rest = snap.rows.filter((r) => r.tx >= snap.horizon);
    const final = rest.length === 0 ? merged : mergeUpdates([...(merged.state ? [merged.state] : []), ...rest.map((r) => r.update)]);
    return {
      state: final.state,
      tailRows: snap.rows.length,
      tailBytes,
      folded: won ? foldable.length : 0,
      invalid: merged.invalid + (final === merged ? 0 : final.invalid),
    };
  }
  const merged = mergeUpdates([...base, ...snap.rows.map((r) => r.update)]);
  return { state: merged.state, tailRows: snap.rows.length, tailBytes, folded: 0, invalid: merged.invalid };
}

/**
 * History retention: deletes log rows of a document that are folded into its
 * state and older than `olderThanMs`. Unfolded rows are never deleted.
 */
export async function pruneHistory(db: Queryable, documentId: string, olderThanMs: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `with deleted as (
       delete from collaborations c
        using documents d
        where d.id = $1 and c.document_id = d.id
          and c.position <= d.covered_position and c.tx < d.covered_tx
          and c.created_at < now() - make_interval(secs => $2::double precision / 1000)
       returning 1)
     select count(*)::int as n from deleted`,
    [documentId, olderThanMs],
  );
  return rows[0]?.n ?? 0;
}
