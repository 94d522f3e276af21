/**
 * Automatic versions: one is taken AUTO_VERSION_QUIET_MS after the last edit, and at least
 * every AUTO_VERSION_MAX_MS while editing goes on.
 *
 * Per live room, at most one timer, and no timer work per edit: an edit only stamps the
 * room's pending entry (a Map lookup and two numbers); the timer, when it fires, works out
 * when the version is due from those stamps and either takes it or sleeps until then.
 * Only edits this instance accepted (local and server origins) count: the instance that
 * stored an edit is the one that versions it.
 *
 * Taking it runs under the document lock (`doc:lock:{id}`), so of several instances holding
 * the document one takes it; one that finds the lock held tries again a moment later, and
 * then finds the state already stored (the hash check) — unless it holds edits the other
 * lacked. Correctness never rests on the lock: numbering and "same state never twice" are
 * enforced in SQL (server/versions/version-store.ts).
 *
 * No dirty state lives only in timers. A room that loads with content is checked once after
 * the quiet period: if its state is not the newest version's (edits a crash or a shutdown
 * left without their version), a version is taken then. When the last client leaves, a
 * pending version is taken before the room unloads; at shutdown pending versions are
 * dropped and the next load's check takes them.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Locks } from '../cluster/locks.js';
import type { RoomLifecycle } from '../rooms/room-registry.js';
import type { Room } from '../rooms/room.js';
import type { ObservedRoom, UpdateObserver } from '../rooms/update-observer.js';
import type { UpdateOrigin } from '../rooms/update-origin.js';
import { isEmptyState } from './state-identity.js';
import type { Versions } from './versions.js';

export interface AutoVersionOptions {
  readonly versions: Versions;
  readonly locks: Locks;
  readonly clock: Clock;
  readonly logger: Logger;
  /** AUTO_VERSION_QUIET_MS */
  readonly quietMs: number;
  /** AUTO_VERSION_MAX_MS */
  readonly maxMs: number;
}

interface Pending {
  readonly room: Room;
  /** Edits accepted here since the last version was taken (or found already stored). */
  edited: boolean;
  firstEditAt: number;
  lastEditAt: number;
  /** `users.id` of the last editor: an automatic version is credited to them. */
  lastEditor: string | null;
  /** Edits counted, to see whether any came while a version was being taken. */
  edits: number;
  timer: NodeJS.Timeout | null;
  /** The version being taken now, if any. */
  running: Promise<void> | null;
  gone: boolean;
}

type Outcome = 'done' | 'locked';

/** Retry delay when another instance holds the document's lock. */
const LOCKED_RETRY_MS = 1000;

