import type { RedisConnection } from './redis-client.js';
import type { Logger } from 'pino';
import type { RateLimitDecision, RateLimitStore } from '../http/rate-limit.js';

/**
 * Fixed-window counters in Redis (`rate_limit:{userId}:{endpoint}`), so a limit holds
 * across instances: INCR, and the first hit of a window sets its expiry. While Redis is
 * unreachable requests are allowed (logged): the limit protects the service, an outage
 * must not take the API down with it.
 */
export class RedisRateLimitStore implements RateLimitStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly logger: Logger,
  ) {}

  async hit(key: string, limit: number, windowMs: number): Promise<RateLimitDecision> {
    try {
      const results = await this.redis.multi().incr(key).pexpire(key, windowMs, 'NX').pttl(key).exec();
      const count = Number(results?.[0]?.[1] ?? 0);
      const ttl = Number(results?.[2]?.[1] ?? windowMs);
      if (count <= limit) return { allowed: true, retryAfterSeconds: 0 };
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(ttl / 1000)) };
    } catch (error) {
      this.logger.warn({ err: error }, 'rate limit not checked: redis unreachable');
      return { allowed: true, retryAfterSeconds: 0 };
    }
  }
}
