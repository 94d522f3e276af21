/**
 * Reading a document's update log (`collaborations`) for authorship: every row with who
 * sent it and when, whole the first time, then only what a previous read may have missed.
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
}

/** Where a read of one document's log stopped. */
export interface LogCursor {
  /** Highest position read. */
  readonly position: number;
  /** Transaction-id horizon taken before the read. */
  readonly horizon: number;
}

export interface LogRead {
  readonly rows: AuthorshipLogRow[];
  readonly cursor: LogCursor;
}

const HORIZON_SQL = 'select pg_snapshot_xmin(pg_current_snapshot())::text::bigint as horizon';

const COLUMNS = 'position, user_id, session_id, operation_type, update, created_at';

const ALL_SQL = `select ${COLUMNS} from collaborations where document_id = $1`;

// Two index-friendly parts (document_id, position) and (document_id, tx) instead of one OR.
const SINCE_SQL = `select ${COLUMNS} from collaborations where document_id = $1 and position > $2
   union all
   select ${COLUMNS} from collaborations where document_id = $1 and position <= $2 and tx >= $3`;

interface RawRow {
  position: number;
  user_id: string | null;
  session_id: string;
  operation_type: string;
  update: Uint8Array;
  created_at: Date;
}

/** The rows of `documentId` not read up to `since` (all of them without it), in no particular order. */
export async function readAuthorshipLog(db: Queryable, documentId: string, since: LogCursor | null): Promise<LogRead> {
  // Taken first, in a statement of its own: every row of a transaction below it is visible to the next one.
  const { rows: head } = await db.query<{ horizon: number }>(HORIZON_SQL);
  const horizon = head[0]!.horizon;
  const { rows } = since === null ? await db.query<RawRow>(ALL_SQL, [documentId]) : await db.query<RawRow>(SINCE_SQL, [documentId, since.position, since.horizon]);
  let position = since?.position ?? 0;
  const read = rows.map((row): AuthorshipLogRow => {
    if (row.position > position) position = row.position;
    return {
      position: row.position,
      userId: row.user_id,
      sessionId: row.session_id,
      operationType: row.operation_type,
      update: row.update,
      createdAt: row.created_at,
    };
  });
  return { rows: read, cursor: { position, horizon } };
}
