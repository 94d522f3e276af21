/**
 * `DocumentStorage` on a `Db` (PostgreSQL or PGlite): appends go through the
 * group-committing UpdateLog, loads read documents.state plus the unfolded log
 * tail, and a compaction pass runs when the appended rows grow past a threshold or
 * when the room unloads: it coarsens the log's history and writes the state only
 * when the fold is due (compaction-policy.ts), so what is written scales with the
 * document's growth, not with its size times its edits. Shutdown is bounded: close() flushes for at most its timeout and
 * never waits for compaction, which is only an optimisation.
 */
import type { Logger } from 'pino';
import type { Lock, Locks } from '../cluster/locks.js';
import type { Db } from './db.js';
import {
  compactDocument,
  DEFAULT_HISTORY_WINDOW_MS,
  FOLD_EVERYTHING,
  loadDocumentState,
  pruneHistory,
  type CompactionPlan,
} from './compaction.js';
import { DEFAULT_FOLD_POLICY, passDue, strongerRule, type FoldPolicy, type FoldRule } from './compaction-policy.js';
import { beforeDeadline, deadlineIn } from './deadline.js';
import { createDocument, findDocument, type DocumentRow } from './documents.js';
import {
  DocumentDeletedError,
  DocumentGoneError,
  type AppendMeta,
  type CommitListener,
  type CreateDocumentOptions,
  type DocumentRef,
  type DocumentStorage,
  type StorageStats,
  type StoredDocument,
} from './storage.js';
import { UpdateLog, type UpdateLogOptions } from './update-log.js';
import type { UpdateMerger } from './merge.js';

export interface DurableStorageOptions extends Omit<UpdateLogOptions, 'onCommitted' | 'logger'> {
  readonly logger?: Logger | undefined;
  /**
   * Run a compaction pass once this many rows were appended since the last one (default 1000),
   * or more for a large document (compaction-policy.ts passDue).
   */
  readonly compactThresholdRows?: number | undefined;
  /** ... or this many bytes of updates (default 1 MiB), likewise. */
  readonly compactThresholdBytes?: number | undefined;
  /** A pass writes documents.state once the unfolded tail holds this multiple of its bytes (default 2). */
  readonly foldRatio?: number | undefined;
  /** Updates of one session within this span share one history row (default 60 s). */
  readonly historyWindowMs?: number | undefined;
  /** Compact when a room unloads (default true). */
  readonly compactOnRelease?: boolean | undefined;
  /**
   * Delete folded log rows older than this after each compaction. Default:
   * undefined, keep the collaboration history forever.
   */
  readonly historyRetentionMs?: number | undefined;
  /** Where compaction folds run (default: this thread); openStorage gives a worker thread. */
  readonly merger?: UpdateMerger | undefined;
  /** Close the Db in close() (openStorage sets this). */
  readonly ownsDb?: boolean | undefined;
  /**
   * With several instances: the per-document lock (`doc:lock:{id}`) that lets one instance
   * at a time run the queued compactions of a document; a document whose lock is held
   * elsewhere is skipped. Default: none, every queued compaction runs (one instance, or
   * instances that tolerate the duplicate work).
   */
  readonly locks?: Locks | undefined;
}

const COMPACTION_RETRY_MS = 1000;

/** What this instance knows of a loaded document's log tail. */
interface TailEstimate {
  /** Rows appended and not yet seen by a compaction pass, and their bytes: when to run one. */
  rows: number;
  bytes: number;
  /** The tail held something at the load or got rows since: a release has something to fold. */
  changed: boolean;
  /** Bytes of the document's state as last seen (by the load or a pass): scales when a pass is due. */
  stateBytes: number;
}

function toRef(row: DocumentRow): DocumentRef {
  return { id: row.id, name: row.name, kind: row.kind, projectId: row.projectId };
}

export class DurableStorage implements DocumentStorage {
  private readonly log: UpdateLog;
  private readonly logger: Logger | undefined;
  private readonly thresholdRows: number;
  private readonly thresholdBytes: number;
  private readonly foldPolicy: FoldPolicy;
  private readonly historyWindowMs: number;
  private readonly compactOnRelease: boolean;
  private readonly retentionMs: number | undefined;
  private readonly ownsDb: boolean;
  private readonly locks: Locks | undefined;
  private readonly merger: UpdateMerger | undefined;

  /** Appended rows not yet seen by a compaction pass, per loaded document. */
  private readonly tails = new Map<string, TailEstimate>();
  /**
   * Compactions run one at a time, so they never starve the update log of connections; a
   * document asked for twice runs once, with the stronger rule.
   */
  private readonly compactQueue = new Map<string, FoldRule>();
  private compacting: Promise<void> | undefined;
  /** Re-checks of documents whose tail a compaction could not fold (yet). */
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private quarantinedRows = 0;
  /** Set when close() begins: no compaction starts after that. */
  private closed = false;
  private closing: Promise<boolean> | undefined;

