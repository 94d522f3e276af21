import type { Logger } from 'pino';
import { systemClock, type Clock } from '../clock.js';
import type { RedisConnection } from './redis-client.js';
import { SESSION_TTL_MS, type SessionStore } from '../auth/session-store.js';

/**
 * Token sessions in Redis, shared by every instance: `user:session:{id}` is a hash with
 * the user and, once revoked, the revocation time; it expires with the session (at most
 * 24 h). While Redis is unreachable a revocation cannot be checked: opening a document
 * then goes ahead (logged) rather than locking every user out — an outage must not stop
 * editing; `revoke` itself fails loudly so the admin knows it did not take.
 */
export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly logger: Logger,
    private readonly clock: Pick<Clock, 'now'> = systemClock,
  ) {}

  async touch(sessionId: string, userId: string, expiresAt: number): Promise<void> {
    const ttl = Math.max(1, Math.min(expiresAt - this.clock.now(), SESSION_TTL_MS));
    try {
      // Never shortens a revocation: the TTL only grows back to the session's own.
      await this.redis
        .multi()
        .hset(key(sessionId), 'userId', userId)
        .pexpire(key(sessionId), ttl, 'GT')
        .pexpire(key(sessionId), ttl, 'NX')
        .exec();
    } catch (error) {
      this.logger.warn({ err: error }, 'session not recorded: redis unreachable');
    }
  }

  async isRevoked(sessionId: string): Promise<boolean> {
    try {
      return (await this.redis.hget(key(sessionId), 'revokedAt')) !== null;
    } catch (error) {
      this.logger.warn({ err: error, sessionId }, 'revocation not checked: redis unreachable');
      return false;
    }
  }

  async revoke(sessionId: string, until: number): Promise<string | null> {
    const ttl = Math.max(1, until - this.clock.now());
    const results = await this.redis
      .multi()
      .hget(key(sessionId), 'userId')
      .hset(key(sessionId), 'revokedAt', String(this.clock.now()))
      .pexpire(key(sessionId), ttl)
      .exec();
    const userId = results?.[0]?.[1];
    return typeof userId === 'string' ? userId : null;
  }
}

/** The key of docs/contracts.md "Redis keys"; the braces are a Redis Cluster hash tag. */
const key = (sessionId: string) => `user:session:{${sessionId}}`;
