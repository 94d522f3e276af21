import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../clock.js';

/**
 * Per-document locks between instances (`doc:lock:{id}`, docs/contracts.md "Redis keys"), so that one instance
 * at a time does a document's optional background work: compaction, the automatic version,
 * the research-tree projection. A lock only saves duplicate work: correctness never depends
 * on it (a lock can expire under a slow holder, or be skipped while Redis is down); the
 * compare-and-set in SQL stays the guard. Implementations: in process (one instance, tests)
 * and Redis (`SET NX PX` with a random token, compare-and-delete release). The one lock
 * interface of the server: storage, versions and the projection all take a `Locks`.
 */
export interface Locks {
  /**
   * Takes the document's lock for `ttlMs` (default 30 s). Null when another holder has it —
   * and, for the Redis implementation, while Redis is unreachable (logged): the work it
   * guards is optional, so it is skipped rather than done without knowing who else does it.
   */
  acquire(documentId: string, ttlMs?: number): Promise<Lock | null>;
}

export interface Lock {
  /** Random per acquisition: renew and release act only while the stored token is this one. */
  readonly token: string;
  /**
   * Extends the lock by its TTL from now. True when it is confirmed extended; false when it
   * is no longer this holder's (expired, taken by another, released) or could not be
   * confirmed (Redis unreachable) — treat false as lost.
   */
  renew(): Promise<boolean>;
  /** Frees the lock if this holder still has it; never frees another's. Never rejects. */
  release(): Promise<void>;
}

/** docs/contracts.md "Redis keys": `doc:lock:{id}` lives 30 s unless renewed. */
export const LOCK_TTL_MS = 30_000;

export function checkTtl(ttlMs: number): number {
  if (!Number.isInteger(ttlMs) || ttlMs < 1) throw new RangeError(`lock TTL must be a positive whole number of milliseconds, got ${ttlMs}`);
  return ttlMs;
}

/**
 * Locks of one process, with the same semantics as the Redis ones: random tokens, expiry by
 * the injected clock (checked when the lock is consulted, no timers), and renew/release that
 * compare the token. Instances that should exclude each other share one InProcessLocks.
 */
export class InProcessLocks implements Locks {
  private readonly held = new Map<string, { token: string; expiresAt: number }>();

  constructor(private readonly clock: Pick<Clock, 'now'> = systemClock) {}

  async acquire(documentId: string, ttlMs: number = LOCK_TTL_MS): Promise<Lock | null> {
    checkTtl(ttlMs);
    this.sweep();
    if (this.held.has(documentId)) return null;
    const token = randomUUID();
    this.held.set(documentId, { token, expiresAt: this.clock.now() + ttlMs });
    return {
      token,
      renew: async () => {
        const entry = this.current(documentId);
        if (entry?.token !== token) return false;
        entry.expiresAt = this.clock.now() + ttlMs;
        return true;
      },
      release: async () => {
        if (this.current(documentId)?.token === token) this.held.delete(documentId);
      },
    };
  }

  /** The live entry of a document (an expired one is gone, as a Redis key would be). */
  private current(documentId: string): { token: string; expiresAt: number } | undefined {
    const entry = this.held.get(documentId);
    if (entry && entry.expiresAt <= this.clock.now()) {
      this.held.delete(documentId);
      return undefined;
    }
    return entry;
  }

  /** Bounded by time: expired entries are dropped whenever a lock is taken. */
  private sweep(): void {
    const now = this.clock.now();
    for (const [id, entry] of this.held) if (entry.expiresAt <= now) this.held.delete(id);
  }
}

/** A lock that guards nothing: what work holds that goes ahead without one. */
export const UNLOCKED: Lock = Object.freeze({ token: '', renew: () => Promise.resolve(true), release: () => Promise.resolve() });

/**
 * `locks`, except that while `down()` says the lock service is unreachable every acquire
 * resolves UNLOCKED without asking it: the guarded work goes ahead unlocked rather than
 * waiting for Redis, since SQL keeps it correct (compaction's compare-and-set, the
 * versions' unique constraints) and the lock only saves duplicate work.
 */
export function unlockedWhileDown(locks: Locks, down: () => boolean): Locks {
  return { acquire: (documentId, ttlMs) => (down() ? Promise.resolve(UNLOCKED) : locks.acquire(documentId, ttlMs)) };
}

export interface WithLockOptions {
  /** Renewal failures and a lost lock are logged here (never unhandled). */
  readonly logger: Logger;
  /** Default 30 s; the lock is renewed every third of it while `fn` runs. */
  readonly ttlMs?: number | undefined;
}

/**
 * Runs `fn` while holding the document's lock: acquires it, renews it every ttl/3 while `fn`
 * runs, and releases it when `fn` settles, whichever way. Resolves null without running `fn`
 * when the lock is held elsewhere (or Redis is unreachable); otherwise with `fn`'s result, or
 * rejects with `fn`'s error. `lost` is aborted if a renewal reports the lock gone (`fn` may
 * stop early; finishing is still safe, since nothing relies on the lock for correctness).
 * (A `fn` that itself resolves null is indistinguishable from "not run"; return something else.)
 */
export async function withLock<T>(
  locks: Locks,
  documentId: string,
  fn: (lost: AbortSignal) => Promise<T>,
  options: WithLockOptions,
): Promise<T | null> {
  const { logger } = options;
  const ttlMs = checkTtl(options.ttlMs ?? LOCK_TTL_MS);
  const lock = await locks.acquire(documentId, ttlMs);
  if (!lock) return null;

  const lost = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  const interval = Math.max(1, Math.floor(ttlMs / 3));
  // One renewal at a time: the next is scheduled only once the previous has answered.
  const schedule = () => {
    timer = setTimeout(() => {
      timer = undefined;
      void renewOnce();
    }, interval);
    timer.unref();
  };
  const renewOnce = async () => {
    let renewed: boolean;
    try {
      renewed = await lock.renew();
    } catch (error) {
      // Could not tell: try again at the next interval (the lock may well still be ours).
      if (!done) {
        logger.warn({ err: error, documentId }, 'lock renewal failed; retrying');
        schedule();
      }
      return;
    }
    if (done) return;
    if (renewed) {
      schedule();
      return;
    }
    logger.warn({ documentId }, 'lock lost while its work was running (expired or not confirmed); the work goes on unguarded');
    lost.abort(new Error(`lock on ${documentId} lost`));
  };

  schedule();
  try {
    return await fn(lost.signal);
  } finally {
    done = true;
    clearTimeout(timer);
    try {
      await lock.release();
    } catch (error) {
      // A release that fails leaves the lock to expire by its TTL; never mask fn's outcome.
      logger.warn({ err: error, documentId }, 'lock release failed; it expires by its TTL');
    }
  }
}
