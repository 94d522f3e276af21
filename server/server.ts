import type { Logger } from 'pino';
import type { Db } from './persistence/db.js';
import { beforeDeadline } from './persistence/deadline.js';
import type { DocumentStorage } from './persistence/storage.js';
import { InProcessAccessEvents, type AccessEvents } from './auth/access-events.js';
import { openAuthorizer, type Authorizer } from './auth/authorizer.js';
import { ProjectAuthorizer } from './auth/project-authorizer.js';
import { DenialAudit } from './auth/denial-audit.js';
import { DurableSessionStore } from './auth/durable-session-store.js';
import { InProcessSessionStore, type SessionStore } from './auth/session-store.js';
import { Tokens } from './auth/tokens.js';
import { systemClock, type Clock } from './clock.js';
import { configFromEnv, type Config } from './config.js';
import { documentRoutes } from './http/document-api.js';
import { versionRoutes } from './http/version-api.js';
import type { ApiDependencies } from './http/api-dependencies.js';
import type { Bus } from './cluster/bus.js';
import { InProcessLocks, unlockedWhileDown, type Locks } from './cluster/locks.js';
import { RedisLocks } from './cluster/redis-locks.js';
import { BusRelay } from './cluster/bus-relay.js';
import { RedisBus } from './cluster/redis-bus.js';
import { RedisAccessEvents } from './cluster/redis-access-events.js';
import { createRedisClient, createRedisSubscriber } from './cluster/redis-client.js';
import { RedisRateLimitStore } from './cluster/redis-rate-limit-store.js';
import { RedisSessionStore } from './cluster/redis-session-store.js';
import type { Presence } from './cluster/presence.js';
import { livePresence, NO_PRESENCE_SINK, SessionPresence } from './cluster/session-presence.js';
import { RedisPresence } from './cluster/redis-presence.js';
import { withCors } from './http/cors.js';
import { InProcessRateLimitStore, rateLimitRoutes, type RateLimitStore } from './http/rate-limit.js';
import { bearerToken } from './http/request-auth.js';
import { createHttpHandler } from './http/routes.js';
import { createStaticFiles } from './http/static-files.js';
import { createLogger } from './logger.js';
import { createMetrics, type ServerMetrics } from './metrics.js';
import { closeFor } from './protocol/close-codes.js';
import { createSocketHandlers } from './protocol/endpoints.js';
import { Keepalive } from './protocol/keepalive.js';
import { LiveSessions } from './protocol/live-sessions.js';
import { AWARENESS_SWEEP_MS } from './rooms/awareness-table.js';
import { expireAwareness } from './rooms/awareness-expiry.js';
import { RoomRegistry } from './rooms/room-registry.js';
import { StorageWriter } from './rooms/storage-writer.js';
import { TreeProjection } from './research-trees/tree-projection.js';
import type { UpdateObserver } from './rooms/update-observer.js';
import { openConfiguredStorage } from './storage-factory.js';
import type { AccessDenial } from './protocol/context.js';
import { AutoVersions } from './versions/auto-versions.js';
import { DocumentRequests } from './versions/document-requests.js';
import { StatelessDocumentRequests } from './versions/version-stateless.js';
import { treeProjectionListener } from './research-trees/tree-version-listener.js';
import { Versions, type VersionListener } from './versions/versions.js';
import { selectTransport } from './transport/select-transport.js';
import type { HttpRequest, Transport, TransportKind } from './transport/transport.js';

export interface RunningServer {
  readonly port: number;
  readonly transport: TransportKind;
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  /** Keeps research_trees up to date (null without a database); call refresh(…, { versionTaken: true }) when a version is taken. */
  readonly treeProjection: TreeProjection | null;
  /** Taking and storing versions (null with STORAGE=memory, which keeps none). */
  readonly versions: Versions | null;
  /**
   * Stops accepting, closes sockets with 1001, flushes storage — all within
   * SHUTDOWN_TIMEOUT_MS. Resolves true when every accepted edit was committed. Idempotent.
   */
  close(): Promise<boolean>;
}

/** Storage the caller opened: the server uses it and flushes it at shutdown, but does not close it. */
export interface InjectedStorage {
  readonly storage: DocumentStorage;
  /** The database behind it, for the HTTP API (null: no history API). */
  readonly db: Db | null;
}