export class AutoVersions implements UpdateObserver, RoomLifecycle {
  private readonly pending = new Map<ObservedRoom, Pending>();
  /** Versions being taken, so shutdown can wait for them (bounded by live rooms: one each). */
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: AutoVersionOptions) {}

  // --- UpdateObserver (hot path: stamps only) ---------------------------------------

  updateApplied(room: ObservedRoom, _update: Uint8Array, origin: UpdateOrigin): void {
    if (origin.kind === 'remote') return;
    const now = this.options.clock.now();
    let entry = this.pending.get(room);
    if (entry === undefined) {
      if (this.closed) return;
      entry = { room: room as Room, edited: false, firstEditAt: now, lastEditAt: now, lastEditor: null, edits: 0, timer: null, running: null, gone: false };
      this.pending.set(room, entry);
    }
    entry.lastEditAt = now;
    entry.lastEditor = origin.userId;
    entry.edits++;
    if (!entry.edited) {
      entry.edited = true;
      entry.firstEditAt = now;
    }
    if (entry.timer === null && entry.running === null) this.arm(entry, this.options.quietMs);
  }

  // --- RoomLifecycle -------------------------------------------------------------------

  roomLoaded(room: Room): void {
    // Check once that the loaded state is versioned (see the module comment).
    if (this.closed || isEmptyState(room.doc) || this.pending.has(room)) return;
    const now = this.options.clock.now();
    const entry: Pending = { room, edited: false, firstEditAt: now, lastEditAt: now, lastEditor: null, edits: 0, timer: null, running: null, gone: false };
    this.pending.set(room, entry);
    this.arm(entry, this.options.quietMs);
  }

  roomUnloading(room: Room): Promise<void> {
    const entry = this.pending.get(room);
    if (entry === undefined) return Promise.resolve();
    this.disarm(entry);
    if (entry.running) return entry.running;
    // Nobody is left to wait for: a pending version is due now. An unloading room cannot
    // wait for a lock held elsewhere, so it goes ahead without (the hash check dedupes).
    if (entry.edited && !this.closed) return this.run(entry, false);
    this.forget(entry);
    return Promise.resolve();
  }

  roomGone(room: Room): void {
    const entry = this.pending.get(room);
    if (entry === undefined) return;
    entry.gone = true;
    this.disarm(entry);
    this.pending.delete(room);
  }

  /** Stops every timer and waits (bounded by the caller) for versions being taken. */
  async close(): Promise<void> {
    this.closed = true;
    for (const entry of this.pending.values()) this.disarm(entry);
    this.pending.clear();
    await Promise.all([...this.inFlight]);
  }

  /** Rooms with a version pending or being taken (metrics, tests). */
  get size(): number {
    return this.pending.size;
  }

  // --- Timers ----------------------------------------------------------------------

  private arm(entry: Pending, delayMs: number): void {
    const timer = setTimeout(() => this.fire(entry), Math.max(0, delayMs));
    timer.unref();
    entry.timer = timer;
  }

  private disarm(entry: Pending): void {
    if (entry.timer !== null) clearTimeout(entry.timer);
    entry.timer = null;
  }

  private forget(entry: Pending): void {
    if (this.pending.get(entry.room) === entry) this.pending.delete(entry.room);
  }

  private fire(entry: Pending): void {
    entry.timer = null;
    if (entry.gone || this.closed) return;
    if (entry.edited) {
      const { quietMs, maxMs } = this.options;
      const due = Math.min(entry.lastEditAt + quietMs, entry.firstEditAt + maxMs);
      const wait = due - this.options.clock.now();
      if (wait > 0) {
        this.arm(entry, wait);
        return;
      }
    }
    void this.run(entry, true);
  }

  /** Takes the version; never rejects (failures are logged and retried while the room lives). */
  private run(entry: Pending, underLock: boolean): Promise<void> {
    const { logger } = this.options;
    const startedAt = this.options.clock.now();
    const editsBefore = entry.edits;
    const running = this.take(entry, underLock).then(
      (outcome) => {
        entry.running = null;
        if (outcome === 'locked') return this.again(entry, Math.min(this.options.quietMs, LOCKED_RETRY_MS));
        if (entry.edits !== editsBefore) {
          // Edited while the version was being taken: those edits wait for the next one.
          entry.firstEditAt = startedAt;
          return this.again(entry, this.options.quietMs);
        }
        entry.edited = false;
        if (entry.timer === null) this.forget(entry);
      },
      (error: unknown) => {
        entry.running = null;
        logger.warn({ err: error, document: entry.room.name }, 'automatic version failed; retrying after the quiet period');
        this.again(entry, this.options.quietMs);
      },
    );
    entry.running = running;
    this.inFlight.add(running);
    void running.finally(() => this.inFlight.delete(running)).catch((error: unknown) => logger.error({ err: error }, 'automatic version bookkeeping failed'));
    return running;
  }

  private again(entry: Pending, delayMs: number): void {
    if (entry.gone || this.closed) return;
    if (entry.timer === null) this.arm(entry, delayMs);
  }

  private async take(entry: Pending, underLock: boolean): Promise<Outcome> {
    const { versions, locks, logger } = this.options;
    const room = entry.room;
    const lock = await locks.acquire(room.id);
    if (lock === null && underLock) return 'locked';
    try {
      const taken = await versions.take(room, room, { kind: 'auto', label: null, createdBy: entry.lastEditor });
      if (taken?.created) logger.debug({ document: room.name, version: taken.version.version }, 'automatic version taken');
      return 'done';
    } finally {
      await lock?.release().catch((error: unknown) => logger.warn({ err: error, document: room.name }, 'version lock not released; it expires by its TTL'));
    }
  }
}