  constructor(
    readonly db: Db,
    options: DurableStorageOptions = {},
  ) {
    this.logger = options.logger;
    this.thresholdRows = options.compactThresholdRows ?? 1000;
    this.thresholdBytes = options.compactThresholdBytes ?? 1024 * 1024;
    this.foldPolicy = { foldRatio: options.foldRatio ?? DEFAULT_FOLD_POLICY.foldRatio };
    this.historyWindowMs = options.historyWindowMs ?? DEFAULT_HISTORY_WINDOW_MS;
    this.compactOnRelease = options.compactOnRelease ?? true;
    this.retentionMs = options.historyRetentionMs;
    this.ownsDb = options.ownsDb ?? false;
    this.locks = options.locks;
    this.merger = options.merger;
    this.log = new UpdateLog(db, {
      ...options,
      logger: options.logger,
      onCommitted: (documentId, rows, bytes) => this.grew(documentId, rows, bytes),
    });
  }

  get healthy(): boolean {
    return this.log.healthy;
  }

  get stats(): StorageStats {
    return { ...this.log.stats, quarantinedRows: this.quarantinedRows };
  }

  async find(name: string): Promise<DocumentRef | null> {
    const row = await findDocument(this.db, name);
    return row ? toRef(row) : null;
  }

  async create(name: string, options: CreateDocumentOptions): Promise<DocumentRef> {
    const { document } = await createDocument(this.db, name, options.kind, options.projectId);
    if (document.deletedAt !== null) throw new DocumentDeletedError(name);
    return toRef(document);
  }

  async load(document: DocumentRef): Promise<StoredDocument> {
    // Found before it went to the trash, loaded after: refused as the find would be now. Read
    // with the state, so it costs no query (nor, on a fresh pool, a connection) of its own.
    const loaded = await loadDocumentState(this.db, document.id, this.thresholdRows, this.plan('due'));
    if (!loaded) throw new DocumentGoneError(`document ${JSON.stringify(document.name)} no longer exists`);
    if (loaded.trashed) throw new DocumentDeletedError(document.name);
    this.noteQuarantined(document.id, loaded.quarantined);
    if (loaded.folded > 0) this.logger?.debug({ document: document.name, folded: loaded.folded }, 'folded log tail on load');
    this.tails.set(document.id, {
      rows: loaded.appendedRows,
      bytes: loaded.appendedBytes,
      changed: loaded.unfoldedRows > 0,
      stateBytes: loaded.state?.byteLength ?? 0,
    });
    return { id: document.id, name: document.name, kind: document.kind, projectId: document.projectId, state: loaded.state };
  }

  admits(bytes: number): boolean {
    return this.log.admits(bytes);
  }

  append(documentId: string, update: Uint8Array, meta: AppendMeta, listener: CommitListener): void {
    this.log.append(documentId, update, meta, listener);
  }

  async release(documentId: string): Promise<void> {
    await this.log.flush();
    // No tail at the load and nothing written since (a reader came and went): reading the whole
    // state back only to find that would cost a document's size in I/O and parsing.
    const tail = this.tails.get(documentId);
    if (this.compactOnRelease && !this.closed && (tail === undefined || tail.changed)) {
      await this.requestCompaction(documentId, 'release');
    }
    this.tails.delete(documentId);
    clearTimeout(this.retryTimers.get(documentId));
    this.retryTimers.delete(documentId);
  }

  flush(): Promise<void> {
    return this.log.flush();
  }

  /**
   * Folds the document's committed log tail now, coarsening its history (also used by tests
   * and the admin API); returns the rows that joined the folded set. Takes no lock: an
   * explicit request runs; the compare-and-set keeps it correct.
   */
  async compact(documentId: string): Promise<number> {
    return this.runPass(documentId, 'always');
  }

  private passDue(tail: TailEstimate): boolean {
    return passDue(this.thresholdRows, this.thresholdBytes, tail.stateBytes, tail.rows, tail.bytes);
  }

  /** The plan of a pass asked for by `rule`, with this storage's policy. */
  private plan(rule: FoldRule): CompactionPlan {
    return { ...FOLD_EVERYTHING, rule, policy: this.foldPolicy, historyWindowMs: this.historyWindowMs, merger: this.merger };
  }

  private async runPass(documentId: string, rule: FoldRule): Promise<number> {
    const result = await compactDocument(this.db, documentId, 1, this.plan(rule));
    this.noteQuarantined(documentId, result.quarantined);
    const tail = this.tails.get(documentId);
    if (tail && result.settledRows > 0) {
      tail.rows = Math.max(0, tail.rows - result.settledRows);
      tail.bytes = tail.rows === 0 ? 0 : Math.max(0, tail.bytes - result.settledBytes);
    }
    if (tail && result.stateBytes !== null) tail.stateBytes = result.stateBytes;
    if (result.wroteState)
      this.logger?.debug({ documentId, folded: result.folded, coarsened: result.coarsenedRows }, 'folded the log tail');
    if (result.folded > 0 && this.retentionMs !== undefined) await pruneHistory(this.db, documentId, this.retentionMs);
    return result.folded;
  }

