/**
 * `DocumentStorage` on a `Db` (PostgreSQL or PGlite): appends go through the
 * group-committing UpdateLog, loads read documents.state plus the unfolded log
 * tail, and compaction folds the tail when it grows past a threshold or when the
 * room unloads.
 */
import type { Logger } from 'pino';
import type { Db } from './db.js';
import { compactDocument, loadDocumentState, pruneHistory } from './compaction.js';
import { DEFAULT_PROJECT_ID, ensureDocument } from './documents.js';
import type { AppendMeta, CommitListener, DocumentStorage, StoredDocument } from './storage.js';
import { UpdateLog, type UpdateLogOptions, type UpdateLogStats } from './update-log.js';

export interface DurableStorageOptions extends Omit<UpdateLogOptions, 'onCommitted' | 'logger'> {
  readonly logger?: Logger | undefined;
  /** Compact a document once this many log rows accumulated since its last fold (default 1000). */
  readonly compactThresholdRows?: number | undefined;
  /** ... or this many bytes of updates (default 1 MiB). */
  readonly compactThresholdBytes?: number | undefined;
  /** Compact when a room unloads (default true). */
  readonly compactOnRelease?: boolean | undefined;
  /**
   * Delete folded log rows older than this after each compaction. Default:
   * undefined, keep the collaboration history forever.
   */
  readonly historyRetentionMs?: number | undefined;
  /** Where documents created on first use go (default: the open-mode project). */
  readonly defaultProjectId?: string | undefined;
  /** How long close() waits for queued updates to commit (default 10 s). */
  readonly closeTimeoutMs?: number | undefined;
  /** Close the Db in close() (openStorage sets this). */
  readonly ownsDb?: boolean | undefined;
}

const COMPACTION_RETRY_MS = 1000;

interface TailEstimate {
  rows: number;
  bytes: number;
}

export class DurableStorage implements DocumentStorage {
  private readonly log: UpdateLog;
  private readonly logger: Logger | undefined;
  private readonly thresholdRows: number;
  private readonly thresholdBytes: number;
  private readonly compactOnRelease: boolean;
  private readonly retentionMs: number | undefined;
  private readonly defaultProjectId: string;
  private readonly closeTimeoutMs: number;
  private readonly ownsDb: boolean;

  /** Log rows this instance knows are unfolded, per loaded document. */
  private readonly tails = new Map<string, TailEstimate>();
  /** Compactions run one at a time, so they never starve the update log of connections. */
  private readonly compactQueue = new Set<string>();
  private compacting: Promise<void> | undefined;
  /** Re-checks of documents whose tail a compaction could not fold (yet). */
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(
    readonly db: Db,
    options: DurableStorageOptions = {},
  ) {
    this.logger = options.logger;
    this.thresholdRows = options.compactThresholdRows ?? 1000;
    this.thresholdBytes = options.compactThresholdBytes ?? 1024 * 1024;
    this.compactOnRelease = options.compactOnRelease ?? true;
    this.retentionMs = options.historyRetentionMs;
    this.defaultProjectId = options.defaultProjectId ?? DEFAULT_PROJECT_ID;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
    this.ownsDb = options.ownsDb ?? false;
    this.log = new UpdateLog(db, {
      ...options,
      logger: options.logger,
      onCommitted: (documentId, rows, bytes) => this.grew(documentId, rows, bytes),
    });
  }

  get healthy(): boolean {
    return this.log.healthy;
  }

  get stats(): UpdateLogStats {
    return this.log.stats;
  }

  async load(name: string): Promise<StoredDocument> {
    const doc = await ensureDocument(this.db, name, this.defaultProjectId);
    const loaded = await loadDocumentState(this.db, doc.id, this.thresholdRows);
    if (!loaded) throw new Error(`document ${JSON.stringify(name)} was deleted while loading`);
    if (loaded.invalid > 0) this.logger?.warn({ document: name, invalid: loaded.invalid }, 'skipped undecodable updates in the log');
    if (loaded.folded > 0) this.logger?.debug({ document: name, folded: loaded.folded }, 'folded log tail on load');
    const unfolded = loaded.tailRows - loaded.folded;
    this.tails.set(doc.id, { rows: unfolded, bytes: unfolded > 0 ? loaded.tailBytes : 0 });
    return { id: doc.id, name, state: loaded.state };
  }

  append(documentId: string, update: Uint8Array, meta: AppendMeta, listener: CommitListener): void {
    this.log.append(documentId, update, meta, listener);
  }

  async release(documentId: string): Promise<void> {
    await this.log.flush();
    if (this.compactOnRelease && !this.closed) {
      await this.requestCompaction(documentId);
    }
    this.tails.delete(documentId);
    clearTimeout(this.retryTimers.get(documentId));
    this.retryTimers.delete(documentId);
  }

  flush(): Promise<void> {
    return this.log.flush();
  }

  /** Folds the document's committed log tail now (also used by tests and the admin API). */
  async compact(documentId: string): Promise<number> {
    const result = await compactDocument(this.db, documentId, 1);
    if (result.invalid > 0) this.logger?.warn({ documentId, invalid: result.invalid }, 'skipped undecodable updates in the log');
    if (result.folded > 0) {
      const tail = this.tails.get(documentId);
      if (tail) {
        tail.rows = Math.max(0, tail.rows - result.folded);
        if (tail.rows === 0) tail.bytes = 0;
      }
      if (this.retentionMs !== undefined) await pruneHistory(this.db, documentId, this.retentionMs);
    }
    return result.folded;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const drained = await this.log.close(this.closeTimeoutMs);
    if (!drained) this.logger?.error('storage closed before every update was committed');
    this.compactQueue.clear();
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    await this.compacting;
    if (this.ownsDb) await this.db.close();
  }

  private grew(documentId: string, rows: number, bytes: number): void {
    const tail = this.tails.get(documentId);
    if (!tail) return; // not loaded here (e.g. released): the next load counts it
    tail.rows += rows;
    tail.bytes += bytes;
    if (tail.rows >= this.thresholdRows || tail.bytes >= this.thresholdBytes) {
      void this.requestCompaction(documentId);
    }
  }

  /** Queues a compaction (deduplicated per document) and resolves when the queue has run it. */
  private requestCompaction(documentId: string): Promise<void> {
    this.compactQueue.add(documentId);
    this.compacting ??= this.runCompactions().finally(() => {
      this.compacting = undefined;
    });
    return this.compacting;
  }

  private async runCompactions(): Promise<void> {
    while (this.compactQueue.size > 0 && !this.closed) {
      const [documentId] = this.compactQueue;
      if (documentId === undefined) break;
      this.compactQueue.delete(documentId);
      try {
        await this.compact(documentId);
      } catch (error) {
        // Compaction is an optimisation: the log still holds everything.
        this.logger?.warn({ err: error, documentId }, 'compaction failed');
      }
      this.retryIfStillLong(documentId);
    }
  }

  /**
   * A compaction folds only rows of transactions older than the oldest one still
   * running on the server, and may fail outright; if the tail is still over the
   * threshold, look again in a second rather than waiting for the next append.
   */
  private retryIfStillLong(documentId: string): void {
    const tail = this.tails.get(documentId);
    if (this.closed || !tail || this.retryTimers.has(documentId)) return;
    if (tail.rows < this.thresholdRows && tail.bytes < this.thresholdBytes) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(documentId);
      void this.requestCompaction(documentId);
    }, COMPACTION_RETRY_MS);
    timer.unref();
    this.retryTimers.set(documentId, timer);
  }
}
