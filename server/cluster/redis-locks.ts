import { randomUUID } from 'node:crypto';
import type { RedisConnection } from './redis-client.js';
import type { Logger } from 'pino';
import { checkTtl, LOCK_TTL_MS, type Lock, type Locks } from './locks.js';

/** Extends the key's TTL only while it still holds the caller's token. */
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
/** Deletes the key only while it still holds the caller's token (compare-and-delete). */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** The scripts, defined on the client under names no other module uses (EVALSHA, loaded on demand by ioredis). */
interface LockCommands {
  scriptoriumLockRenew(key: string, token: string, ttlMs: number): Promise<number>;
  scriptoriumLockRelease(key: string, token: string): Promise<number>;
}

const TIMED_OUT = Symbol('timed out');

/** `promise`, or TIMED_OUT once `ms` have passed (the promise keeps running). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface RedisLocksOptions {
  /**
   * A lock command that has not answered after this long counts as Redis unreachable
   * (default 2000 ms), so a stalled connection never holds up the work queue behind it.
   */
  readonly commandTimeoutMs?: number | undefined;
}

/**
 * Locks in Redis, shared by every instance: `doc:lock:{<id>}` (under the client's key
 * prefix; the braces are the Redis Cluster hash tag) holds a random token, set with
 * `SET NX PX ttl`; renew (PEXPIRE) and release (DEL) are Lua scripts that act only while the
 * key still holds the caller's token, so a holder whose lock expired and was taken by
 * another can never extend or free the other's.
 *
 * While Redis is unreachable (or a command does not answer in time) `acquire` resolves null,
 * logged: the work a lock guards is optional by design (compaction, automatic versions,
 * projections), so it is skipped until Redis is back rather than refusing anything or
 * failing loudly; `renew` resolves false (not confirmed) and `release` leaves the key to
 * expire by its TTL.
 */
export class RedisLocks implements Locks {
  private readonly redis: RedisConnection & LockCommands;
  private readonly timeoutMs: number;
  /** Set by the first failure of an outage: later ones are logged at debug, not once per attempt. */
  private unreachable = false;

  constructor(
    redis: RedisConnection,
    private readonly logger: Logger,
    options: RedisLocksOptions = {},
  ) {
    // Custom commands get the client's keyPrefix applied to their keys, like built-in ones.
    redis.defineCommand('scriptoriumLockRenew', { numberOfKeys: 1, lua: RENEW });
    redis.defineCommand('scriptoriumLockRelease', { numberOfKeys: 1, lua: RELEASE });
    this.redis = redis as RedisConnection & LockCommands;
    this.timeoutMs = options.commandTimeoutMs ?? 2000;
  }

  async acquire(documentId: string, ttlMs: number = LOCK_TTL_MS): Promise<Lock | null> {
    checkTtl(ttlMs);
    const key = lockKey(documentId);
    const token = randomUUID();
    const set = this.redis.set(key, token, 'PX', ttlMs, 'NX');
    let answer: 'OK' | null | typeof TIMED_OUT;
    try {
      answer = await within(set, this.timeoutMs);
    } catch (error) {
      this.failed({ err: error, documentId }, 'lock not taken: redis unreachable; the optional work is skipped while it is');
      return null;
    }
    if (answer === TIMED_OUT) {
      this.failed({ documentId, timeoutMs: this.timeoutMs }, 'lock not taken: redis did not answer in time; the optional work is skipped');
      // Should the SET still land, free it at once rather than blocking the others for a TTL.
      set.then((late) => (late === 'OK' ? this.releaseToken(documentId, key, token) : undefined)).catch(() => {});
      return null;
    }
    this.answered();
    if (answer !== 'OK') return null;
    return {
      token,
      renew: () => this.renewToken(documentId, key, token, ttlMs),
      release: () => this.releaseToken(documentId, key, token),
    };
  }

  private async renewToken(documentId: string, key: string, token: string, ttlMs: number): Promise<boolean> {
    try {
      const answer = await within(this.redis.scriptoriumLockRenew(key, token, ttlMs), this.timeoutMs);
      if (answer === TIMED_OUT) {
        this.failed({ documentId }, 'lock renewal not confirmed: redis did not answer in time');
        return false;
      }
      this.answered();
      return answer === 1;
    } catch (error) {
      this.failed({ err: error, documentId }, 'lock renewal not confirmed: redis unreachable');
      return false;
    }
  }

  private async releaseToken(documentId: string, key: string, token: string): Promise<void> {
    try {
      const answer = await within(this.redis.scriptoriumLockRelease(key, token), this.timeoutMs);
      if (answer === TIMED_OUT)
        this.failed({ documentId }, 'lock release not confirmed: redis did not answer in time; it expires by its TTL');
      else this.answered();
    } catch (error) {
      this.failed({ err: error, documentId }, 'lock release failed: redis unreachable; it expires by its TTL');
    }
  }

  private failed(details: Record<string, unknown>, message: string): void {
    if (this.unreachable) {
      this.logger.debug(details, message);
      return;
    }
    this.unreachable = true;
    this.logger.warn(details, message);
  }

  private answered(): void {
    if (!this.unreachable) return;
    this.unreachable = false;
    this.logger.info('locks: redis answers again');
  }
}

/** The key of docs/contracts.md "Redis keys"; the braces are a Redis Cluster hash tag. */
export const lockKey = (documentId: string) => `doc:lock:{${documentId}}`;
