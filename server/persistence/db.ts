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
   * postgres: the URL it connects with, so work that moves large values can open its own
   * connection to the same database on a worker thread. Absent for PGlite (one connection,
   * in this thread).
   */
  readonly connectionString?: string | undefined;
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
 * How a failed statement should be treated by code that retries writes:
 * - `transient`: the same statement may succeed later (lost connection, shutdown,
 *   overload, lock or serialization conflict, statement timeout). Retry.
 * - `permanent`: the statement itself is at fault (bad data, a constraint, a
 *   missing table or permission, a size limit) and fails the same way every time.
 * - `unknown`: a SQLSTATE outside both lists (internal errors, disk trouble...):
 *   the caller decides how many retries it is worth before it gives up.
 */
export type DbErrorClass = 'transient' | 'permanent' | 'unknown';

/** Whole SQLSTATE classes: 08 connection exception, 53 insufficient resources (53300 too_many_connections...). */
const TRANSIENT_CLASSES = new Set(['08', '53']);
const TRANSIENT_CODES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '57014', // query_canceled (statement_timeout)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovering)
]);
/** 22 data exception, 23 integrity violation, 42 syntax / permission / undefined object, 54 program limit exceeded, 0A feature not supported. */
const PERMANENT_CLASSES = new Set(['22', '23', '42', '54', '0A']);
const PERMANENT_CODES = new Set(['2BP01']); // dependent_objects_still_exist

export function classifyDbError(error: unknown): DbErrorClass {
  const code = sqlState(error);
  // No SQLSTATE: the server never answered (ECONNREFUSED, ECONNRESET, timeouts,
  // "Connection terminated unexpectedly").
  if (code === undefined) return 'transient';
  const cls = code.slice(0, 2);
  if (TRANSIENT_CLASSES.has(cls) || TRANSIENT_CODES.has(code)) return 'transient';
  if (PERMANENT_CLASSES.has(cls) || PERMANENT_CODES.has(code)) return 'permanent';
  return 'unknown';
}

// A SQLSTATE class is a digit and a letter-or-digit, or one of PostgreSQL's few
// all-letter classes. The pattern keeps five-letter errno codes (EPIPE, EPERM,
// EBUSY) from passing for SQLSTATEs.
const SQLSTATE = /^(?:[0-9][0-9A-Z]|F0|HV|P0|XX)[0-9A-Z]{3}$/;

/** The five-character SQLSTATE of a database error, if it is one. */
export function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && SQLSTATE.test(code) ? code : undefined;
}

/** The constraint a database error names (pg and PGlite both report it), if any. */
export function violatedConstraint(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const constraint = (error as { constraint?: unknown }).constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}
