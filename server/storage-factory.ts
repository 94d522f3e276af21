import type { Logger } from 'pino';
import type { Db } from './persistence/db.js';
import type { Locks } from './cluster/locks.js';
import { MemoryStorage } from './persistence/memory-storage.js';
import { openStorage } from './persistence/open-storage.js';
import type { DocumentStorage } from './persistence/storage.js';
import type { Config } from './config.js';

export interface OpenedStorage {
  readonly storage: DocumentStorage;
  /** The database behind durable storage (null for STORAGE=memory). */
  readonly db: Db | null;
}

/** Memory for STORAGE=memory; otherwise PostgreSQL (DATABASE_URL) or embedded PGlite, migrated. */
export async function openConfiguredStorage(config: Config, logger: Logger, locks?: Locks): Promise<OpenedStorage> {
  if (config.storage === 'memory') {
    logger.warn('STORAGE=memory: documents live only in this process and are lost when it stops');
    return { storage: new MemoryStorage(), db: null };
  }
  const { db, storage } = await openStorage({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    logger,
    historyRetentionMs: config.historyRetentionMs,
    commitDelayMs: config.commitDelayMs,
    maxPendingRows: config.maxPendingUpdates,
    maxPendingBytes: config.maxPendingBytes,
    locks,
  });
  return { storage, db };
}
