/**
 * The update log's write path: group commit into `collaborations`.
 *
 * `append` is on the rooms' hot path, so it only pushes onto an in-memory queue.
 * One flusher drains the queue: when idle it starts on the next turn of the event
 * loop (so everything appended in the current I/O phase goes together) and while a
 * commit is in flight (and for `commitDelayMs` after it, under light load) new
 * appends pile up and go in the next batch — the classic group commit: one prepared
 * INSERT ... SELECT FROM unnest(...) statement, one round trip, one commit for up
 * to `maxBatchRows` updates of any number of documents.
 *
 * Nothing leaves the queue before the database answered for it. What a failure
 * means depends on its class (db.ts `classifyDbError`):
 * - transient (connection lost, shutdown, overload, conflicts): the same head of
 *   the queue is retried with exponential backoff, forever; `healthy` is false
 *   until a commit succeeds and listeners hear nothing meanwhile.
 * - permanent (the data or statement is at fault): retrying the batch would fail
 *   forever, so its rows go one at a time; a row that still fails permanently is
 *   refused and its listener told (`refused`), the others commit.
 * - unknown (any other SQLSTATE): retried like a transient error, but once the
 *   same head of the queue failed that way UNKNOWN_ATTEMPTS times in a row it is
 *   treated as permanent, so no error can stall the log (and every room's acks)
 *   for good.
 * Every appended update is reported exactly once, committed or refused, in
 * append order per listener. A failure during COMMIT is ambiguous (the rows may
 * be in), so a retry can write a row twice; Yjs updates are idempotent and loads
 * merge them, so a duplicate is harmless while a lost row would not be.
 *
 * The queue is bounded by `admits`: callers ask before applying an update and
 * turn it away when the queue is full (the database has been unreachable for a
 * while); `append` itself never drops.
 */
import type { Logger } from 'pino';
import type { Db } from './db.js';
import { classifyDbError, sqlState, violatedConstraint } from './db.js';
import { beforeDeadline, deadlineIn } from './deadline.js';
import { DocumentGoneError, type AppendMeta, type CommitListener, type StorageStats } from './storage.js';
import { markChangedSql } from '../webhooks/outbox.js';

export interface UpdateLogOptions {
  readonly logger?: Logger | undefined;
  /** Most rows per commit (default 1000). */
  readonly maxBatchRows?: number | undefined;
  /** Most update bytes per commit; a single larger update still goes alone (default 4 MiB). */
  readonly maxBatchBytes?: number | undefined;
  /**
   * After a commit, wait up to this long before the next one unless `commitEarlyRows`
   * are already queued (default 0: go at once). A steady trickle of edits then
   * shares commits — each commit costs a round trip, a WAL flush and two process
   * wake-ups whatever its size — at the price of up to this much ack latency. The
   * first update after an idle spell is never delayed.
   */
  readonly commitDelayMs?: number | undefined;
  /** Queued rows that end a `commitDelayMs` wait early (default 64). */
  readonly commitEarlyRows?: number | undefined;
  /** First retry delay after a failed commit (default 50 ms), doubling up to `retryMaxMs` (default 2 s). */
  readonly retryMinMs?: number | undefined;
  readonly retryMaxMs?: number | undefined;
  /** Report unhealthy while one commit attempt has been running this long (default 5 s). */
  readonly stallMs?: number | undefined;
  /** `admits` turns updates away while this many rows are queued (default 100,000). */
  readonly maxPendingRows?: number | undefined;
  /** ... or when the update would take the queued bytes past this (default 256 MiB). */
  readonly maxPendingBytes?: number | undefined;
  /** Called after each commit with how much was written per document. */
  readonly onCommitted?: ((documentId: string, rows: number, bytes: number) => void) | undefined;
}

/** The update log's counters are the storage's write-path stats (quarantine is compaction's). */
export type UpdateLogStats = Omit<StorageStats, 'quarantinedRows'>;

interface Entry {
  readonly documentId: string;
  readonly update: Uint8Array;
  /** meta.userId, until an unknown user makes us store the row without one. */
  userId: string | null;
  /** The caller's object, handed back in `refused`. */
  readonly meta: AppendMeta;
  readonly listener: CommitListener;
}

