import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { parseRedisEndpoint } from './redis-endpoint.js';

/** A connection to Redis, one server or a Cluster (what the Redis-backed stores, locks and events take). */
export type RedisConnection = Redis | Cluster;

export interface ConnectionOptions {
  readonly keyPrefix?: string;
  /** False: commands fail at once while Redis is unreachable (the caller degrades); true: they wait. */
  readonly waitWhileDown: boolean;
  /** Cluster only: SSUBSCRIBE through one subscriber connection per shard (ioredis `shardedSubscribers`). */
  readonly shardedSubscribers?: boolean;
}

/** One server or a Cluster, as REDIS_URL says (`redis-cluster://host:port,…`: see redis-endpoint.ts). */
export function openRedisConnection(url: string, options: ConnectionOptions): RedisConnection {
  const endpoint = parseRedisEndpoint(url);
  // Subscribers resubscribe themselves on 'ready' (redis-subscriber.ts): ioredis's own
  // resubscription holds a promise nobody handles, which a close at the wrong moment rejects
  // as an unhandled rejection (a crash, exit 70).
  const perNode: RedisOptions = options.waitWhileDown
    ? { maxRetriesPerRequest: null, autoResubscribe: false }
    : { enableOfflineQueue: false, maxRetriesPerRequest: 1 };
  if (endpoint.kind === 'single') return new Redis(url, { ...perNode, ...(options.keyPrefix ? { keyPrefix: options.keyPrefix } : {}) });
  return new Cluster(
    endpoint.nodes.map(({ host, port }) => ({ host, port })),
    {
      ...(options.keyPrefix ? { keyPrefix: options.keyPrefix } : {}),
      enableOfflineQueue: options.waitWhileDown,
      shardedSubscribers: options.shardedSubscribers ?? false,
      redisOptions: { ...perNode, username: endpoint.username, password: endpoint.password },
    },
  );
}

/**
 * The Redis connection (REDIS_URL) with the key prefix (REDIS_PREFIX) applied by ioredis
 * to every key. Commands fail fast while Redis is unreachable (no offline queue), so a
 * caller can degrade instead of hanging; ioredis reconnects on its own.
 */
export function createRedisClient(url: string, prefix: string, logger: Logger): RedisConnection {
  const redis = openRedisConnection(url, { keyPrefix: prefix, waitWhileDown: false });
  let reported = false;
  redis.on('error', (error: Error) => {
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
 * wait while Redis is unreachable; a RedisSubscriber on it resubscribes after a reconnect.
 */
export function createRedisSubscriber(url: string): RedisConnection {
  return openRedisConnection(url, { waitWhileDown: true });
}
