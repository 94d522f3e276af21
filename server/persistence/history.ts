/** Reading the collaboration history (GET /api/documents/:name/history). */
import type { Queryable } from './db.js';

/**
 * One row of the log: one update as appended, or, once a compaction has coarsened the history
 * (history-coarsening.ts), one session's updates within a minute, merged.
 */
export interface HistoryEntry {
  /**
   * Log position: unique, increasing in the order rows were written (a coarsened row is
   * written when its updates are merged); use as the `before` cursor.
   */
  readonly position: number;
  readonly userId: string | null;
  readonly sessionId: string;
  readonly operationType: string;
  /** Bytes of the Yjs update. */
  readonly size: number;
  /** When the (first) update was stored. */
  readonly createdAt: Date;
  /** Updates the entry stands for (1 for an update as appended). */
  readonly updates: number;
  /** When the last of them was stored (createdAt for one update). */
  readonly lastAt: Date;
}

export interface HistoryQuery {
  /** Page size, 1..1000 (default 100). */
  readonly limit?: number | undefined;
  /** Only entries with a position below this (the previous page's last position). */
  readonly before?: number | undefined;
}

export const HISTORY_MAX_LIMIT = 1000;

/**
 * Newest first. An unknown document has no history (empty array); use
 * findDocument() to tell "unknown" from "empty" when a 404 is wanted.
 */
export async function listHistory(db: Queryable, documentName: string, query: HistoryQuery = {}): Promise<HistoryEntry[]> {
  const limit = Math.max(1, Math.min(HISTORY_MAX_LIMIT, Math.trunc(query.limit ?? 100)));
  const before = query.before !== undefined && Number.isFinite(query.before) ? Math.trunc(query.before) : null;
  const { rows } = await db.query<{
    position: number;
    user_id: string | null;
    session_id: string;
    operation_type: string;
    size: number;
    created_at: Date;
    updates: number;
    last_at: Date;
  }>(
    `select c.position, c.user_id, c.session_id, c.operation_type, c.size, c.created_at,
            coalesce(c.merged_updates, 1) as updates, coalesce(c.merged_until, c.created_at) as last_at
       from collaborations c
       join documents d on d.id = c.document_id
      where d.name = $1 and ($2::bigint is null or c.position < $2::bigint)
      order by c.position desc
      limit $3`,
    [documentName, before, limit],
  );
  return rows.map((r) => ({
    position: r.position,
    userId: r.user_id,
    sessionId: r.session_id,
    operationType: r.operation_type,
    size: r.size,
    createdAt: r.created_at,
    updates: r.updates,
    lastAt: r.last_at,
  }));
}
