/**
 * The services behind the server, each Redis-backed when REDIS_URL is set and in process
 * otherwise (or injected by the caller), plus storage and its database. Every one registers
 * its close on the server's disposer stack right after it is opened.
 */
import type { Logger } from 'pino';
import { InProcessAccessEvents, type AccessEvents } from './auth/access-events.js';
import { DurableSessionStore } from './auth/durable-session-store.js';
import { InProcessSessionStore, type SessionStore } from './auth/session-store.js';
import type { Clock } from './clock.js';
import type { Bus } from './cluster/bus.js';
import { InProcessLocks, unlockedWhileDown, type Locks } from './cluster/locks.js';
import type { Presence } from './cluster/presence.js';
import { RedisAccessEvents } from './cluster/redis-access-events.js';
import { RedisBus } from './cluster/redis-bus.js';
import { createRedisClient, createRedisSubscriber, type RedisConnection } from './cluster/redis-client.js';
import { RedisLocks } from './cluster/redis-locks.js';
import { RedisPresence } from './cluster/redis-presence.js';
import { RedisRateLimitStore } from './cluster/redis-rate-limit-store.js';
import { RedisSessionStore } from './cluster/redis-session-store.js';
import type { Config } from './config.js';
import type { DisposerStack } from './disposers.js';
import { InProcessRateLimitStore, type RateLimitStore } from './http/rate-limit.js';
import type { Db } from './persistence/db.js';
import { beforeDeadline } from './persistence/deadline.js';
import type { DocumentStorage } from './persistence/storage.js';
import { openConfiguredStorage } from './storage-factory.js';

/** Storage the caller opened: the server uses it and flushes it at shutdown, but does not close it. */
export interface InjectedStorage {
  readonly storage: DocumentStorage;
  /** The database behind it, for the HTTP API (null: no history API). */
  readonly db: Db | null;
}

/** Services a caller (a test) may inject instead of the configured ones. */
export interface InjectedBackends {
  /** Default: opened from the configuration (STORAGE, DATABASE_URL, DATA_DIR) and closed at shutdown. */
  readonly storage?: InjectedStorage;
  /** Token sessions (revocation). Default: in process. */
  readonly sessions?: SessionStore;
  /** Revocation and membership events. Default: in process. */
  readonly accessEvents?: AccessEvents;
  /** Per-user HTTP rate-limit counters. Default: in process. */
  readonly rateLimits?: RateLimitStore;
  /** The bus to other instances. Default: Redis pub/sub with REDIS_URL, else none (single instance). */
  readonly bus?: Bus;
  /** Who is in which document (GET /api/documents/:name/presence). Default: Redis with REDIS_URL, else in process. */
  readonly presence?: Presence;
  /** Per-document locks (compaction, automatic versions). Default: Redis with REDIS_URL, else in process. */
  readonly locks?: Locks;
}

export interface Backends {
  /** Holds what must agree across instances (sessions, rate limits, locks, presence); null without REDIS_URL. */
  readonly redis: RedisConnection | null;
  /** The per-document lock as compaction, automatic versions and the tree projection take it. */
  readonly documentLock: Locks;
  readonly storage: DocumentStorage;
  /** The database behind storage (null: STORAGE=memory, or injected without one). */
  readonly db: Db | null;
  /**
   * Settles when storage was closed at shutdown (storage the server opened) or flushed
   * (injected storage): true when every accepted edit was committed in time. Never rejects.
   */
  readonly committed: Promise<boolean>;
  readonly sessions: SessionStore;
  readonly accessEvents: AccessEvents;
  readonly rateLimits: RateLimitStore;
  /** Edits and awareness to and from other instances; null: single instance. */
  readonly bus: Bus | null;
  /** A presence store shared by the instances (Redis, or injected); null: this instance's own sessions answer. */
  readonly sharedPresence: Presence | null;
}

/**
 * Opens the services in dependency order, registering each close on `disposers` right
 * after it opened: if a later one fails, the caller's disposal closes the earlier ones.
 */
export async function openBackends(
  config: Config,
  injected: InjectedBackends,
  logger: Logger,
  clock: Clock,
  disposers: DisposerStack,
): Promise<Backends> {
  const redis = config.redisUrl ? createRedisClient(config.redisUrl, config.redisPrefix, logger) : null;
  if (redis) {
    disposers.add('redis', () => redis.quit().catch(() => redis.disconnect()));
    logger.info({ prefix: config.redisPrefix }, 'redis: edits, awareness, sessions and rate limits are shared with the other instances');
  }

  // One instance at a time compacts a document or takes its automatic version; while Redis is
  // down both go ahead unlocked (see unlockedWhileDown).
  const locks: Locks = injected.locks ?? (redis ? new RedisLocks(redis, logger) : new InProcessLocks(clock));
  const documentLock = redis ? unlockedWhileDown(locks, () => redis.status !== 'ready') : locks;

  const { storage, db } = injected.storage ?? (await openConfiguredStorage(config, logger, documentLock));
  let reportCommitted: (committed: boolean) => void = () => {};
  const committed = new Promise<boolean>((resolve) => (reportCommitted = resolve));
  // Closed after everything that was opened later (all that writes to it or reads the
  // database), and only when the server opened it.
  disposers.add('storage', (deadline) =>
    commitAccepted(storage, !injected.storage, deadline).then(reportCommitted, (error: unknown) => {
      reportCommitted(false);
      throw error; // logged by the stack
    }),
  );

  // Revocations are kept in PostgreSQL (they survive restarts of the server and of Redis); the
  // in-process or Redis store is their fast copy.
  const fastSessions = injected.sessions ?? (redis ? new RedisSessionStore(redis, logger) : new InProcessSessionStore(clock));
  const durableSessions = db ? new DurableSessionStore(fastSessions, db, logger) : null;
  if (durableSessions) disposers.add('revoked sessions', () => durableSessions.close());

  // Revocations and membership changes close connections on every instance.
  const redisAccessEvents =
    !injected.accessEvents && redis && config.redisUrl
      ? new RedisAccessEvents(redis, createRedisSubscriber(config.redisUrl), config.redisPrefix, logger)
      : null;
  if (redisAccessEvents) disposers.add('access events', () => redisAccessEvents.close());

  const rateLimits = injected.rateLimits ?? (redis ? new RedisRateLimitStore(redis, logger) : new InProcessRateLimitStore());

  // Several instances: edits and awareness relayed over the bus (Redis, or injected for tests).
  const bus = injected.bus ?? (config.redisUrl ? new RedisBus(config.redisUrl, config.redisPrefix, logger) : null);
  if (bus) disposers.add('bus', () => bus.close());

  const sharedPresence = injected.presence ?? (redis ? new RedisPresence(redis, logger, clock) : null);

  return {
    redis,
    documentLock,
    storage,
    db,
    committed,
    sessions: durableSessions ?? fastSessions,
    accessEvents: injected.accessEvents ?? redisAccessEvents ?? new InProcessAccessEvents(),
    rateLimits,
    bus,
    sharedPresence,
  };
}

/**
 * Commits every accepted edit, by `deadline`: storage the server opened is closed (it flushes
 * first, and compacts nothing), injected storage is only flushed. True when all was committed.
 */
function commitAccepted(storage: DocumentStorage, owned: boolean, deadline: number): Promise<boolean> {
  if (owned) return storage.close(Math.max(0, deadline - performance.now()));
  return beforeDeadline(
    storage.flush().then(
      () => true,
      () => false,
    ),
    deadline,
    false,
  );
}
