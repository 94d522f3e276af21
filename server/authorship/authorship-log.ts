/**
 * Reading a document's update log (`collaborations`) for authorship: every row with who
 * sent it and when, whole the first time, then only what a previous read may have missed; a
 * page of rows at a time, in position order (the index does not depend on the order).
 *
 * Why a second read cannot just ask for positions above the highest one seen: positions are
 * taken in one order and committed in another (server/persistence/compaction.ts), so a row
 * below that position may commit after the read. The read therefore also records the
 * transaction-id horizon it ran under (every transaction below it had finished, so all its
 * rows were visible), and the next read takes the rows above the position seen plus those of
 * transactions at or above that horizon. Some come twice; the index folds a row it already
 * has without change (authorship-index.ts).
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
  /** Transaction-id horizon taken before the read. */
  readonly horizon: number;
}

/**
 * Rows per statement. A log of keystrokes has a row per character: read whole in one statement
 * it would take longer than a query may run and be held in memory all at once; page by page,
 * each page is folded and dropped.
 */
export const LOG_PAGE_ROWS = 10_000;

const HORIZON_SQL = 'select pg_snapshot_xmin(pg_current_snapshot())::text::bigint as horizon';

const COLUMNS = 'position, user_id, session_id, operation_type, update, created_at, coalesce(merged_until, created_at) as last_at';

/** Rows above a position ($2), by position, a page ($3) at a time: the ordinary tail, via (document_id, position). */
const ABOVE_SQL = `select ${COLUMNS} from collaborations
   where document_id = $1 and position > $2 order by position limit $3`;

/** Rows at or below the previous read's position ($4) whose transactions had not finished then ($5), paged likewise. */
const LATE_SQL = `select ${COLUMNS} from collaborations
   where document_id = $1 and position > $2 and position <= $4 and tx >= $5 order by position limit $3`;

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
  // Taken first, in a statement of its own: every row of a transaction below it is visible to the next ones.
  const { rows: head } = await db.query<{ horizon: number }>(HORIZON_SQL);
  const horizon = head[0]!.horizon;
  const position = await readPages(db, ABOVE_SQL, [documentId, since?.position ?? 0], fold);
  if (since !== null) await readPages(db, LATE_SQL, [documentId, 0, since.position, since.horizon], fold);
  return { position: Math.max(position, since?.position ?? 0), horizon };
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
