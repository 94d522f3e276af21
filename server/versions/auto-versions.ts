/**
 * Automatic versions: one is taken AUTO_VERSION_QUIET_MS after the last edit, and at least
 * every AUTO_VERSION_MAX_MS while editing goes on.
 *
 * The timing is server/quiet-period-scheduler.ts' (per live room at most one timer, no
 * timer work per edit; edits made while a version is being taken wait for the next). Only
 * edits this instance accepted (local and server origins) count: the instance that
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
import type { RoomExtension } from '../rooms/room-extension.js';
import type { Room } from '../rooms/room.js';
import type { UpdateOrigin } from '../rooms/update-origin.js';
import { QuietPeriodScheduler, type RunOutcome } from '../quiet-period-scheduler.js';
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

/** What is kept per room with a version pending. */
interface Pending {
  readonly room: Room;
  /** `users.id` of the last editor: an automatic version is credited to them. */
  lastEditor: string | null;
}

/** Retry delay when another instance holds the document's lock. */
const LOCKED_RETRY_MS = 1000;

/**
 * Rooms with a version pending, at most. Beyond it a room's edits wait for its next edit
 * once there is room, or for its next load's check (logged once).
 */
const MAX_PENDING_ROOMS = 100_000;

export class AutoVersions implements RoomExtension {
  private readonly scheduler: QuietPeriodScheduler<Room, Pending>;
  private fullWarned = false;

  constructor(private readonly options: AutoVersionOptions) {
    const { clock, logger, quietMs, maxMs } = options;
    this.scheduler = new QuietPeriodScheduler<Room, Pending>({
      clock,
      quietMs,
      maxDelayMs: maxMs,
      maxKeys: MAX_PENDING_ROOMS,
      create: (room) => ({ room, lastEditor: null }),
      full: () => {
        if (!this.fullWarned)
          logger.warn(
            { maxPending: MAX_PENDING_ROOMS },
            'automatic versions: too many rooms pending; the others are versioned after their next edit or load',
          );
        this.fullWarned = true;
      },
      // Timers take it under the document lock; a closing room goes ahead without (see `unloading`).
      run: (_room, pending, reason) => this.take(pending, reason === 'due'),
      failed: (_room, pending, error) => {
        logger.warn({ err: error, document: pending.room.name }, 'automatic version failed; retrying after the quiet period');
        return { retryInMs: quietMs };
      },
    });
  }

  // --- A room's life (RoomExtension); updateApplied is the hot path: stamps only ---------

  updateApplied(room: Room, _update: Uint8Array, origin: UpdateOrigin): void {
    if (origin.kind === 'remote') return;
    const pending = this.scheduler.changed(room);
    if (pending !== null) pending.lastEditor = origin.userId;
  }

  loaded(room: Room): void {
    // Check once that the loaded state is versioned (see the module comment).
    if (!isEmptyState(room.doc)) this.scheduler.check(room);
  }

  unloading(room: Room): Promise<void> {
    // Nobody is left to wait for: a pending version is due now. An unloading room cannot
    // wait for a lock held elsewhere, so it goes ahead without (the hash check dedupes).
    return this.scheduler.flush(room);
  }

  gone(room: Room): void {
    this.scheduler.forget(room);
  }

  /** Stops every timer and waits (bounded by the caller) for versions being taken. */
  close(): Promise<void> {
    return this.scheduler.close({ dropPending: true });
  }

  /** Rooms with a version pending or being taken (metrics, tests). */
  get size(): number {
    return this.scheduler.size;
  }

  private async take(pending: Pending, underLock: boolean): Promise<RunOutcome> {
    const { versions, locks, logger, quietMs } = this.options;
    const room = pending.room;
    const lock = await locks.acquire(room.id);
    if (lock === null && underLock) return { retryInMs: Math.min(quietMs, LOCKED_RETRY_MS) };
    try {
      const taken = await versions.take(room, room, { kind: 'auto', label: null, createdBy: pending.lastEditor });
      if (taken?.created) logger.debug({ document: room.name, version: taken.version.version }, 'automatic version taken');
      return 'done';
    } finally {
      await lock
        ?.release()
        .catch((error: unknown) => logger.warn({ err: error, document: room.name }, 'version lock not released; it expires by its TTL'));
    }
  }
}