// The updates travel as ONE binary parameter (their concatenation) cut apart by
// offset and length: pg sends a bytea[] as a hex text literal, which doubles the
// bytes and costs a parse on both ends, while a lone bytea goes over as-is. The
// statement is prepared once per connection (statementName) and planned once.
// The same statement marks the batch's documents changed for webhooks (one row per document,
// none while no webhook exists): their events then commit exactly when the edits do.
const INSERT_SQL = `
with logged as (
insert into collaborations (document_id, user_id, session_id, operation_type, update, size)
select d, u, s, coalesce(op, 'update'), substring($4::bytea from o for l), l
  from unnest($1::uuid[], $2::uuid[], $3::text[], $5::int4[], $6::int4[], $7::text[]) as t(d, u, s, o, l, op))
${markChangedSql('$1::uuid[]')}`;
const INSERT_OPTIONS = { statementName: 'scriptorium_append_updates' } as const;

/** One statement = one round trip and one (implicit) transaction. */
async function insertBatch(db: Db, entries: readonly Entry[]): Promise<void> {
  const n = entries.length;
  const documentIds = new Array<string>(n);
  const userIds = new Array<string | null>(n);
  const sessionIds = new Array<string>(n);
  const offsets = new Array<number>(n);
  const lengths = new Array<number>(n);
  const updates = new Array<Uint8Array>(n);
  let offset = 1; // substring() counts from 1
  // Almost every row is a plain 'update': the array of operation types (null pads as
  // 'update') is only built for a batch that holds another kind (a restore).
  let operations: (string | null)[] | null = null;
  for (let i = 0; i < n; i++) {
    const e = entries[i] as Entry;
    if (e.meta.operationType !== undefined) (operations ??= new Array<string | null>(n).fill(null))[i] = e.meta.operationType;
    documentIds[i] = e.documentId;
    userIds[i] = e.userId;
    sessionIds[i] = e.meta.sessionId;
    updates[i] = e.update;
    offsets[i] = offset;
    lengths[i] = e.update.byteLength;
    offset += e.update.byteLength;
  }
  const bytes = n === 1 ? (updates[0] as Uint8Array) : Buffer.concat(updates, offset - 1);
  await db.query(INSERT_SQL, [documentIds, userIds, sessionIds, bytes, offsets, lengths, operations], INSERT_OPTIONS);
}

const FOREIGN_KEY_VIOLATION = '23503';
/** Constraint names from schema/migrations/002_documents.sql. */
const DOCUMENT_FK = 'collaborations_document_id_fkey';
const COMPACT_QUEUE_AT = 4096;
/** Failures with an unclassified SQLSTATE of one queue head before it is treated as permanent. */
const UNKNOWN_ATTEMPTS = 5;

export class UpdateLog {
  private readonly maxBatchRows: number;
  private readonly maxBatchBytes: number;
  private readonly commitDelayMs: number;
  private readonly commitEarlyRows: number;
  /** Ends the current commit-delay wait early (set while waiting). */
  private hurry: (() => void) | undefined;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly stallMs: number;
  private readonly maxPendingRows: number;
  private readonly maxPendingBytes: number;
  private readonly logger: Logger | undefined;
  private readonly onCommitted: UpdateLogOptions['onCommitted'];

  /** Entries before `head` are done; kept in one array to make append a push. */
  private queue: Entry[] = [];
  private head = 0;
  /** Update bytes of the entries from `head` on. */
  private pendingBytes = 0;
  /** Monotonic counters: appended, and committed-or-refused, for flush(). */
  private appended = 0;
  private settled = 0;
  private waiters: { target: number; resolve: () => void; reject: (error: Error) => void }[] = [];

  private running: Promise<void> | undefined;
  private scheduled = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private consecutiveFailures = 0;
  private isHealthy = true;
  /** performance.now() when the current commit attempt started, 0 when none runs. */
  private attemptStarted = 0;
  /** The queue head that failed with an unclassified error, and how many times in a row. */
  private unknownHead: Entry | undefined;
  private unknownStreak = 0;
  private counters = { committedRows: 0, committedBatches: 0, failedAttempts: 0, refusedRows: 0, rejectedFull: 0 };

