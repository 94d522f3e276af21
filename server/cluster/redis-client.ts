import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** A connection to Redis (what the Redis-backed stores, locks and events take). */
export type RedisConnection = Redis;

/**
 * The Redis connection (REDIS_URL) with the key prefix (REDIS_PREFIX) applied by ioredis
 * to every key. Commands fail fast while Redis is unreachable (no offline queue), so a
 * caller can degrade instead of hanging; ioredis reconnects on its own.
 */
export function createRedisClient(url: string, prefix: string, logger: Logger): RedisConnection {
  const redis = new Redis(url, { keyPrefix: prefix, enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
  let reported = false;
  redis.on('error', (error) => {
    if (reported) return;
    reported = true;
    logger.warn({ err: error }, 'redis unreachable; retrying');
  });
  redis.on('ready', () => {
    if (reported) logger.info('redis reachable again');
    reported = false;
  });
  return redis;
}

/**
 * A connection for SUBSCRIBE (subscriber mode takes a connection of its own). Commands
 * wait while Redis is unreachable, and ioredis resubscribes after a reconnect; the owner
 * listens to its `error`/`close`/`ready` events.
 */
export function createRedisSubscriber(url: string): RedisConnection {
  return new Redis(url, { maxRetriesPerRequest: null });
}