export interface StartOptions {
  /** Overrides on top of the environment's configuration. */
  readonly config?: Partial<Config>;
  readonly logger?: Logger;
  /** Default: open mode (every connection an anonymous editor). */
  readonly authorizer?: Authorizer;
  /** Default: opened from the configuration (STORAGE, DATABASE_URL, DATA_DIR) and closed at shutdown. */
  readonly storage?: InjectedStorage;
  readonly clock?: Clock;
  /** Default: a fresh set reading the storage's stats. */
  readonly metrics?: ServerMetrics;
  /** Observers attached to every room after storage and before the local fan-out (bus, triggers). */
  readonly observers?: readonly UpdateObserver[];
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
  /** Told after every version stored (e.g. the research-tree projection). */
  readonly versionListeners?: readonly VersionListener[];
}

/** Starts a server; the entry point (main.ts) and the tests both use this. */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const config: Config = { ...configFromEnv(), ...options.config };
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  if (config.authSecret && !options.authorizer && !options.storage && config.storage === 'memory') {
    throw new Error('AUTH_SECRET needs the database (users, projects, memberships): it cannot run with STORAGE=memory');
  }
  // Redis holds what must agree across instances: token sessions (revocation) and rate limits.
  const redis = config.redisUrl ? createRedisClient(config.redisUrl, config.redisPrefix, logger) : null;
  if (redis) logger.info({ prefix: config.redisPrefix }, 'redis: edits, awareness, sessions and rate limits are shared with the other instances');

  const ownsStorage = !options.storage;
  // One instance at a time compacts a document or takes its automatic version; while Redis is
  // down both go ahead unlocked (see unlockedWhileDown).
  const locks: Locks = options.locks ?? (redis ? new RedisLocks(redis, logger) : new InProcessLocks(clock));
  const documentLock = redis ? unlockedWhileDown(locks, () => redis.status !== 'ready') : locks;
  const { storage, db } = options.storage ?? (await openConfiguredStorage(config, logger, documentLock));
  // Revocations are kept in PostgreSQL (they survive restarts of the server and of Redis); the
  // in-process or Redis store is their fast copy.
  const fastSessions = options.sessions ?? (redis ? new RedisSessionStore(redis, logger) : new InProcessSessionStore());
  const durableSessions = db ? new DurableSessionStore(fastSessions, db, logger) : null;
  const sessions: SessionStore = durableSessions ?? fastSessions;
  // Revocations and membership changes close connections on every instance.
  const redisAccessEvents = !options.accessEvents && redis && config.redisUrl ? new RedisAccessEvents(redis, createRedisSubscriber(config.redisUrl), config.redisPrefix, logger) : null;
  const accessEvents = options.accessEvents ?? redisAccessEvents ?? new InProcessAccessEvents();
  const tokens = config.authSecret ? new Tokens(config.authSecret, config.maxTokenTtlSeconds) : null;
  let authorizer: Authorizer;
  if (options.authorizer) authorizer = options.authorizer;
  else if (tokens && db) authorizer = new ProjectAuthorizer(db, tokens, sessions);
  else if (tokens) throw new Error('AUTH_SECRET needs the database (users, projects, memberships): the injected storage has none');
  else {
    authorizer = openAuthorizer;
    logger.warn('open mode (no AUTH_SECRET): every connection is an anonymous editor and documents are created on first use');
  }
  let shuttingDown = false;
  // Several instances: edits and awareness relayed over the bus (Redis, or injected for tests).
  const bus = options.bus ?? (config.redisUrl ? new RedisBus(config.redisUrl, config.redisPrefix, logger) : null);
  const metrics =
    options.metrics ?? createMetrics({ storageHealthy: () => storage.healthy, storageStats: () => storage.stats, busHealthy: bus ? () => bus.healthy : undefined });

  // The transport is created after the registry needs a publisher: bridge through a holder.
  let transport: Transport | null = null;
  const publisher = { publish: (topic: string, frame: Uint8Array) => transport?.publish(topic, frame) };
  const relay = bus ? new BusRelay(bus, storage, clock, logger) : null;
  const treeProjection = db
    ? new TreeProjection({ db, locks: documentLock, logger, delayMs: config.treeProjectionDelayMs, maxDelayMs: config.treeProjectionMaxDelayMs, now: () => clock.now() })
    : null;
  // Versions need the database (STORAGE=memory keeps none).
  // Every version of a research tree also freezes its research_trees row.
  const versions = db ? new Versions(db, logger, [...(treeProjection ? [treeProjectionListener(treeProjection)] : []), ...(options.versionListeners ?? [])]) : null;
  const autoVersions = versions
    ? new AutoVersions({ versions, locks: documentLock, clock, logger, quietMs: config.autoVersionQuietMs, maxMs: config.autoVersionMaxMs })
    : null;
  const rooms = new RoomRegistry({
    storage,
    publisher,
    replication: relay ?? undefined,
    lifecycle: autoVersions ? [autoVersions] : [],
    observers: [
      new StorageWriter(storage),
      ...(relay ? [relay] : []),
      ...(treeProjection ? [treeProjection] : []),
      ...(autoVersions ? [autoVersions] : []),
      ...(options.observers ?? []),
    ],
    metrics,
    logger,
    maxDocumentBytes: config.maxDocumentBytes,
    maxEvictions: config.maxEvictionsPerDocument,
    evictionWindowMs: config.evictionWindowMs,
    awarenessLimits: {
      maxStateBytes: config.maxAwarenessStateBytes,
      maxEntriesPerMessage: config.maxAwarenessEntriesPerMessage,
      maxClientsPerConnection: config.maxAwarenessClientsPerConnection,
      maxClientsPerDocument: config.maxAwarenessClientsPerDocument,
      maxBytesPerDocument: config.maxAwarenessBytesPerDocument,
    },
  });
  // Awareness states not renewed in time are removed and everyone told, as for a leave.
  const stopAwarenessExpiry = clock.every(AWARENESS_SWEEP_MS, () => expireAwareness(rooms.rooms(), clock.now()));
  const instanceId = bus?.instanceId ?? crypto.randomUUID();
  const presence = options.presence ?? (redis ? new RedisPresence(redis, logger, () => clock.now()) : livePresence(instanceId, () => liveDocumentSessions(keepalive)));
  // A shared store (Redis, or one injected) is told; the single-instance view needs nothing.
  const sharedPresence = options.presence !== undefined || redis !== null;
  const keepalive = new Keepalive(publisher, config.idleTimeoutMs, clock);
  const sessionPresence = sharedPresence ? new SessionPresence(presence, instanceId, () => liveDocumentSessions(keepalive), clock, logger) : null;
  const liveSessions = new LiveSessions(accessEvents, () => keepalive.connections());
  // Socket denials reach the audit log aggregated per actor and minute, at most AUDIT_DENIALS_PER_SECOND rows of their own a second.
  const denialAudit = tokens ? new DenialAudit(db, logger, { perSecond: config.auditDenialsPerSecond, clock }) : null;
  const denied = (denial: AccessDenial): void => {
    logger.debug({ document: denial.document, reason: denial.reason, userId: denial.userId }, 'socket denied a document');
    // Open mode denies only bad names and limits; token mode's denials are security events.
    denialAudit?.record(denial);
  };
  // A document's content and versions: one implementation behind HTTP and the socket's Stateless requests.
  const documentRequests = new DocumentRequests({ db, rooms, versions, logger });
  const handlers = createSocketHandlers({
    rooms,
    authorizer,
    keepalive,
    liveSessions,
    metrics,
    clock,
    logger,
    presence: sessionPresence ?? NO_PRESENCE_SINK,
    denied,
    socketRequests: new StatelessDocumentRequests({ requests: documentRequests, authorizer, logger, denied }),
    limits: {
      maxPendingDocuments: config.maxPendingDocuments,
      maxDocumentsPerSocket: config.maxDocumentsPerSocket,
      maxQueuedFrames: config.maxQueuedFrames,
      maxQueuedBytes: config.maxQueuedBytes,
      maxAddressesPerSocket: config.maxAddressesPerSocket,
      maxAddressesPerUser: config.maxAddressesPerUser,
      maxAddressesPerDocument: config.maxAddressesPerDocument,
      queuedDocumentTimeoutMs: config.queuedDocumentTimeoutMs,
      maxStatelessBytes: config.maxStatelessBytes,
      statelessPerSecond: config.statelessPerSecond,
      connectionRate: {
        messagesPerSecond: config.maxMessagesPerSecond,
        messageBurst: config.maxMessagesBurst,
        bytesPerSecond: config.maxBytesPerSecond,
        byteBurst: config.maxBytesBurst,
      },
    },
  });
  const apiDependencies: ApiDependencies = { db, storage, authorizer, tokens, sessions, accessEvents, presence, adminToken: config.adminToken ?? null, logger };
  const api = [...documentRoutes(apiDependencies), ...versionRoutes(apiDependencies, documentRequests)];
  // Counted per verified user (else per address) and route; CORS outside, so a 429 carries its headers.
  const userOf = async (request: HttpRequest): Promise<string | null> => {
    if (!tokens) return null;
    try {
      return (await tokens.verify(bearerToken(request))).userId;
    } catch {
      return null; // counted by address; the route itself answers 401
    }
  };
  const http = withCors(
    createHttpHandler({
      registry: metrics.registry,
      notReadyReason: () => (shuttingDown ? 'shutting down' : storage.healthy ? null : 'database unreachable: commits are being retried'),
      degraded: () => (bus && !bus.healthy ? { redis: 'unreachable' } : null),
      staticFiles: createStaticFiles(config.staticDir),
      api: rateLimitRoutes(api, { store: options.rateLimits ?? (redis ? new RedisRateLimitStore(redis, logger) : new InProcessRateLimitStore()), limitPerMinute: config.httpRateLimitPerMinute, userOf }),
    }),
    config.allowedOrigins,
  );
  transport = selectTransport(config.transport, {
    handlers,
    http,
    maxMessageBytes: config.maxMessageBytes,
    maxBackpressureBytes: config.maxBackpressureBytes,
    maxHttpBodyBytes: 1024 * 1024,
    allowedOrigins: config.allowedOrigins,
    onHttpError: (error, phase) => logger.error({ err: error, phase }, phase === 'handler' ? 'HTTP request failed (answered 500)' : 'HTTP response could not be written'),
  }, logger);
  const activeTransport = transport;

  let port: number;
  try {
    port = await activeTransport.listen(config.host, config.port);
  } catch (error) {
    stopAwarenessExpiry();
    keepalive.stop();
    liveSessions.stop();
    await denialAudit?.close();
    durableSessions?.close();
    await sessionPresence?.close();
    await redisAccessEvents?.close();
    redis?.disconnect();
    relay?.close();
    await bus?.close();
    if (ownsStorage) await storage.close(config.shutdownTimeoutMs);
    throw error;
  }
  logger.info({ host: config.host, port, transport: activeTransport.kind, storage: config.storage, database: config.databaseUrl ? 'postgresql' : config.storage === 'durable' ? `pglite:${config.dataDir}` : 'none' }, 'listening');

  let closing: Promise<boolean> | null = null;
  const close = () =>
    (closing ??= (async () => {
      const deadline = performance.now() + config.shutdownTimeoutMs;
      shuttingDown = true;
      activeTransport.stopListening();
      keepalive.stop();
      stopAwarenessExpiry();
      liveSessions.stop();
      // Providers reconnect on 1001 (to another instance behind the balancer, or to us after restart).
      for (const connection of [...keepalive.connections()]) closeFor(connection, 'shutdown');
      // No compaction at shutdown (the next load folds the tail): flush the log, within the deadline.
      rooms.close();
      // Pending automatic versions are dropped (the next load's check takes them); running ones may finish.
      if (autoVersions) await beforeDeadline(autoVersions.close(), deadline, undefined);
      // Denials held back for aggregation are written before the database closes.
      if (denialAudit) await beforeDeadline(denialAudit.close(), deadline, undefined);
      durableSessions?.close();
      await versions?.close();
      // Pending research-tree projections, within half of what is left (the log comes first).
      await treeProjection?.close(performance.now() + Math.max(0, deadline - performance.now()) / 2);
      const flushed = ownsStorage
        ? await storage.close(Math.max(0, deadline - performance.now()))
        : await beforeDeadline(storage.flush().then(() => true, () => false), deadline, false);
      if (!flushed) logger.error('shutdown: not every edit was committed in time; unacknowledged edits remain with their clients');
      await sessionPresence?.close();
      await redisAccessEvents?.close();
      await redis?.quit().catch(() => redis.disconnect());
      relay?.close(); // after the flush: its last announcement confirms everything stored
      await bus?.close();
      logger.info({ connections: metrics.counters.connectionsOpen, flushed }, 'stopped');
      return flushed;
    })());

  return { port, transport: activeTransport.kind, config, logger, metrics, treeProjection, versions, close };
}

/** Every document session of every live connection (presence renewal; rare, so a scan). */
function* liveDocumentSessions(keepalive: Keepalive) {
  for (const connection of keepalive.connections()) yield* connection.sessions();
}
