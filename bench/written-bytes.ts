/**
 * A `Db` that counts the Yjs bytes each write statement hands to PostgreSQL, by destination:
 * what the storage bench reports as write amplification. PostgreSQL here has no
 * pg_stat_statements, so the figure is the sum of the binary parameters of the statements that
 * write `documents.state`, insert log rows (as appended, or coarsened by a compaction) or
 * insert versions — the payload, without row headers, indexes or WAL.
 */
import type { Db, Queryable, QueryOptions, QueryResult } from '../server/persistence/db.js';

export interface WrittenBytes {
  /** documents.state written by folds. */
  state: number;
  /** Log rows as the update log appends them (one per update). */
  appended: number;
  /** Log rows written by compaction in place of appended ones (coarsened history). */
  rewritten: number;
  /** document_versions.state. */
  versions: number;
  /** Statements that wrote documents.state. */
  stateWrites: number;
}

type Destination = 'state' | 'appended' | 'rewritten' | 'versions' | null;

/** Where a statement writes its bytea parameters (null: it writes none we count). */
function destinationOf(sql: string): Destination {
  const text = sql.replace(/\s+/g, ' ');
  if (/insert into document_versions/i.test(text)) return 'versions';
  if (/insert into collaborations/i.test(text)) return /merged_updates/.test(text) ? 'rewritten' : 'appended';
  if (/update documents set state/i.test(text)) return 'state';
  return null;
}

function binaryBytes(params: readonly unknown[] | undefined): number {
  let bytes = 0;
  for (const p of params ?? []) {
    if (p instanceof Uint8Array) bytes += p.byteLength;
    else if (Array.isArray(p)) for (const q of p) if (q instanceof Uint8Array) bytes += q.byteLength;
  }
  return bytes;
}

/** Wraps `inner`; `written` grows with every counted statement (inside transactions too). */
export function countWrittenBytes(inner: Db): { db: Db; written: WrittenBytes } {
  const written: WrittenBytes = { state: 0, appended: 0, rewritten: 0, versions: 0, stateWrites: 0 };
  const count = (sql: string, params: readonly unknown[] | undefined): void => {
    const destination = destinationOf(sql);
    if (destination === null) return;
    const bytes = binaryBytes(params);
    written[destination] += bytes;
    if (destination === 'state' && bytes > 0) written.stateWrites++;
  };
  const wrap = (q: Queryable): Queryable => ({
    query<T>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<T>> {
      count(sql, params);
      return q.query<T>(sql, params, options);
    },
    exec: (sql: string) => q.exec(sql),
  });
  const outer = wrap(inner);
  const db: Db = {
    kind: inner.kind,
    connectionString: inner.connectionString,
    query: outer.query,
    exec: outer.exec,
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => inner.transaction((tx) => fn(wrap(tx))),
    close: () => inner.close(),
  };
  return { db, written };
}
