/** Reading the collaboration history (GET /api/documents/:name/history). */
import type { Queryable } from './db.js';

export interface HistoryEntry {
  /** Log position: unique, increasing in insertion order; use as the `before` cursor. */
  readonly position: number;
  readonly userId: string | null;
  readonly sessionId: string;
  readonly operationType: string;
  /** Bytes of the Yjs update. */
  readonly size: number;
  readonly createdAt: Date;
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
  }>(
    `select c.position, c.user_id, c.session_id, c.operation_type, c.size, c.created_at
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
  }));
}
