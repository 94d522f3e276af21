import type { Logger } from 'pino';
import type * as Y from 'yjs';
import type { Locks } from '../cluster/locks.js';
import type { Db } from '../persistence/db.js';
import type { LiveTreeResult, TakenTreeVersion } from './research-tree-store.js';
import { renderForProjection, takeRenderedTreeVersion, writeRenderedTree, type RenderedTree } from './research-tree-rows.js';
import type { ObservedRoom, UpdateObserver } from '../rooms/update-observer.js';

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
  readonly now?: () => number;
}

export interface RefreshOptions {
  /** A document version was taken from this state: freeze the live row and start the next (server/research-trees/research-tree-store.ts). */
  readonly versionTaken?: boolean;
}

/** One document's pending refresh. */
interface Pending {
  readonly documentId: string;
  /** The live document, or null once its room is gone (then `rendered` holds its last tree). */
  doc: Y.Doc | null;
  rendered: RenderedTree | null;
  /** Updates seen: a refresh is done when no update came in since it rendered. */
  edits: number;
  firstEditAt: number;
  lastEditAt: number;
  timer: NodeJS.Timeout | null;
  running: Promise<void> | null;
  failures: number;
  readonly onDestroy: (doc: Y.Doc) => void;
}

const MAX_BACKOFF_MS = 60_000;

