/**
 * Coarsening the update log: which appended rows a compaction merges into one history row.
 *
 * The log is kept as history (who changed the document, and when), but one row per update
 * costs a row header, an entry in each of the log's indexes and the session's metadata for an
 * update of a few dozen bytes: the row costs many times its update. So compaction replaces the
 * rows it has seen apply with one row per session and time window: the updates of one session
 * (same session_id, user and operation type) whose times lie within `windowMs` of the first,
 * merged with Y.mergeUpdates into one update. The row keeps who (user_id, session_id), when
 * (created_at is the first update's time, merged_until the last's: every update is dated to
 * within the window) and how many (merged_updates); the log as a whole still holds every
 * update's content, so applying all of its rows still gives the document. The exact state at
 * each point in time is what versions keep (document_versions), not the log.
 *
 * Why merge rows rather than invent a compact format: every reader of `collaborations` (tests,
 * the history API, the version worker) keeps reading the same columns, and a merged row is an
 * ordinary Yjs update. Why per session and window rather than per fold: a row must say who and
 * when, and a window bounds how vague "when" gets.
 *
 * Only small updates are merged: one of a few hundred bytes or more already outweighs its row,
 * and rewriting it would cost more than the row saves.
 *
 * Only rows whose updates applied are given here (the caller has applied each one on top of
 * the stored state): a merged row is then known to apply as well, so a bad update can never
 * take good ones into quarantine with it.
 */
import * as Y from 'yjs';

/** A log row as compaction reads it. */
export interface LogEntry {
  readonly position: number;
  /** Id of the inserting transaction (see compaction.ts). */
  readonly tx: number;
  readonly update: Uint8Array;
  readonly userId: string | null;
  readonly sessionId: string;
  readonly operationType: string;
  readonly createdAt: Date;
}

/** One history row to write in place of `positions`. */
export interface CoarsenedRow {
  /** The appended rows it replaces, ascending. */
  readonly positions: readonly number[];
  readonly userId: string | null;
  readonly sessionId: string;
  readonly operationType: string;
  readonly update: Uint8Array;
  /** The highest transaction id of the rows it replaces (compaction.ts says why). */
  readonly tx: number;
  readonly createdAt: Date;
  readonly lastAt: Date;
  /** Updates it stands for. */
  readonly updates: number;
  /** Bytes of the rows it replaces. */
  readonly replacedBytes: number;
}

export interface CoarseningOptions {
  /** Updates of one session within this span of the first share a row. */
  readonly windowMs: number;
}

/**
 * Bounds of one merged row: Y.mergeUpdates slows down sharply with the number of inputs, and a
 * row is read whole by every load until it is folded.
 */
const MAX_UPDATES_PER_ROW = 1000;
const MAX_BYTES_PER_ROW = 1024 * 1024;
/** Updates from this size on keep their own row (see above). */
export const COARSEN_BELOW_BYTES = 256;

interface Group {
  readonly key: string;
  readonly entries: LogEntry[];
  bytes: number;
}

const sessionKey = (e: LogEntry): string => JSON.stringify([e.sessionId, e.userId, e.operationType]);

/**
 * Groups `entries` (appended rows that applied) into history rows, one for each group of two
 * or more; a row alone in its group stays as it is (rewriting it would gain nothing).
 */
export function coarsenLog(entries: readonly LogEntry[], options: CoarseningOptions): CoarsenedRow[] {
  const sorted = [...entries].sort((a, b) => a.position - b.position);
  const open = new Map<string, Group>();
  const closed: Group[] = [];
  for (const entry of sorted) {
    if (entry.update.byteLength >= COARSEN_BELOW_BYTES) continue;
    const key = sessionKey(entry);
    const group = open.get(key);
    const first = group?.entries[0];
    if (
      group &&
      first &&
      entry.createdAt.getTime() - first.createdAt.getTime() < options.windowMs &&
      group.entries.length < MAX_UPDATES_PER_ROW &&
      group.bytes + entry.update.byteLength <= MAX_BYTES_PER_ROW
    ) {
      group.entries.push(entry);
      group.bytes += entry.update.byteLength;
      continue;
    }
    if (group) closed.push(group);
    open.set(key, { key, entries: [entry], bytes: entry.update.byteLength });
  }
  closed.push(...open.values());

  const rows: CoarsenedRow[] = [];
  for (const group of closed) {
    if (group.entries.length === 1) continue;
    const row = mergeGroup(group.entries);
    if (row) rows.push(row);
  }
  return rows.sort((a, b) => (a.positions[0] as number) - (b.positions[0] as number));
}

/** The history row for one group; null when Yjs cannot merge them (the rows then stay as they are). */
function mergeGroup(entries: readonly LogEntry[]): CoarsenedRow | null {
  const first = entries[0] as LogEntry;
  const last = entries[entries.length - 1] as LogEntry;
  let update: Uint8Array;
  try {
    update = Y.mergeUpdates(entries.map((e) => e.update));
  } catch {
    return null;
  }
  let tx = 0;
  let replacedBytes = 0;
  for (const e of entries) {
    if (e.tx > tx) tx = e.tx;
    replacedBytes += e.update.byteLength;
  }
  return {
    positions: entries.map((e) => e.position),
    userId: first.userId,
    sessionId: first.sessionId,
    operationType: first.operationType,
    update,
    tx,
    createdAt: first.createdAt,
    lastAt: last.createdAt,
    updates: entries.length,
    replacedBytes,
  };
}
