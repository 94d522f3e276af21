/**
 * The contract between rooms and persistence. A room loads its document through
 * `load`, hands every accepted update to `append`, and learns through its
 * `CommitListener` when those updates are durable; only then may it acknowledge them.
 *
 * Implementations: `MemoryStorage` (in process, for tests and the in-memory bench
 * reference) and `DurableStorage` (PostgreSQL or PGlite through `Db`).
 */

/** Who made an update; stored with each `collaborations` row. */
export interface AppendMeta {
  /** `users.id`, or null for an anonymous (open-mode) editor. */
  readonly userId: string | null;
  /** Identifies one client connection to one document (stored as session_id). */
  readonly sessionId: string;
}

/**
 * Receives commit notifications for the updates one room appended, in the order it
 * appended them. `count` is how many of that room's updates became durable.
 */
export interface CommitListener {
  committed(count: number): void;
}

export interface StoredDocument {
  /** `documents.id` (uuid). */
  readonly id: string;
  readonly name: string;
  /** The full persisted state as one Yjs update (compacted state + log tail), or null if empty. */
  readonly state: Uint8Array | null;
}

/** Cumulative counters of the write path (exported on /metrics). */
export interface StorageStats {
  /** Appended, not yet durable. */
  readonly pending: number;
  readonly committedRows: number;
  /** Commits (group-commit batches); committedRows / committedBatches is the batch size. */
  readonly committedBatches: number;
  /** Commit attempts that failed (each retried). */
  readonly failedAttempts: number;
  /** Rows given up on because the database rejected them permanently. */
  readonly droppedRows: number;
}

export interface DocumentStorage {
  /** Find (or, in open mode, create) the document and load its persisted state. */
  load(name: string): Promise<StoredDocument>;
  /**
   * Queue an update for group commit. Never throws and never drops: if the database
   * is unreachable the update stays queued and is retried until it commits. The
   * listener is told once it is durable.
   */
  append(documentId: string, update: Uint8Array, meta: AppendMeta, listener: CommitListener): void;
  /**
   * The room for this document unloaded: wait until its queued updates are durable,
   * then (implementation's choice) compact its log.
   */
  release(documentId: string): Promise<void>;
  /** Resolves once every update appended so far is durable. */
  flush(): Promise<void>;
  /** False while commits are failing (drives /readyz). */
  readonly healthy: boolean;
  readonly stats: StorageStats;
  /** Flush what is queued (bounded by the caller's patience) and release resources. */
  close(): Promise<void>;
}
