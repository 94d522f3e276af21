/**
 * The contract between rooms and persistence. Opening a document is two steps, so that
 * authorization can run between them: `find` (or `create`) resolves a name to a
 * `DocumentRef` (id, project, kind) without reading its state; `load` reads the state.
 * A room hands every accepted update to `append` and learns through its
 * `CommitListener` when those updates are durable (or refused for good); only then
 * may it acknowledge them.
 *
 * Implementations: `MemoryStorage` (in process, for tests and the in-memory bench
 * reference) and `DurableStorage` (PostgreSQL or PGlite through `Db`).
 */
import type { DocumentKind } from './documents.js';

export type { DocumentKind };

/** Who made an update; stored with each `collaborations` row. */
export interface AppendMeta {
  /** `users.id`, or null for an anonymous (open-mode) editor. */
  readonly userId: string | null;
  /** Identifies one client connection to one document (stored as session_id). */
  readonly sessionId: string;
  /** `collaborations.operation_type`; absent: 'update' (a version restore says 'restore'). */
  readonly operationType?: string | undefined;
}

/**
 * Receives the outcome of the updates one room appended, in the order it appended
 * them: every update is reported exactly once, either in a `committed` count or by a
 * `refused` call, and the calls come in append order.
 */
export interface CommitListener {
  /** The next `count` of this listener's updates are durable. */
  committed(count: number): void;
  /**
   * The next one of this listener's updates was refused for good by the database
   * (it is not stored and never will be). `meta` is the object it was appended with.
   */
  refused(meta: AppendMeta, error: Error): void;
}

/** A document's identity, without its state. */
export interface DocumentRef {
  /** `documents.id` (uuid). */
  readonly id: string;
  readonly name: string;
  readonly kind: DocumentKind;
  readonly projectId: string;
}

export interface StoredDocument extends DocumentRef {
  /** The full persisted state as one Yjs update (compacted state + log tail), or null if empty. */
  readonly state: Uint8Array | null;
}

export interface CreateDocumentOptions {
  readonly kind: DocumentKind;
  /** Default: the open-mode project. */
  readonly projectId?: string | undefined;
}

/** The document was deleted between `find` and `load` (or while its room was live). */
export class DocumentGoneError extends Error {}

/**
 * The document is in the trash (or its name belongs to one that is): it cannot be opened or
 * created until it is restored (docs/contracts.md "Programmable documents").
 */
export class DocumentDeletedError extends DocumentGoneError {
  constructor(name: string) {
    super(`document ${JSON.stringify(name)} is deleted`);
  }
}

/** Cumulative counters of the write path (exported on /metrics). */
export interface StorageStats {
  /** Appended, not yet durable. */
  readonly pending: number;
  /** Update bytes appended and not yet durable. */
  readonly pendingBytes: number;
  readonly committedRows: number;
  /** Commits (group-commit batches); committedRows / committedBatches is the batch size. */
  readonly committedBatches: number;
  /** Commit attempts that failed with a retryable error (each retried). */
  readonly failedAttempts: number;
  /** Rows the database refused permanently (their authors were told). */
  readonly refusedRows: number;
  /** Updates turned away before they were applied because the write queue was full. */
  readonly rejectedFull: number;
  /** Stored rows that failed to apply when a document was loaded or compacted (kept out of the folded state). */
  readonly quarantinedRows: number;
}

export interface DocumentStorage {
  /** The document of that name (its current name or a former one), or null (also when it is in the trash); never creates one. */
  find(name: string): Promise<DocumentRef | null>;
  /**
   * Creates the document; returns the existing one if it already exists (also when racing
   * another creator). Rejects with DocumentDeletedError when the name belongs to a document
   * in the trash: it is never silently created again.
   */
  create(name: string, options: CreateDocumentOptions): Promise<DocumentRef>;
  /** Loads the persisted state; rejects with DocumentGoneError if the document no longer exists (DocumentDeletedError: it is in the trash). */
  load(document: DocumentRef): Promise<StoredDocument>;
  /**
   * True while the write queue has room for an update of `bytes` bytes. A caller that
   * gets false must refuse the update (not apply it): `append` itself never drops.
   */
  admits(bytes: number): boolean;
  /**
   * Queue an update for group commit. Never throws and never drops: if the database
   * is unreachable the update stays queued and is retried until it commits, unless
   * the database refuses it permanently. The listener is told either way.
   */
  append(documentId: string, update: Uint8Array, meta: AppendMeta, listener: CommitListener): void;
  /**
   * The room for this document unloaded: wait until its queued updates are durable,
   * then (implementation's choice) compact its log.
   */
  release(documentId: string): Promise<void>;
  /** Resolves once every update appended so far is durable (or refused). */
  flush(): Promise<void>;
  /** False while commits are failing (drives /readyz). */
  readonly healthy: boolean;
  readonly stats: StorageStats;
  /**
   * Flushes what is queued for at most `timeoutMs` (no compaction), then releases
   * resources. Resolves true when everything appended was committed.
   */
  close(timeoutMs: number): Promise<boolean>;
}