  constructor(
    private readonly db: Db,
    options: UpdateLogOptions = {},
  ) {
    this.maxBatchRows = options.maxBatchRows ?? 1000;
    this.maxBatchBytes = options.maxBatchBytes ?? 4 * 1024 * 1024;
    this.commitDelayMs = options.commitDelayMs ?? 0;
    this.commitEarlyRows = options.commitEarlyRows ?? 64;
    this.retryMinMs = options.retryMinMs ?? 50;
    this.retryMaxMs = options.retryMaxMs ?? 2000;
    this.stallMs = options.stallMs ?? 5000;
    this.maxPendingRows = options.maxPendingRows ?? 100_000;
    this.maxPendingBytes = options.maxPendingBytes ?? 256 * 1024 * 1024;
    this.logger = options.logger;
    this.onCommitted = options.onCommitted;
  }

  /**
   * False from the first failed commit until the next successful one, and while
   * a commit hangs (a silent network fails no statement until its timeout).
   */
  get healthy(): boolean {
    if (!this.isHealthy) return false;
    return this.attemptStarted === 0 || performance.now() - this.attemptStarted < this.stallMs;
  }

  get stats(): UpdateLogStats {
    return { pending: this.queue.length - this.head, pendingBytes: this.pendingBytes, ...this.counters };
  }

  /**
   * Room for one more update of `bytes`? An update larger than the byte limit on
   * its own is admitted when the queue is empty, or it could never be stored.
   */
  admits(bytes: number): boolean {
    const rows = this.queue.length - this.head;
    if (rows + 1 > this.maxPendingRows || (rows > 0 && this.pendingBytes + bytes > this.maxPendingBytes)) {
      this.counters.rejectedFull++;
      return false;
    }
    return true;
  }

  /** Hot path: O(1), no promise, no I/O, one allocation (the entry). */
  append(documentId: string, update: Uint8Array, meta: AppendMeta, listener: CommitListener): void {
    this.queue.push({ documentId, update, userId: meta.userId, meta, listener });
    this.appended++;
    this.pendingBytes += update.byteLength;
    if (this.hurry && this.queue.length - this.head >= this.commitEarlyRows) this.hurry();
    if (this.stopped) {
      this.logger?.error({ documentId }, 'update appended after the update log was closed; it will not be written');
      return;
    }
    this.schedule();
  }

  /**
   * Resolves once everything appended before the call is committed (or refused);
   * rejects if the log is closed first.
   */
  flush(): Promise<void> {
    const target = this.appended;
    if (this.settled >= target) return Promise.resolve();
    if (this.stopped) return Promise.reject(new Error('update log closed with uncommitted updates'));
    const flushed = new Promise<void>((resolve, reject) => this.waiters.push({ target, resolve, reject }));
    this.hurry?.(); // someone waits for durability now (unload, shutdown): no commit delay
    return flushed;
  }

  /**
   * Waits up to `timeoutMs` for the queue to drain, then stops the flusher without
   * waiting for an attempt still in flight (against an unreachable server it may
   * hang until its connection times out; if it commits later, its listeners are
   * still told). Returns true when nothing appended is left unreported: every
   * update was committed, or refused and its author told.
   */
  async close(timeoutMs: number): Promise<boolean> {
    const deadline = deadlineIn(timeoutMs);
    const drained = await beforeDeadline(
      this.flush().then(
        () => true,
        () => false,
      ),
      deadline,
      false,
    );
    this.stopped = true;
    this.wake?.();
    this.hurry?.();
    if (this.running) await beforeDeadline(this.running, deadline, undefined);
    const pending = this.queue.length - this.head;
    if (pending > 0) this.logger?.error({ pending }, 'update log closed with uncommitted updates');
    for (const w of this.waiters.splice(0)) w.reject(new Error('update log closed with uncommitted updates'));
    return drained && pending === 0;
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    const start = (): void => {
      this.scheduled = false;
      this.running = this.drain().finally(() => {
        this.running = undefined;
        if (!this.stopped && this.queue.length > this.head) this.schedule();
      });
    };
    setImmediate(start);
  }

