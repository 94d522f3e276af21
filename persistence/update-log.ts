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
 * Nothing leaves the queue before its commit succeeded. On failure the same head
 * of the queue is retried with exponential backoff, `healthy` is false until a
 * commit succeeds, and listeners hear nothing meanwhile. A failure during COMMIT
 * is ambiguous (the rows may be in), so a retry can write a row twice; Yjs
 * updates are idempotent and loads merge them, so a duplicate is harmless while a
 * lost row would not be.
 */
import type { Logger } from 'pino';
import type { Db } from './db.js';
import { isTransientDbError, sqlState } from './db.js';
import type { AppendMeta, CommitListener, StorageStats } from './storage.js';

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
  /** Called after each commit with how much was written per document. */
  readonly onCommitted?: ((documentId: string, rows: number, bytes: number) => void) | undefined;
}

/** The update log's counters are the storage's write-path stats. */
export type UpdateLogStats = StorageStats;

interface Entry {
  readonly documentId: string;
  readonly update: Uint8Array;
  userId: string | null;
  readonly sessionId: string;
  readonly listener: CommitListener;
}

// The updates travel as ONE binary parameter (their concatenation) cut apart by
// offset and length: pg sends a bytea[] as a hex text literal, which doubles the
// bytes and costs a parse on both ends, while a lone bytea goes over as-is. The
// statement is prepared once per connection (statementName) and planned once.
const INSERT_SQL = `
insert into collaborations (document_id, user_id, session_id, operation_type, update, size)
select d, u, s, 'update', substring($4::bytea from o for l), l
  from unnest($1::uuid[], $2::uuid[], $3::text[], $5::int4[], $6::int4[]) as t(d, u, s, o, l)`;
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
  for (let i = 0; i < n; i++) {
    const e = entries[i] as Entry;
    documentIds[i] = e.documentId;
    userIds[i] = e.userId;
    sessionIds[i] = e.sessionId;
    updates[i] = e.update;
    offsets[i] = offset;
    lengths[i] = e.update.byteLength;
    offset += e.update.byteLength;
  }
  const bytes = n === 1 ? (updates[0] as Uint8Array) : Buffer.concat(updates, offset - 1);
  await db.query(INSERT_SQL, [documentIds, userIds, sessionIds, bytes, offsets, lengths], INSERT_OPTIONS);
}

const FOREIGN_KEY_VIOLATION = '23503';
const COMPACT_QUEUE_AT = 4096;

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
  private readonly logger: Logger | undefined;
  private readonly onCommitted: UpdateLogOptions['onCommitted'];

  /** Entries before `head` are done; kept in one array to make append a push. */
  private queue: Entry[] = [];
  private head = 0;
  /** Monotonic counters: appended, and committed-or-dropped, for flush(). */
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
  /** Listeners that had a row dropped: they must never hear a count that includes it. */
  private readonly poisoned = new WeakSet<CommitListener>();
  private counters = { committedRows: 0, committedBatches: 0, failedAttempts: 0, droppedRows: 0 };

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
    return { pending: this.queue.length - this.head, ...this.counters };
  }

  /** Hot path: O(1), no promise, no I/O. */
  append(documentId: string, update: Uint8Array, meta: AppendMeta, listener: CommitListener): void {
    this.queue.push({ documentId, update, userId: meta.userId, sessionId: meta.sessionId, listener });
    this.appended++;
    if (this.hurry && this.queue.length - this.head >= this.commitEarlyRows) this.hurry();
    if (this.stopped) {
      this.logger?.error({ documentId }, 'update appended after the update log was closed; it will not be written');
      return;
    }
    this.schedule();
  }

  /**
   * Resolves once everything appended before the call is committed (or given up
   * on); rejects if the log is closed first.
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
   * Waits up to `timeoutMs` for the queue to drain, then stops the flusher.
   * Returns true when everything appended was committed.
   */
  async close(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      this.flush().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    this.stopped = true;
    this.wake?.();
    this.hurry?.();
    await this.running;
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
          if (isTransientDbError(error)) throw error;
          // The data itself was rejected: find the offending rows one at a time
          // instead of retrying a batch that can never succeed.
          this.logger?.warn({ err: error, rows: batch.length }, 'update batch rejected; retrying row by row');
          await this.commitOneByOne(batch);
          continue;
        }
        this.done(batch, true);
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

  private async commitOneByOne(batch: readonly Entry[]): Promise<void> {
    for (const entry of batch) {
      try {
        await insertBatch(this.db, [entry]);
        this.done([entry], true);
        continue;
      } catch (error) {
        if (isTransientDbError(error)) throw error; // entries done so far stay done
        if (sqlState(error) === FOREIGN_KEY_VIOLATION && entry.userId !== null) {
          // Most likely the user was deleted mid-session: keep the edit, lose the attribution.
          this.logger?.warn({ err: error, userId: entry.userId }, 'unknown user on update; storing it without user');
          entry.userId = null;
          try {
            await insertBatch(this.db, [entry]);
            this.done([entry], true);
            continue;
          } catch (retryError) {
            if (isTransientDbError(retryError)) throw retryError;
            error = retryError;
          }
        }
        // E.g. the document was deleted while its room was live: nowhere to put it.
        this.logger?.error({ err: error, documentId: entry.documentId }, 'update rejected by the database; dropped');
        this.poisoned.add(entry.listener);
        this.counters.droppedRows++;
        this.done([entry], false);
      }
    }
  }

  /** Removes `entries` (the head of the queue) and tells listeners if committed. */
  private done(entries: readonly Entry[], committed: boolean): void {
    const n = entries.length;
    for (let i = this.head; i < this.head + n; i++) (this.queue as (Entry | undefined)[])[i] = undefined;
    this.head += n;
    if (this.head >= COMPACT_QUEUE_AT && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.settled += n;

    if (committed) {
      this.counters.committedRows += n;
      this.counters.committedBatches++;
      if (!this.isHealthy) {
        this.logger?.info({ failedAttempts: this.consecutiveFailures }, 'update log commits succeed again');
        this.isHealthy = true;
      }
      this.consecutiveFailures = 0;
      this.notify(entries);
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
      if (!this.poisoned.has(e.listener)) perListener.set(e.listener, (perListener.get(e.listener) ?? 0) + 1);
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
