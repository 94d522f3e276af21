/**
 * `Db` on PGlite (PostgreSQL compiled to WebAssembly), file-backed in DATA_DIR:
 * the zero-install default. It is one connection in this process; PGlite queues
 * statements internally and holds a transaction's statements together.
 */
import { mkdir } from 'node:fs/promises';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Logger } from 'pino';
import type { Db, Queryable, QueryResult } from './db.js';

export interface PgliteDbOptions {
  readonly dataDir: string;
  readonly logger?: Logger | undefined;
}

export async function createPgliteDb(options: PgliteDbOptions): Promise<Db> {
  await mkdir(options.dataDir, { recursive: true });
  const started = performance.now();
  // Default (strict) durability: PGlite syncs its files after every statement
  // outside a transaction and at COMMIT, which the ack-after-commit promise needs.
  const pglite = await PGlite.create(options.dataDir);
  options.logger?.info({ dataDir: options.dataDir, ms: Math.round(performance.now() - started) }, 'embedded PGlite database opened');

  // PGlite already returns int8 as number and bytea as Uint8Array, matching pg-db.
  const wrap = (target: PGlite | Transaction): Queryable => ({
    async query<T>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      const result = await target.query<T>(sql, params as unknown[] | undefined);
      return { rows: result.rows };
    },
    async exec(sql: string): Promise<void> {
      await target.exec(sql);
    },
  });

  let closed: Promise<void> | undefined;
  const direct = wrap(pglite);
  return {
    kind: 'pglite',
    query: direct.query,
    exec: direct.exec,
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return pglite.transaction((tx) => fn(wrap(tx)));
    },
    close(): Promise<void> {
      closed ??= pglite.close();
      return closed;
    },
  };
}
