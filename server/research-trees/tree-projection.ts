import type { Logger } from 'pino';
import type * as Y from 'yjs';
import type { Lock, Locks } from '../cluster/locks.js';
import type { Clock } from '../clock.js';
import { QuietPeriodScheduler, type RunOutcome } from '../quiet-period-scheduler.js';
import type { Db } from '../persistence/db.js';
import type { LiveTreeResult, TakenTreeVersion } from './research-tree-store.js';
import { renderForProjection, takeRenderedTreeVersion, writeRenderedTree, type RenderedTree } from './research-tree-rows.js';
import type { RoomExtension } from '../rooms/room-extension.js';
import type { Room } from '../rooms/room.js';

export interface TreeProjectionOptions {
  readonly db: Db;
  readonly locks: Locks;
  readonly logger: Logger;
  /** Quiet time after the last edit before the projection is refreshed. */
  readonly delayMs: number;
  /** At most this long after the first unprojected edit, even while edits go on. */
  readonly maxDelayMs: number;
  /** Documents with a pending refresh, at most; beyond it new ones wait for their next edit. */
  readonly maxPending?: number;
  /** Retries of a refresh whose room is gone before it is given up (logged). */
  readonly maxRetriesWhenGone?: number;
  /** Time and the refresh timers. */
  readonly clock: Clock;
}

export interface RefreshOptions {
  /** A document version was taken from this state: freeze the live row and start the next (server/research-trees/research-tree-store.ts). */
  readonly versionTaken?: boolean;
}

/** What is kept per research tree with a refresh pending. */
interface Pending {
  readonly documentId: string;
  /** The live document, or null once its room is gone (then `rendered` holds its last tree). */
  doc: Y.Doc | null;
  rendered: RenderedTree | null;
  /** Failed refreshes in a row. */
  failures: number;
}

const MAX_BACKOFF_MS = 60_000;

/**
 * Keeps `research_trees` (the queryable projection of research-tree documents) up to date:
 * a room extension that schedules a refresh `delayMs` after the last edit of a research
 * tree, and at most `maxDelayMs` after the first unprojected one (server/quiet-period-scheduler.ts);
 * the refresh runs under the document lock (one instance at a time; a held lock means
 * another instance is at it, so it is retried a delay later). Updates of every origin
 * schedule it — remote ones too — so the instance that ends up holding every edit writes the
 * final tree; the snapshot comparison in SQL keeps the others from writing an older one.
 *
 * Pending work has an owner: each document's entry runs, and on failure is logged and
 * retried with backoff. When the room goes (last client left, eviction, shutdown) its tree
 * is rendered at once and written without waiting for the quiet time; `close()` (server
 * shutdown) writes whatever is still pending, without the lock, within its deadline. What
 * does not make it (database down at shutdown, entries beyond `maxPending`) is refreshed by
 * the document's next edit or version: the projection is derived data, never the source.
 *
 * `refresh()` is the entry point for the versions work: call it with
 * `{ versionTaken: true }` whenever a document version is taken (it takes no lock, so it is
 * safe to call while holding the document lock).
 */
export class TreeProjection implements RoomExtension {
  private readonly scheduler: QuietPeriodScheduler<string, Pending>;
  /** Pending entries whose room is live, by document id (for `gone`); at most the scheduler's entries. */
  private readonly live = new Map<string, Pending>();
  private readonly maxRetriesWhenGone: number;
  private droppedWarned = false;

  constructor(private readonly options: TreeProjectionOptions) {
    const maxPending = options.maxPending ?? 10_000;
    this.maxRetriesWhenGone = options.maxRetriesWhenGone ?? 5;
    this.scheduler = new QuietPeriodScheduler<string, Pending>({
      clock: options.clock,
      quietMs: options.delayMs,
      maxDelayMs: options.maxDelayMs,
      maxKeys: maxPending,
      create: (documentId) => ({ documentId, doc: null, rendered: null, failures: 0 }),
      removed: (_documentId, entry) => this.detach(entry),
      full: () => {
        if (!this.droppedWarned)
          options.logger.warn(
            { maxPending },
            'research-tree projection: too many pending documents; the others are refreshed on their next edit',
          );
        this.droppedWarned = true;
      },
      // Shutdown writes without the lock (correct without it); timers take it.
      run: (_documentId, entry, reason) => this.run(entry, reason === 'due'),
      failed: (_documentId, entry, error) => this.failed(entry, error),
    });
  }

