/**
 * Reading a document's update log (`collaborations`) for authorship: every row with who
 * sent it and when, whole the first time, then only what a previous read may have missed; a
 * page of rows at a time, in position order (the index does not depend on the order).
 *
 * Why a second read cannot just ask for positions above the highest one seen: positions are
 * taken in one order and committed in another (server/persistence/compaction.ts), so a row
 * below that position may commit after the read. The read therefore first takes a snapshot of
 * which transactions are still running (`pg_current_snapshot`: those in progress, and `xmax`,
 * from which on none had started). A row it did not see belongs to one of them, or started
 * later: the next read takes the rows above the position seen, plus those below it from those
 * transactions. Not "every transaction since the oldest one running" (the horizon compaction
 * uses): that horizon is the whole server's, and one long transaction anywhere would make every
 * read take the whole log again. Some rows come twice; the index folds a row it already has
 * without change (authorship-index.ts).
 *
 * Rows a compaction coarsened (one session's updates merged into one row) come back as new
 * rows with the same content: also folded without change. Rows HISTORY_RETENTION_DAYS
 * deleted are simply not there: what only they said is unknown.
 */
import type { Queryable } from '../persistence/db.js';

/** One row of the log as authorship reads it. */
export interface AuthorshipLogRow {
  readonly position: number;
  readonly userId: string | null;
  readonly sessionId: string;
  readonly operationType: string;
  /** One Yjs v1 update (or several of one session, merged). */
  readonly update: Uint8Array;
  /** When the (first) update of the row was stored. */
  readonly createdAt: Date;
  /** When the last of its updates was (createdAt for a row of one update). */
  readonly lastAt: Date;
}

/** Where a read of one document's log stopped. */
export interface LogCursor {
  /** Highest position read. */
  readonly position: number;
  /** Before the read: the first transaction id not started yet, and those still running (at most one per connection to the server). */
  readonly xmax: number;
  readonly running: readonly number[];
}

/**
 * Rows per statement. A log of keystrokes has a row per character: read whole in one statement
 * it would take longer than a query may run and be held in memory all at once; page by page,
 * each page is folded and dropped.
 */
export const LOG_PAGE_ROWS = 10_000;

// The running ids as text: an int8[] would come back as strings anyway.
const SNAPSHOT_SQL = `select pg_snapshot_xmax(s)::text::bigint as xmax,
        array_to_string(array(select x::text from pg_snapshot_xip(s) x), ',') as running
   from pg_current_snapshot() s`;

const COLUMNS = 'position, user_id, session_id, operation_type, update, created_at, coalesce(merged_until, created_at) as last_at';

/** Rows above a position ($2), by position, a page ($3) at a time: the ordinary tail, via (document_id, position). */
const ABOVE_SQL = `select ${COLUMNS} from collaborations
   where document_id = $1 and position > $2 order by position limit $3`;

/**
 * Rows at or below the previous read's position ($4) of transactions that had not started then
 * ($5: its xmax) or were running ($6), paged likewise; two parts, each via (document_id, tx).
 */
const LATE_SQL = `select * from (
     select ${COLUMNS} from collaborations
      where document_id = $1 and position > $2 and position <= $4 and tx >= $5
     union all
     select ${COLUMNS} from collaborations
      where document_id = $1 and position > $2 and position <= $4 and tx = any($6::bigint[])
   ) late order by position limit $3`;

interface RawRow {
  position: number;
  user_id: string | null;
  session_id: string;
  operation_type: string;
  update: Uint8Array;
  created_at: Date;
  last_at: Date;
}

/**
 * Hands `fold` the rows of `documentId` not read up to `since` (all of them without it), a page
 * at a time, and returns where this read stopped.
 */
export async function readAuthorshipLog(
  db: Queryable,
  documentId: string,
  since: LogCursor | null,
  fold: (rows: readonly AuthorshipLogRow[]) => void,
): Promise<LogCursor> {
  // Taken first, in a statement of its own: a row the reads below miss is of a transaction it lists as running or not started.
  const { rows: head } = await db.query<{ xmax: number; running: string }>(SNAPSHOT_SQL);
  const snapshot = head[0]!;
  const running = snapshot.running === '' ? [] : snapshot.running.split(',').map(Number);
  const position = await readPages(db, ABOVE_SQL, [documentId, since?.position ?? 0], fold);
  if (since !== null) await readPages(db, LATE_SQL, [documentId, 0, since.position, since.xmax, since.running], fold);
  return { position: Math.max(position, since?.position ?? 0), xmax: snapshot.xmax, running };
}

/** Runs a paged query (`$2` the position to continue after, `$3` the page size) to its end; returns the highest position read. */
async function readPages(
  db: Queryable,
  sql: string,
  params: readonly unknown[],
  fold: (rows: readonly AuthorshipLogRow[]) => void,
): Promise<number> {
  const [documentId, from, ...rest] = params;
  let after = from as number;
  for (;;) {
    const { rows } = await db.query<RawRow>(sql, [documentId, after, LOG_PAGE_ROWS, ...rest]);
    if (rows.length === 0) return after;
    fold(rows.map(toLogRow));
    after = rows[rows.length - 1]!.position;
    if (rows.length < LOG_PAGE_ROWS) return after;
  }
}

function toLogRow(row: RawRow): AuthorshipLogRow {
  return {
    position: row.position,
    userId: row.user_id,
    sessionId: row.session_id,
    operationType: row.operation_type,
    update: row.update,
    createdAt: row.created_at,
    lastAt: row.last_at,
  };
}