  private async drain(): Promise<void> {
    while (!this.stopped && this.queue.length > this.head) {
      const batch = this.takeBatch();
      this.attemptStarted = performance.now();
      try {
        try {
          await insertBatch(this.db, batch);
        } catch (error) {
          if (!this.givesUp(error)) throw error;
          // The data itself was rejected: find the offending rows one at a time
          // instead of retrying a batch that can never succeed.
          this.logger?.warn({ err: error, rows: batch.length }, 'update batch rejected; retrying row by row');
          await this.commitOneByOne(batch);
          continue;
        }
        this.done(batch, undefined);
        // Yield to the event loop between batches: PGlite completes a statement
        // without ever leaving the microtask queue, so a listener that appends from
        // committed() would otherwise starve timers and sockets forever. It also
        // lets this turn's I/O add to the next batch.
        await this.pauseBetweenCommits();
      } catch (error) {
        this.counters.failedAttempts++;
        this.consecutiveFailures++;
        if (this.isHealthy) {
          this.isHealthy = false;
          this.logger?.error({ err: error, pending: this.queue.length - this.head }, 'update log commit failed; retrying');
        } else {
          this.logger?.debug({ err: error, attempt: this.consecutiveFailures }, 'update log commit retry failed');
        }
        this.attemptStarted = 0;
        await this.backoff();
      }
    }
    this.attemptStarted = 0;
  }

  /**
   * True when `error` means the rows at the head of the queue will not go in as
   * they are: a permanent error, or an unclassified one that the same head has
   * now hit UNKNOWN_ATTEMPTS times in a row. False: retry with backoff.
   */
  private givesUp(error: unknown): boolean {
    const kind = classifyDbError(error);
    if (kind === 'permanent') return true;
    if (kind === 'transient') {
      this.unknownStreak = 0;
      return false;
    }
    const head = this.queue[this.head];
    if (head !== this.unknownHead) {
      this.unknownHead = head;
      this.unknownStreak = 0;
    }
    this.unknownStreak++;
    if (this.unknownStreak < UNKNOWN_ATTEMPTS) return false;
    this.logger?.warn(
      { err: error, attempts: this.unknownStreak },
      'unclassified database error keeps recurring; treating it as permanent',
    );
    return true;
  }