  /**
   * Refreshes the projection of `documentId` from `doc` now. With `versionTaken`, the live
   * row is frozen as that version's tree and a new live row follows (one row per tree
   * version); without, the live row is updated. Rejects on database errors (the caller owns
   * the promise).
   */
  refresh(documentId: string, doc: Y.Doc, options?: { versionTaken?: false }): Promise<LiveTreeResult>;
  refresh(documentId: string, doc: Y.Doc, options: { versionTaken: true }): Promise<TakenTreeVersion | null>;
  refresh(documentId: string, doc: Y.Doc, options: RefreshOptions = {}): Promise<LiveTreeResult | TakenTreeVersion | null> {
    const rendered = renderForProjection(doc);
    return options.versionTaken
      ? takeRenderedTreeVersion(this.options.db, documentId, rendered)
      : writeRenderedTree(this.options.db, documentId, rendered);
  }

  updateApplied(room: Room): void {
    if (room.kind !== 'research_tree') return;
    const entry = this.scheduler.changed(room.id);
    if (entry !== null && entry.doc !== room.doc) this.attach(entry, room.doc); // new, or the room was reloaded meanwhile
  }

  /** Documents with a refresh pending (metrics, tests). */
  get pendingCount(): number {
    return this.scheduler.size;
  }

  /**
   * Shutdown: stops scheduling, waits for running refreshes and writes the pending ones
   * (without the lock: correct without it), until `deadline` (performance.now() clock).
   * Resolves true when nothing was left unwritten.
   */
  async close(deadline: number): Promise<boolean> {
    const work = (async () => {
      await this.scheduler.close({ dropPending: false });
      await Promise.all(this.scheduler.keys().map((documentId) => this.scheduler.flush(documentId)));
      return this.scheduler.size === 0;
    })();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - performance.now()))));
    const done = await Promise.race([work, late]).finally(() => clearTimeout(timer));
    if (!done)
      this.options.logger.warn(
        { documents: this.scheduler.size },
        'research-tree projection: not every pending refresh was written at shutdown; the next edit or version refreshes them',
      );
    return done;
  }

  private attach(entry: Pending, doc: Y.Doc): void {
    entry.doc = doc;
    entry.rendered = null;
    this.live.set(entry.documentId, entry);
  }

  private detach(entry: Pending): void {
    entry.doc = null;
    if (this.live.get(entry.documentId) === entry) this.live.delete(entry.documentId);
  }

  /** The room is gone (its document is destroyed next): keep its tree and write it without waiting. */
  gone(room: Room): void {
    const entry = this.live.get(room.id);
    const doc = room.doc;
    if (entry === undefined || entry.doc !== doc) return;
    try {
      entry.rendered = renderForProjection(doc);
    } catch (error) {
      // A document broken halfway (eviction) is reloaded from storage; its next edit refreshes it.
      this.options.logger.warn(
        { err: error, documentId: entry.documentId },
        'research-tree projection: the closing document could not be rendered; left to its next edit',
      );
      this.scheduler.forget(entry.documentId);
      return;
    }
    this.detach(entry);
    // Due now, or right after a refresh going on; once closed, close() writes it.
    this.scheduler.changedDueNow(entry.documentId);
  }

  /** One attempt: done, retried a delay later (lock held elsewhere), or dropped; failures reject (`failed`). */
  private async run(entry: Pending, withLock: boolean): Promise<RunOutcome> {
    let lock: Lock | null = null;
    try {
      if (withLock) {
        lock = await this.options.locks.acquire(entry.documentId);
        // Another instance is refreshing it; ours may hold edits it lacks: look again later.
        if (lock === null) return { retryInMs: this.options.delayMs };
      }
      const rendered = entry.doc ? renderForProjection(entry.doc) : entry.rendered;
      if (rendered === null) return 'drop';
      const result = await writeRenderedTree(this.options.db, entry.documentId, rendered);
      entry.failures = 0;
      if (result === 'no-document') return 'drop';
      // Edits that came in while it was written (the room closing too) are the scheduler's: once more.
      return 'done';
    } finally {
      await lock
        ?.release()
        .catch((error: unknown) =>
          this.options.logger.warn(
            { err: error, documentId: entry.documentId },
            'research-tree projection: lock not released; it expires by its TTL',
          ),
        );
    }
  }

  private failed(entry: Pending, error: unknown): RunOutcome {
    entry.failures++;
    if (entry.doc === null && entry.failures > this.maxRetriesWhenGone) {
      this.options.logger.error(
        { err: error, documentId: entry.documentId, failures: entry.failures },
        'research-tree projection: giving up on a closed document; its next edit or version refreshes it',
      );
      return 'drop';
    }
    const backoff = Math.min(MAX_BACKOFF_MS, Math.max(this.options.delayMs, 100) * 2 ** Math.min(entry.failures, 10));
    this.options.logger.warn(
      { err: error, documentId: entry.documentId, failures: entry.failures, retryInMs: backoff },
      'research-tree projection refresh failed; retrying',
    );
    return { retryInMs: backoff };
  }
}
