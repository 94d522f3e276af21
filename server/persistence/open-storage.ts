/** One call for the server: open the database, migrate it, wrap it in DurableStorage. */
import type { Logger } from 'pino';
import { openDb, type Db } from './db.js';
import { DurableStorage, type DurableStorageOptions } from './durable-storage.js';
import { migrateUp } from './migrations.js';
import { VersionWorker } from '../versions/version-worker.js';

export interface OpenStorageOptions extends Omit<DurableStorageOptions, 'logger' | 'ownsDb'> {
  /** postgres:// URL (DATABASE_URL); absent: embedded PGlite in `dataDir`. */
  readonly databaseUrl?: string | undefined;
  /** PGlite data folder (DATA_DIR, default ./data at the caller). */
  readonly dataDir: string;
  readonly logger: Logger;
  /** pg Pool size (default 10). */
  readonly poolSize?: number | undefined;
  /** Run pending migrations (default true). */
  readonly migrate?: boolean | undefined;
}

/**
 * Opens the database and runs migrations up. `storage.close(timeoutMs)` flushes
 * the log and closes `db`; do not close `db` separately.
 */
export async function openStorage(options: OpenStorageOptions): Promise<{ db: Db; storage: DurableStorage }> {
  const { databaseUrl, dataDir, logger, poolSize, migrate = true, ...tuning } = options;
  const db = await openDb({ databaseUrl, dataDir, logger, poolSize });
  try {
    if (migrate) {
      const applied = await migrateUp(db);
      if (applied.length > 0) logger.info({ applied }, 'database migrations applied');
    }
  } catch (error) {
    await db.close();
    throw error;
  }
  logger.info({ database: db.kind }, 'persistence ready');
  // Folds of large documents run on a worker thread (started on first use), not among the editors.
  const merger = tuning.merger ?? new VersionWorker();
  return { db, storage: new DurableStorage(db, { ...tuning, merger, logger, ownsDb: true }) };
}
