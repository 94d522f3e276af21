import type { Logger } from 'pino';
import { MemoryStorage } from '../persistence/memory-storage.js';
import type { DocumentStorage } from '../persistence/storage.js';
import type { Config } from './config.js';

export interface OpenedStorage {
  readonly storage: DocumentStorage;
  /** Releases the database connection after the storage is closed. */
  readonly close: () => Promise<void>;
}

/** Memory for STORAGE=memory; otherwise PostgreSQL (DATABASE_URL) or embedded PGlite. */
export async function openConfiguredStorage(config: Config, logger: Logger): Promise<OpenedStorage> {
  if (config.storage === 'memory') {
    logger.warn('STORAGE=memory: documents live only in this process and are lost when it stops');
    const storage = new MemoryStorage();
    return { storage, close: () => storage.close() };
  }
  throw new Error('durable storage is not wired yet');
}