  /**
   * Flushes the log for at most `timeoutMs`, drops queued compactions and does not
   * wait for a running one beyond that time (abandoning it is safe: it either
   * wins its compare-and-set or changes nothing), then closes the Db if owned.
   * Idempotent; later calls get the first call's result.
   */
  close(timeoutMs: number): Promise<boolean> {
    this.closing ??= this.shutdown(timeoutMs);
    return this.closing;
  }

  private async shutdown(timeoutMs: number): Promise<boolean> {
    const deadline = deadlineIn(timeoutMs);
    this.closed = true;
    this.compactQueue.clear();
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    const drained = await this.log.close(timeoutMs);
    if (!drained) this.logger?.error({ pending: this.log.stats.pending }, 'storage closed before every update was committed');
    if (
      this.compacting &&
      !(await beforeDeadline(
        this.compacting.then(() => true),
        deadline,
        false,
      ))
    ) {
      this.logger?.warn('abandoning a running compaction at shutdown');
    }
    // After the last compaction: a fold still running on the merger would otherwise fail.
    if (this.ownsDb) await this.merger?.close?.();
    if (this.ownsDb) {
      const dbClosed = this.db.close().then(
        () => true,
        (error: unknown) => {
          this.logger?.warn({ err: error }, 'closing the database failed');
          return true;
        },
      );
      if (!(await beforeDeadline(dbClosed, deadline, false))) this.logger?.warn('database still closing at the shutdown deadline');
    }
    return drained;
  }

  private noteQuarantined(documentId: string, positions: readonly number[]): void {
    if (positions.length === 0) return;
    this.quarantinedRows += positions.length;
    for (const position of positions) {
      this.logger?.warn(
        { documentId, position },
        'stored update does not apply; quarantined (kept in the log, left out of the folded state)',
      );
    }
  }

  private grew(documentId: string, rows: number, bytes: number): void {
    const tail = this.tails.get(documentId);
    if (!tail) return; // not loaded here (e.g. released): the next load counts it
    tail.rows += rows;
    tail.changed = true;
    tail.bytes += bytes;
    if (this.passDue(tail)) {
      void this.requestCompaction(documentId, 'due');
    }
  }

  /** Queues a compaction (deduplicated per document) and resolves when the queue has run it. */
  private requestCompaction(documentId: string, rule: FoldRule): Promise<void> {
    if (this.closed) return Promise.resolve();
    const queued = this.compactQueue.get(documentId);
    this.compactQueue.set(documentId, queued === undefined ? rule : strongerRule(queued, rule));
    this.compacting ??= this.runCompactions().finally(() => {
      this.compacting = undefined;
    });
    return this.compacting;
  }

  private async runCompactions(): Promise<void> {
    while (this.compactQueue.size > 0 && !this.closed) {
      const [next] = this.compactQueue;
      if (next === undefined) break;
      const [documentId, rule] = next;
      this.compactQueue.delete(documentId);
      const lock = await this.lockForCompaction(documentId);
      if (lock === null) {
        // Another instance is compacting it (or the lock cannot be taken): skip. Nothing is
        // retried from here; the next commit over the threshold or the release asks again.
        this.logger?.debug({ documentId }, 'compaction skipped: the document is locked elsewhere');
        continue;
      }
      try {
        if (!this.closed) await this.runPass(documentId, rule);
      } catch (error) {
        // Compaction is an optimisation: the log still holds everything.
        this.logger?.warn({ err: error, documentId }, 'compaction failed');
      } finally {
        await lock
          ?.release()
          .catch((error: unknown) => this.logger?.warn({ err: error, documentId }, 'compaction lock not released; it expires by its TTL'));
      }
      this.retryIfStillLong(documentId);
    }
  }

  /**
   * The document's lock when `locks` is configured (undefined: no locking, null: held
   * elsewhere). The lock only saves duplicate work — concurrent compactions are already
   * safe through the compare-and-set on the covered pair (compaction.ts) — so a lock that
   * cannot be asked for (acquire throws) does not stop the compaction, and one that expires
   * under a long compaction costs at most a duplicate that loses the CAS.
   */
  private async lockForCompaction(documentId: string): Promise<Lock | null | undefined> {
    if (!this.locks) return undefined;
    try {
      return await this.locks.acquire(documentId);
    } catch (error) {
      this.logger?.warn({ err: error, documentId }, 'compaction lock could not be asked for; compacting without it');
      return undefined;
    }
  }

  /**
   * A compaction reads only rows of transactions older than the oldest one still
   * running on the server, and may fail outright; if the appended rows are still over
   * the threshold, look again in a second rather than waiting for the next append.
   */
  private retryIfStillLong(documentId: string): void {
    const tail = this.tails.get(documentId);
    if (this.closed || !tail || this.retryTimers.has(documentId)) return;
    if (!this.passDue(tail)) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(documentId);
      void this.requestCompaction(documentId, 'due');
    }, COMPACTION_RETRY_MS);
    timer.unref();
    this.retryTimers.set(documentId, timer);
  }
}
