/** `Db` on a node-postgres Pool (production; DATABASE_URL). */
import pg from 'pg';
import type { Logger } from 'pino';
import type { Db, Queryable, QueryOptions, QueryResult } from './db.js';

export interface PgDbOptions {
  readonly connectionString: string;
  readonly logger?: Logger | undefined;
  /** Pool size; the update log needs one connection, compaction and API reads the rest. */
  readonly max?: number | undefined;
  /** Fail a connection attempt instead of hanging while the server is unreachable. */
  readonly connectionTimeoutMillis?: number | undefined;
  /**
   * Give up on a statement after this long (default 30 s) instead of waiting
   * forever on a silent network; the pool then discards that connection.
   */
  readonly queryTimeoutMillis?: number | undefined;
  /** The connections' name in pg_stat_activity. */
  readonly applicationName?: string | undefined;
}

const INT8_OID = 20;

/**
 * Per-pool type parsers (not pg's process-global registry, which other code in
 * the process may rely on): int8 as number, everything else default. bytea is
 * already a Buffer, which is a Uint8Array.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format ?? 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

export function createPgDb(options: PgDbOptions): Db {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    query_timeout: options.queryTimeoutMillis ?? 30_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: options.applicationName,
    types,
  });
  // An idle client whose server went away emits 'error' on the pool; unhandled it
  // would crash the process. The next query simply gets a fresh connection.
  pool.on('error', (error) => {
    options.logger?.warn({ err: error }, 'postgres idle connection error');
  });

  let closed: Promise<void> | undefined;

  const wrap = (client: pg.Pool | pg.PoolClient): Queryable => ({
    async query<T>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<T>> {
      const result = await client.query({ text: sql, values: params as unknown[] | undefined, name: options?.statementName });
      return { rows: result.rows as T[] };
    },
    async exec(sql: string): Promise<void> {
      // No parameters: pg uses the simple protocol, which accepts several statements.
      await client.query(sql);
    },
  });

  const direct = wrap(pool);
  return {
    kind: 'postgres',
    connectionString: options.connectionString,
    query: direct.query,
    exec: direct.exec,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('begin');
        const result = await fn(wrap(client));
        await client.query('commit');
        return result;
      } catch (error) {
        try {
          await client.query('rollback');
        } catch (rollbackError) {
          // The connection itself is gone; make the pool discard it.
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        }
        throw error;
      } finally {
        client.release(broken);
      }
    },
    close(): Promise<void> {
      closed ??= pool.end();
      return closed;
    },
  };
}
