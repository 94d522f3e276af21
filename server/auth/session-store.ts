/**
 * Token sessions (`jti`), so a token can be revoked before it expires. In process here;
 * with REDIS_URL `RedisSessionStore` (cluster/redis-session-store.ts, `user:session:{id}`,
 * TTL 24 h) shares them with the other instances, behind the same interface.
 */
import { systemClock, type Clock } from '../clock.js';

export interface SessionStore {
  /** Records that the session is in use (first use or renewal); bounded by the session TTL. */
  touch(sessionId: string, userId: string, expiresAt: number): Promise<void>;
  /** True once the session was revoked (until the token could have expired anyway). */
  isRevoked(sessionId: string): Promise<boolean>;
  /** Revokes the session; returns the user it belonged to when known. */
  revoke(sessionId: string, until: number): Promise<string | null>;
}

/** Sessions live at most this long without being touched (docs/contracts.md "Redis keys": at most 24 h). */
export const SESSION_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Bounded by time: entries carry their own expiry and are swept when the map is
 * consulted, so a server that mints many tokens does not keep them forever.
 */
export class InProcessSessionStore implements SessionStore {
  private readonly sessions = new Map<string, { userId: string; expiresAt: number }>();
  private readonly revoked = new Map<string, number>();

  constructor(private readonly clock: Pick<Clock, 'now'> = systemClock) {}

  async touch(sessionId: string, userId: string, expiresAt: number): Promise<void> {
    this.sweep();
    this.sessions.set(sessionId, { userId, expiresAt: Math.min(expiresAt, this.clock.now() + SESSION_TTL_MS) });
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    const until = this.revoked.get(sessionId);
    return until !== undefined && until > this.clock.now();
  }

  async revoke(sessionId: string, until: number): Promise<string | null> {
    this.sweep();
    this.revoked.set(sessionId, until);
    return this.sessions.get(sessionId)?.userId ?? null;
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(id);
    for (const [id, until] of this.revoked) if (until <= now) this.revoked.delete(id);
  }
}
