/** Public surface of the persistence layer. */
export type {
  AppendMeta,
  CommitListener,
  CreateDocumentOptions,
  DocumentRef,
  DocumentStorage,
  StorageStats,
  StoredDocument,
} from './storage.js';
export { DocumentGoneError } from './storage.js';
export { MemoryStorage } from './memory-storage.js';
export { openDb, classifyDbError, sqlState, type DbErrorClass, type Db, type Queryable, type QueryResult, type OpenDbOptions } from './db.js';
export { migrateUp, migrateDown, migrationStatus, loadMigrations, defaultMigrationsDir } from './migrations.js';
export { DurableStorage, type DurableStorageOptions } from './durable-storage.js';
export { openStorage, type OpenStorageOptions } from './open-storage.js';
export { listHistory, type HistoryEntry, type HistoryQuery } from './history.js';
export { findDocument, createDocument, DEFAULT_PROJECT_ID, type CreatedDocument, type DocumentRow, type DocumentKind } from './documents.js';
export { compactDocument, loadDocumentState, pruneHistory } from './compaction.js';
export { withUserContext, readAs, READER_ROLE } from './user-context.js';
