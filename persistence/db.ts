/**
 * The database seam: a deliberately small, node-postgres-shaped interface so the
 * same SQL runs on a `pg` Pool (production, DATABASE_URL) and on PGlite (embedded
 * default, DATA_DIR). Everything persistence does goes through `Db`.
 *
 * Type conventions both implementations guarantee, so callers never branch:
 * - `bytea` comes back as a `Uint8Array` (pg's Buffer is one) and any
 *   `Uint8Array` is accepted as a parameter, also inside arrays (`$1::bytea[]`).
 * - `int8`/`bigint` comes back as a JS number (log positions and transaction ids
 *   stay far below 2^53).
 * - `timestamptz` comes back as a Date, `json`/`jsonb` as parsed values.
 */
import type { Logger } from 'pino';

export interface QueryResult<T> {
  readonly rows: T[];
}

export interface QueryOptions {
  /**
   * A stable name for a statement the hot path runs over and over: PostgreSQL
   * then parses and plans it once per connection instead of once per call. One
   * name must always go with the same SQL. Implementations without prepared
   * statements ignore it.
   */
  readonly statementName?: string | undefined;
}

/** Something SQL can be sent to: the Db itself or an open transaction. */
export interface Queryable {
  /** One statement with `$n` parameters. */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<T>>;
  /** Several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /**
   * Runs `fn` inside BEGIN/COMMIT on one connection; rolls back and rethrows if
   * `fn` throws. Statements must go through the `tx` handle, not the Db.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Idempotent. */
  close(): Promise<void>;
}

export interface OpenDbOptions {
  /** postgres:// URL; when absent the embedded PGlite in `dataDir` is used. */
  readonly databaseUrl?: string | undefined;
  /** PGlite data folder (created if missing). */
  readonly dataDir: string;
  readonly logger?: Logger | undefined;
  /** pg Pool size (ignored for PGlite, which has a single connection). */
  readonly poolSize?: number | undefined;
}

/**
 * Opens the configured database. Implementations are imported lazily so a
 * PostgreSQL deployment never loads the PGlite WebAssembly and vice versa.
 */
export async function openDb(options: OpenDbOptions): Promise<Db> {
  if (options.databaseUrl) {
    const { createPgDb } = await import('./pg-db.js');
    return createPgDb({ connectionString: options.databaseUrl, logger: options.logger, max: options.poolSize });
  }
  const { createPgliteDb } = await import('./pglite-db.js');
  return createPgliteDb({ dataDir: options.dataDir, logger: options.logger });
}

/**
 * True when retrying the same statement may succeed: lost connections, shutdown,
 * resource exhaustion, serialization failures. False for errors the data itself
 * causes (SQLSTATE classes 22 data exception and 23 integrity violation), which
 * would fail forever if retried unchanged.
 */
export function isTransientDbError(error: unknown): boolean {
  const code = sqlState(error);
  if (code === undefined) return true; // network errors carry errno-style codes, not SQLSTATEs
  const cls = code.slice(0, 2);
  return cls !== '22' && cls !== '23';
}

/** The five-character SQLSTATE of a database error, if it is one. */
export function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
