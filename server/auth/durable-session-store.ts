/**
 * Token sessions whose revocations survive restarts: PostgreSQL (`revoked_sessions`) is the
 * source of truth, the wrapped store (in process, or Redis with REDIS_URL) the fast copy.
 *
 * - `revoke` writes PostgreSQL first (a revocation that is not stored fails, so the admin
 *   knows), then the fast copy; a fast copy that cannot be written (Redis down) is logged:
 *   the revocation holds all the same, since every check reads PostgreSQL too.
 * - `isRevoked` asks the fast copy first (a revoked session is refused without a query),
 *   then PostgreSQL — so a revocation holds after the server restarts (the in-process copy is
 *   gone) and after Redis restarts (it keeps nothing durable), on every instance.
 * - A row is kept as long as a token of its session could still be valid (the `until` the
 *   caller gives: MAX_TOKEN_TTL_SECONDS plus the clock skew), then purged: at start and every
 *   PURGE_INTERVAL_MS.
 */
import type { Logger } from 'pino';
import type { Queryable } from '../persistence/db.js';
import { isRevocationRecorded, purgeRevocations, recordRevocation } from '../persistence/revoked-sessions.js';
import type { SessionStore } from './session-store.js';

export const PURGE_INTERVAL_MS = 60 * 60 * 1000;

export class DurableSessionStore implements SessionStore {
  private readonly purgeTimer: NodeJS.Timeout;

  constructor(
    private readonly fast: SessionStore,
    private readonly db: Queryable,
    private readonly logger: Logger,
  ) {
    this.purge();
    this.purgeTimer = setInterval(() => this.purge(), PURGE_INTERVAL_MS);
    this.purgeTimer.unref();
  }

  touch(sessionId: string, userId: string, expiresAt: number): Promise<void> {
    return this.fast.touch(sessionId, userId, expiresAt);
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    return (await this.fast.isRevoked(sessionId)) || isRevocationRecorded(this.db, sessionId);
  }

  async revoke(sessionId: string, until: number): Promise<string | null> {
    await recordRevocation(this.db, sessionId, until);
    try {
      return await this.fast.revoke(sessionId, until);
    } catch (error) {
      this.logger.warn(
        { err: error, sessionId },
        'revocation stored in PostgreSQL, but not in the shared session store (redis unreachable?); it holds all the same',
      );
      return null;
    }
  }

  close(): void {
    clearInterval(this.purgeTimer);
  }

  private purge(): void {
    purgeRevocations(this.db).then(
      (purged) => {
        if (purged > 0) this.logger.debug({ purged }, 'expired revocations purged');
      },
      (error: unknown) => this.logger.warn({ err: error }, 'expired revocations could not be purged; retried later'),
    );
  }
}