/**
 * Keeps `research_trees` (the queryable projection of research-tree documents) up to date:
 * an update observer that schedules a refresh `delayMs` after the last edit of a research
 * tree, and at most `maxDelayMs` after the first unprojected one; the refresh runs under the
 * document lock (one instance at a time; a held lock means another instance is at it, so it
 * is retried a delay later). Updates of every origin schedule it — remote ones too — so the
 * instance that ends up holding every edit writes the final tree; the snapshot comparison in
 * SQL keeps the others from writing an older one.
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
export class TreeProjection implements UpdateObserver {
  private readonly pending = new Map<string, Pending>();
  private readonly now: () => number;
  private readonly maxPending: number;
  private readonly maxRetriesWhenGone: number;
  private closed = false;
  private droppedWarned = false;

  constructor(private readonly options: TreeProjectionOptions) {
    this.now = options.now ?? Date.now;
    this.maxPending = options.maxPending ?? 10_000;
    this.maxRetriesWhenGone = options.maxRetriesWhenGone ?? 5;
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
    return options.versionTaken ? takeRenderedTreeVersion(this.options.db, documentId, rendered) : writeRenderedTree(this.options.db, documentId, rendered);
  }

  updateApplied(room: ObservedRoom): void {
    if (room.kind !== 'research_tree' || this.closed) return;
    const now = this.now();
    const entry = this.pending.get(room.id);
    if (entry) {
      entry.edits++;
      entry.lastEditAt = now;
      if (entry.doc !== room.doc) this.attach(entry, room.doc); // the room was reloaded meanwhile
      return;
    }
    if (this.pending.size >= this.maxPending) {
      if (!this.droppedWarned) this.options.logger.warn({ maxPending: this.maxPending }, 'research-tree projection: too many pending documents; the others are refreshed on their next edit');
      this.droppedWarned = true;
      return;
    }
    const created: Pending = {
      documentId: room.id,
      doc: null,
      rendered: null,
      edits: 1,
      firstEditAt: now,
      lastEditAt: now,
      timer: null,
      running: null,
      failures: 0,
      onDestroy: (doc) => this.roomGone(created, doc),
    };
    this.pending.set(room.id, created);
    this.attach(created, room.doc);
    this.schedule(created, this.options.delayMs);
  }

  /** Documents with a refresh pending (metrics, tests). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Shutdown: stops scheduling, waits for running refreshes and writes the pending ones
   * (without the lock: correct without it), until `deadline` (performance.now() clock).
   * Resolves true when nothing was left unwritten.
   */
  async close(deadline: number): Promise<boolean> {
    this.closed = true;
    const work = (async () => {
      for (const entry of [...this.pending.values()]) {
        if (entry.timer) clearTimeout(entry.timer);
        entry.timer = null;
      }
      await Promise.allSettled([...this.pending.values()].map((entry) => entry.running));
      await Promise.allSettled([...this.pending.values()].map((entry) => this.start(entry, false)));
      return this.pending.size === 0;
    })();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - performance.now()))));
    const done = await Promise.race([work, late]).finally(() => clearTimeout(timer));
    if (!done) this.options.logger.warn({ documents: this.pending.size }, 'research-tree projection: not every pending refresh was written at shutdown; the next edit or version refreshes them');
    for (const entry of this.pending.values()) if (entry.timer) clearTimeout(entry.timer);
    return done;
  }

  private attach(entry: Pending, doc: Y.Doc): void {
    entry.doc?.off('destroy', entry.onDestroy);
    entry.doc = doc;
    entry.rendered = null;
    doc.on('destroy', entry.onDestroy);
  }

  private detach(entry: Pending): void {
    entry.doc?.off('destroy', entry.onDestroy);
    entry.doc = null;
  }

  /** The room's document is being destroyed: keep its tree and write it without waiting. */
  private roomGone(entry: Pending, doc: Y.Doc): void {
    if (entry.doc !== doc) return;
    try {
      entry.rendered = renderForProjection(doc);
    } catch (error) {
      // A document broken halfway (eviction) is reloaded from storage; its next edit refreshes it.
      this.options.logger.warn({ err: error, documentId: entry.documentId }, 'research-tree projection: the closing document could not be rendered; left to its next edit');
      this.forget(entry);
      return;
    }
    this.detach(entry);
    if (this.closed || entry.running) return; // close() writes it; a running refresh reschedules
    if (entry.timer) clearTimeout(entry.timer);
    this.schedule(entry, 0);
  }

  private schedule(entry: Pending, delayMs: number): void {
    if (this.closed) return;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = setTimeout(() => this.due(entry), delayMs);
    entry.timer.unref?.();
  }

  private due(entry: Pending): void {
    entry.timer = null;
    if (this.closed || entry.running) return;
    if (entry.doc) {
      const now = this.now();
      const quietFor = now - entry.lastEditAt;
      const waited = now - entry.firstEditAt;
      if (quietFor < this.options.delayMs && waited < this.options.maxDelayMs) {
        this.schedule(entry, Math.min(this.options.delayMs - quietFor, this.options.maxDelayMs - waited));
        return;
      }
    }
    this.start(entry, true);
  }

  /** Runs one attempt as the entry's owned `running` promise. */
  private start(entry: Pending, withLock: boolean): Promise<void> {
    const running: Promise<void> = this.run(entry, withLock)
      .catch((error: unknown) => this.options.logger.error({ err: error, documentId: entry.documentId }, 'research-tree projection: unexpected failure'))
      .finally(() => {
        if (entry.running === running) entry.running = null;
      });
    entry.running = running;
    return running;
  }

  /** One attempt; settles the entry (done, rescheduled or given up): failures are logged, not thrown. */
  private async run(entry: Pending, withLock: boolean): Promise<void> {
    let lock: { release(): Promise<void> } | null = null;
    try {
      if (withLock) {
        lock = await this.options.locks.acquire(entry.documentId);
        if (lock === null) {
          // Another instance is refreshing it; ours may hold edits it lacks: look again later.
          this.schedule(entry, this.options.delayMs);
          return;
        }
      }
      const seen = entry.edits;
      const rendered = entry.doc ? renderForProjection(entry.doc) : entry.rendered;
      if (rendered === null) {
        this.forget(entry);
        return;
      }
      const result = await writeRenderedTree(this.options.db, entry.documentId, rendered);
      entry.failures = 0;
      if (result === 'no-document' || (entry.edits === seen && (entry.doc !== null || entry.rendered === rendered))) {
        this.forget(entry);
        return;
      }
      // Edits came in (or the room closed) while it was written: once more.
      entry.firstEditAt = this.now();
      this.schedule(entry, entry.doc ? this.options.delayMs : 0);
    } catch (error) {
      entry.failures++;
      const gone = entry.doc === null;
      if (gone && entry.failures > this.maxRetriesWhenGone) {
        this.options.logger.error({ err: error, documentId: entry.documentId, failures: entry.failures }, 'research-tree projection: giving up on a closed document; its next edit or version refreshes it');
        this.forget(entry);
        return;
      }
      const backoff = Math.min(MAX_BACKOFF_MS, Math.max(this.options.delayMs, 100) * 2 ** Math.min(entry.failures, 10));
      this.options.logger.warn({ err: error, documentId: entry.documentId, failures: entry.failures, retryInMs: backoff }, 'research-tree projection refresh failed; retrying');
      this.schedule(entry, backoff);
    } finally {
      await lock?.release();
    }
  }

  private forget(entry: Pending): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    this.detach(entry);
    if (this.pending.get(entry.documentId) === entry) this.pending.delete(entry.documentId);
  }
}