  /** setImmediate, or the commit delay while fewer than commitEarlyRows are queued. */
  private pauseBetweenCommits(): Promise<void> {
    const pending = this.queue.length - this.head;
    if (this.commitDelayMs <= 0 || this.stopped || pending >= this.commitEarlyRows || this.waiters.length > 0) {
      return new Promise<void>((resolve) => setImmediate(resolve));
    }
    return new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.hurry = undefined;
        resolve();
      };
      const timer = setTimeout(finish, this.commitDelayMs);
      this.hurry = finish;
    });
  }

  private takeBatch(): Entry[] {
    let end = this.head;
    let bytes = 0;
    const limit = Math.min(this.queue.length, this.head + this.maxBatchRows);
    while (end < limit) {
      const size = (this.queue[end] as Entry).update.byteLength;
      if (end > this.head && bytes + size > this.maxBatchBytes) break;
      bytes += size;
      end++;
    }
    return this.queue.slice(this.head, end);
  }

  /**
   * Commits `batch` (the head of the queue) row by row, in order: each row is
   * reported as soon as the database answered for it, so a refusal lands between
   * the right commits of its listener. A retryable error ends the pass (rows done
   * so far stay done; the drain loop retries from the failing row).
   */
  private async commitOneByOne(batch: readonly Entry[]): Promise<void> {
    for (const entry of batch) {
      let error = await this.tryInsert(entry);
      if (error === undefined) continue;
      if (!this.givesUp(error)) throw error;
      if (sqlState(error) === FOREIGN_KEY_VIOLATION && violatedConstraint(error) !== DOCUMENT_FK && entry.userId !== null) {
        // Most likely the user was deleted mid-session: keep the edit, lose the attribution.
        this.logger?.warn({ err: error, userId: entry.userId }, 'unknown user on update; storing it without user');
        entry.userId = null;
        error = await this.tryInsert(entry);
        if (error === undefined) continue;
        if (!this.givesUp(error)) throw error;
      }
      this.refuse(entry, error);
    }
  }

  /** One row alone; reports it when committed, returns the error otherwise. */
  private async tryInsert(entry: Entry): Promise<unknown> {
    try {
      await insertBatch(this.db, [entry]);
    } catch (error) {
      return error;
    }
    this.done([entry], undefined);
    return undefined;
  }

  private refuse(entry: Entry, error: unknown): void {
    const context = { err: error, documentId: entry.documentId, userId: entry.userId, sessionId: entry.meta.sessionId };
    let refusal: Error;
    if (sqlState(error) === FOREIGN_KEY_VIOLATION && violatedConstraint(error) === DOCUMENT_FK) {
      // The document was deleted while its room was live: nowhere to put the row.
      refusal = new DocumentGoneError(`document ${entry.documentId} no longer exists`, { cause: error });
      this.logger?.warn(context, 'update refused: its document was deleted');
    } else {
      refusal = error instanceof Error ? error : new Error(String(error));
      this.logger?.error(context, 'update refused by the database; its author is told');
    }
    this.counters.refusedRows++;
    this.done([entry], refusal);
  }

  /**
   * Removes `entries` (the head of the queue) and tells their listeners: committed
   * when `refusal` is undefined, otherwise refused (one entry at a time).
   */
  private done(entries: readonly Entry[], refusal: Error | undefined): void {
    const n = entries.length;
    const queue = this.queue as (Entry | undefined)[];
    for (let i = this.head; i < this.head + n; i++) {
      this.pendingBytes -= (queue[i] as Entry).update.byteLength;
      queue[i] = undefined;
    }
    this.head += n;
    // The head moved on: an unclassified-error streak belongs to a row that is gone.
    this.unknownHead = undefined;
    this.unknownStreak = 0;
    if (this.head >= COMPACT_QUEUE_AT && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.settled += n;

    if (refusal === undefined) {
      this.counters.committedRows += n;
      this.counters.committedBatches++;
      if (!this.isHealthy) {
        this.logger?.info({ failedAttempts: this.consecutiveFailures }, 'update log commits succeed again');
        this.isHealthy = true;
      }
      this.consecutiveFailures = 0;
      this.notify(entries);
    } else {
      for (const e of entries) {
        try {
          e.listener.refused(e.meta, refusal);
        } catch (error) {
          this.logger?.error({ err: error }, 'commit listener threw');
        }
      }
    }
    if (this.waiters.length > 0) {
      const still: typeof this.waiters = [];
      for (const w of this.waiters) {
        if (w.target <= this.settled) w.resolve();
        else still.push(w);
      }
      this.waiters = still;
    }
  }

  private notify(entries: readonly Entry[]): void {
    // One call per listener per batch; entries of one listener are in append
    // order within and across batches, so counts keep the order.
    const perListener = new Map<CommitListener, number>();
    const perDocument = this.onCommitted ? new Map<string, { rows: number; bytes: number }>() : undefined;
    for (const e of entries) {
      perListener.set(e.listener, (perListener.get(e.listener) ?? 0) + 1);
      if (perDocument) {
        const d = perDocument.get(e.documentId);
        if (d) {
          d.rows++;
          d.bytes += e.update.byteLength;
        } else perDocument.set(e.documentId, { rows: 1, bytes: e.update.byteLength });
      }
    }
    for (const [listener, count] of perListener) {
      try {
        listener.committed(count);
      } catch (error) {
        this.logger?.error({ err: error }, 'commit listener threw');
      }
    }
    if (perDocument && this.onCommitted) {
      for (const [documentId, d] of perDocument) this.onCommitted(documentId, d.rows, d.bytes);
    }
  }

  private backoff(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const base = Math.min(this.retryMaxMs, this.retryMinMs * 2 ** Math.min(this.consecutiveFailures - 1, 16));
    // ±20% jitter so instances that lost the same database do not retry in lockstep.
    const delay = base * (0.8 + Math.random() * 0.4);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, delay);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}
