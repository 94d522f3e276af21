import type { Logger } from 'pino';
import type { AccessEvent } from './auth/access-events.js';
import { openAuthorizer, type Authorizer } from './auth/authorizer.js';
import { ProjectAuthorizer } from './auth/project-authorizer.js';
import { DenialAudit } from './auth/denial-audit.js';
import type { SessionStore } from './auth/session-store.js';
import { Tokens } from './auth/tokens.js';
import { openBackends, type InjectedBackends, type InjectedStorage } from './backends.js';
import { systemClock, type Clock } from './clock.js';
import { configFromEnv, type Config } from './config.js';
import { BusRelay } from './cluster/bus-relay.js';
import { livePresence, NO_PRESENCE_SINK, SessionPresence } from './cluster/session-presence.js';
import { DisposerStack } from './disposers.js';
import { AwarenessNames } from './authorship/awareness-names.js';
import { authorshipRoutes } from './http/authorship-api.js';
import { documentRoutes } from './http/document-api.js';
import { lifecycleRoutes } from './http/lifecycle-api.js';
import { versionRoutes } from './http/version-api.js';
import { contentRoutes } from './http/content-api.js';
import { DocumentWrites } from './documents/document-writes.js';
import type { ApiDependencies } from './http/api-dependencies.js';
import { withCors } from './http/cors.js';
import { rateLimitRoutes } from './http/rate-limit.js';
import { authenticatedUserOf } from './http/request-auth.js';
import { BUILT_IN_ROUTES, createHttpHandler, type RouteTable } from './http/routes.js';
import { openApiRoute } from './http/openapi.js';
import { createStaticFiles } from './http/static-files.js';
import { createLogger } from './logger.js';
import { createMetrics, type ServerMetrics } from './metrics.js';
import type { Db } from './persistence/db.js';
import { beforeDeadline, deadlineIn } from './persistence/deadline.js';
import { TrashPurge } from './persistence/trash-purge.js';
import { closeFor } from './protocol/close-codes.js';
import { DEFAULT_LARGE_FRAME_LIMITS, LargeFrameGate } from './protocol/large-frame-gate.js';
import type { AccessDenial, ProtocolLimits } from './protocol/context.js';
import { createSocketHandlers } from './protocol/endpoints.js';
import { Keepalive } from './protocol/keepalive.js';
import { LiveSessions } from './protocol/live-sessions.js';
import { AWARENESS_SWEEP_MS, type AwarenessLimits } from './rooms/awareness-table.js';
import { expireAwareness } from './rooms/awareness-expiry.js';
import type { RoomExtension } from './rooms/room-extension.js';
import { RoomRegistry } from './rooms/room-registry.js';
import { TreeProjection } from './research-trees/tree-projection.js';
import { treeProjectionListener } from './research-trees/tree-version-listener.js';
import { selectTransport } from './transport/select-transport.js';
import type { Transport, TransportKind } from './transport/transport.js';
import { AutoVersions } from './versions/auto-versions.js';
import { DocumentRequests } from './versions/document-requests.js';
import { StatelessDocumentRequests } from './versions/version-stateless.js';
import { Versions, type VersionListener } from './versions/versions.js';
import { WebhookDispatcher, type DispatcherOptions } from './webhooks/dispatcher.js';

export type { InjectedStorage };

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
  /** Purges the trash every TRASH_PURGE_INTERVAL_MS (null with STORAGE=memory); purgeNow() runs it at once. */
  readonly trashPurge: TrashPurge | null;
  /**
   * Stops accepting, closes sockets with 1001, flushes storage — all within
   * SHUTDOWN_TIMEOUT_MS. Resolves true when every accepted edit was committed. Idempotent.
   */
  close(): Promise<boolean>;
}

export interface StartOptions extends InjectedBackends {
  /** Overrides on top of the environment's configuration. */
  readonly config?: Partial<Config>;
  readonly logger?: Logger;
  /** Default: open mode (every connection an anonymous editor). */
  readonly authorizer?: Authorizer;
  readonly clock?: Clock;
  /** Default: a fresh set reading the storage's stats. */
  readonly metrics?: ServerMetrics;
  /** Extensions of every room, after the server's own (see roomExtensions). */
  readonly extensions?: readonly RoomExtension[];
  /** Told after every version stored (e.g. the research-tree projection). */
  readonly versionListeners?: readonly VersionListener[];
}

/**
 * Starts a server; the entry point (main.ts) and the tests both use this.
 *
 * Every part registers its close on one disposer stack right after it is constructed, so
 * shutdown closes in reverse order of construction, and a start that fails halfway closes
 * what it opened by the same path. The order of construction below is therefore the order
 * of shutdown read backwards: the transport stops listening and closes its sockets with
 * 1001 first; then the rooms are freed; then automatic versions, denial audit, versions and
 * the tree projection are drained; then the bus relay flushes storage and makes its last
 * announcement; then the bus closes; storage closes (or, injected, is flushed) after
 * everything that writes to it.
 */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const config: Config = { ...configFromEnv(), ...options.config };
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  if (config.authSecret && !options.authorizer && !options.storage && config.storage === 'memory') {
    throw new Error('AUTH_SECRET needs the database (users, projects, memberships): it cannot run with STORAGE=memory');
  }
  const disposers = new DisposerStack(logger);
  try {
    return await assemble(config, options, logger, clock, disposers);
  } catch (error) {
    await disposers.disposeAll(deadlineIn(config.shutdownTimeoutMs));
    throw error;
  }
}

async function assemble(
  config: Config,
  options: StartOptions,
  logger: Logger,
  clock: Clock,
  disposers: DisposerStack,
): Promise<RunningServer> {
  const backends = await openBackends(config, options, logger, clock, disposers);
  const { storage, db, bus, documentLock } = backends;
  const tokens = config.authSecret ? new Tokens(config.authSecret, config.maxTokenTtlSeconds, clock) : null;
  const authorizer = chooseAuthorizer(options.authorizer, tokens, db, backends.sessions, clock, logger);
  let shuttingDown = false;
  const metrics =
    options.metrics ??
    createMetrics({
      storageHealthy: () => storage.healthy,
      storageStats: () => storage.stats,
      busHealthy: bus ? () => bus.healthy : undefined,
    });

  // The transport is created after the registry needs a publisher: bridge through a holder.
  let transport: Transport | null = null;
  const publisher = { publish: (topic: string, frame: Uint8Array) => transport?.publish(topic, frame) };

  // Its close flushes storage before the last announcement, after the rooms and everything
  // below that may still store an edit have closed.
  const relay = bus ? new BusRelay(bus, storage, clock, logger) : null;
  if (relay) disposers.add('bus relay', (deadline) => relay.close(deadline));

  const treeProjection = db
    ? new TreeProjection({
        db,
        locks: documentLock,
        logger,
        delayMs: config.treeProjectionDelayMs,
        maxDelayMs: config.treeProjectionMaxDelayMs,
        clock,
      })
    : null;
  // Pending research-tree projections, within half of what is left (the log comes first).
  if (treeProjection)
    disposers.add('tree projection', (deadline) => treeProjection.close(performance.now() + Math.max(0, deadline - performance.now()) / 2));
  // Versions need the database (STORAGE=memory keeps none).
  // Every version of a research tree also freezes its research_trees row.
  const versions = db
    ? new Versions(db, logger, [...(treeProjection ? [treeProjectionListener(treeProjection)] : []), ...(options.versionListeners ?? [])])
    : null;
  if (versions) disposers.add('versions', () => versions.close());
  // Socket denials reach the audit log aggregated per actor and minute, at most AUDIT_DENIALS_PER_SECOND rows of their own a second.
  const denialAudit = tokens ? new DenialAudit(db, logger, { perSecond: config.auditDenialsPerSecond, clock }) : null;
  // Denials held back for aggregation are written before the database closes.
  if (denialAudit) disposers.add('denial audit', (deadline) => beforeDeadline(denialAudit.close(), deadline, undefined));
  // Every instance delivers webhooks; the database decides which one takes which delivery.
  const webhooks = db ? new WebhookDispatcher({ db, clock, logger, ...webhookSettingsOf(config) }) : null;
  if (webhooks) disposers.add('webhook dispatcher', (deadline) => webhooks.close(deadline));
  const autoVersions = versions
    ? new AutoVersions({ versions, locks: documentLock, clock, logger, quietMs: config.autoVersionQuietMs, maxMs: config.autoVersionMaxMs })
    : null;
  // Pending automatic versions are dropped (the next load's check takes them); running ones may finish.
  if (autoVersions) disposers.add('automatic versions', (deadline) => beforeDeadline(autoVersions.close(), deadline, undefined));
  // Documents in the trash longer than TRASH_RETENTION_DAYS go for good.
  const trashPurge = db ? new TrashPurge({ db, clock, logger, retentionDays: config.trashRetentionDays }) : null;
  if (trashPurge) disposers.add('trash purge', (deadline) => trashPurge.stop(deadline));

  const keepalive = new Keepalive(publisher, config.idleTimeoutMs, clock);
  disposers.add('keepalive', () => keepalive.stop());
  const instanceId = bus?.instanceId ?? crypto.randomUUID();
  // A shared store (Redis, or one injected) is told; the single-instance view reads the sessions.
  const presence = backends.sharedPresence ?? livePresence(instanceId, () => liveDocumentSessions(keepalive), clock);
  const sessionPresence = backends.sharedPresence
    ? new SessionPresence(backends.sharedPresence, instanceId, () => liveDocumentSessions(keepalive), clock, logger)
    : null;
  if (sessionPresence) disposers.add('session presence', () => sessionPresence.close());

  // Open-mode display names seen in awareness, for authorship (it only records, so it goes with the caller's extensions).
  const awarenessNames = new AwarenessNames();
  const rooms = new RoomRegistry({
    storage,
    publisher,
    extensions: roomExtensions(relay, autoVersions, treeProjection, [awarenessNames, ...(options.extensions ?? [])]),
    metrics,
    logger,
    clock,
    maxDocumentBytes: config.maxDocumentBytes,
    maxEvictions: config.maxEvictionsPerDocument,
    evictionWindowMs: config.evictionWindowMs,
    awarenessLimits: awarenessLimitsOf(config),
    awarenessFlushMs: config.awarenessFlushMs,
  });
  // No compaction at shutdown (the next load folds the tail): the log is flushed later.
  disposers.add('rooms', () => rooms.close());
  // Deleted and renamed documents, on every instance (the access events carry them).
  disposers.add('document events', backends.accessEvents.subscribe(followDocumentEvents(rooms, logger)));
  // Awareness states not renewed in time are removed and everyone told, as for a leave.
  const stopAwarenessExpiry = clock.every(AWARENESS_SWEEP_MS, () => expireAwareness(rooms.rooms(), clock.now()));
  disposers.add('awareness expiry', stopAwarenessExpiry);
  const liveSessions = new LiveSessions(backends.accessEvents, () => keepalive.connections(), clock);
  disposers.add('live sessions', () => liveSessions.stop());

  const denied = (denial: AccessDenial): void => {
    logger.debug({ document: denial.document, reason: denial.reason, userId: denial.userId }, 'socket denied a document');
    // Open mode denies only bad names and limits; token mode's denials are security events.
    denialAudit?.record(denial);
  };
  // A document's content and versions: one implementation behind HTTP and the socket's Stateless requests.
  const documentRequests = new DocumentRequests({ db, rooms, versions, logger });
  const largeFrames = new LargeFrameGate(clock, { ...DEFAULT_LARGE_FRAME_LIMITS, bytesInFlight: config.maxStateBytesInFlight });
  disposers.add('large frames', () => largeFrames.close());
  const handlers = createSocketHandlers({
    largeFrames,
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
    limits: protocolLimitsOf(config),
  });
  const apiDependencies: ApiDependencies = {
    db,
    storage,
    authorizer,
    tokens,
    sessions: backends.sessions,
    accessEvents: backends.accessEvents,
    presence,
    adminToken: config.adminToken ?? null,
    logger,
    clock,
  };
  // Writes to a document's content over HTTP (raw updates, edit ops, a new document's content).
  const documentWrites = new DocumentWrites({ rooms, logger });
  const api: RouteTable[] = [
    ...documentRoutes(apiDependencies, documentWrites),
    ...versionRoutes(apiDependencies, documentRequests),
    ...contentRoutes(apiDependencies, documentRequests, documentWrites),
    ...lifecycleRoutes(apiDependencies, rooms),
    ...authorshipRoutes(apiDependencies, rooms, awarenessNames),
    openApiRoute(() => [...BUILT_IN_ROUTES, ...api]),
  ];
  // Counted per user (from the authentication the route then reuses), else per address, and route;
  // CORS outside, so a 429 carries its headers.
  const http = withCors(
    createHttpHandler({
      registry: metrics.registry,
      notReadyReason: () => (shuttingDown ? 'shutting down' : storage.healthy ? null : 'database unreachable: commits are being retried'),
      degraded: () => (bus && !bus.healthy ? { redis: 'unreachable' } : null),
      staticFiles: createStaticFiles(config.staticDir),
      api: rateLimitRoutes(api, {
        store: backends.rateLimits,
        limitPerMinute: config.httpRateLimitPerMinute,
        userOf: (request) => authenticatedUserOf(apiDependencies, request),
      }),
    }),
    config.allowedOrigins,
  );
  const activeTransport = selectTransport(
    config.transport,
    {
      handlers,
      http,
      maxMessageBytes: config.maxMessageBytes,
      maxBackpressureBytes: config.maxBackpressureBytes,
      maxHttpBodyBytes: 1024 * 1024,
      allowedOrigins: config.allowedOrigins,
      onHttpError: (error, phase) =>
        logger.error(
          { err: error, phase },
          phase === 'handler' ? 'HTTP request failed (answered 500)' : 'HTTP response could not be written',
        ),
    },
    logger,
  );
  transport = activeTransport;
  disposers.add('transport', () => {
    activeTransport.stopListening();
    // Providers reconnect on 1001 (to another instance behind the balancer, or to us after restart).
    for (const connection of [...keepalive.connections()]) closeFor(connection, 'shutdown');
  });

  const port = await activeTransport.listen(config.host, config.port);
  logger.info(
    {
      host: config.host,
      port,
      transport: activeTransport.kind,
      storage: config.storage,
      database: config.databaseUrl ? 'postgresql' : config.storage === 'durable' ? `pglite:${config.dataDir}` : 'none',
    },
    'listening',
  );

  let closing: Promise<boolean> | null = null;
  const close = () =>
    (closing ??= (async () => {
      shuttingDown = true;
      await disposers.disposeAll(deadlineIn(config.shutdownTimeoutMs));
      const flushed = await backends.committed;
      if (!flushed) logger.error('shutdown: not every edit was committed in time; unacknowledged edits remain with their clients');
      logger.info({ connections: metrics.counters.connectionsOpen, flushed }, 'stopped');
      return flushed;
    })());

  return { port, transport: activeTransport.kind, config, logger, metrics, treeProjection, versions, trashPurge, close };
}

/**
 * Every room's extensions, in the order each hook calls them (RoomRegistry, Room.apply):
 * 1. the bus relay: the other instances wait on it, so an edit is published before anything
 *    else is done with it; and its `load` must subscribe before the stored state is read;
 * 2. automatic versions and 3. the research-tree projection: they only stamp an edit and
 *    schedule work for later, and follow a room's life independently of each other;
 * 4. the caller's (tests).
 * None of them has to run before another for correctness: what did (storage, which the
 * relay's numbering and the acks rely on) is a fixed step of Room.apply before them all,
 * and the local fan-out one after them all. One order keeps a reader from having to check.
 */
function roomExtensions(
  relay: BusRelay | null,
  autoVersions: AutoVersions | null,
  treeProjection: TreeProjection | null,
  injected: readonly RoomExtension[],
): RoomExtension[] {
  return [...(relay ? [relay] : []), ...(autoVersions ? [autoVersions] : []), ...(treeProjection ? [treeProjection] : []), ...injected];
}

/**
 * What the room registry does on access events: a deleted document's room takes no one in
 * (LiveSessions closes its sessions), a renamed one's is reloaded under the new name, and
 * after events may have been missed every live room is checked against storage.
 */
function followDocumentEvents(rooms: RoomRegistry, logger: Logger): (event: AccessEvent) => void {
  return (event) => {
    switch (event.type) {
      case 'document-deleted':
        rooms.documentDeleted(event.documentId);
        return;
      case 'document-renamed':
        rooms.reload(event.documentId);
        return;
      case 'recheck-all':
        rooms
          .revalidate()
          .catch((error: unknown) => logger.warn({ err: error }, 'checking the live rooms against storage failed; they stay as they are'));
        return;
      default:
        return;
    }
  };
}

/** The injected authorizer, else token mode's (which needs the database), else open mode. */
function chooseAuthorizer(
  injected: Authorizer | undefined,
  tokens: Tokens | null,
  db: Db | null,
  sessions: SessionStore,
  clock: Clock,
  logger: Logger,
): Authorizer {
  if (injected) return injected;
  if (tokens && db) return new ProjectAuthorizer(db, tokens, sessions, clock);
  if (tokens) throw new Error('AUTH_SECRET needs the database (users, projects, memberships): the injected storage has none');
  logger.warn('open mode (no AUTH_SECRET): every connection is an anonymous editor and documents are created on first use');
  return openAuthorizer;
}

function webhookSettingsOf(config: Config): Omit<DispatcherOptions, 'db' | 'clock' | 'logger'> {
  return {
    debounceMs: config.webhookDebounceMs,
    pollMs: config.webhookPollMs,
    concurrency: config.webhookConcurrency,
    timeoutMs: config.webhookTimeoutMs,
    retry: { firstMs: config.webhookRetryFirstMs, maxMs: config.webhookRetryMaxMs, windowMs: config.webhookRetryWindowMs },
  };
}

function awarenessLimitsOf(config: Config): AwarenessLimits {
  return {
    maxStateBytes: config.maxAwarenessStateBytes,
    maxEntriesPerMessage: config.maxAwarenessEntriesPerMessage,
    maxClientsPerConnection: config.maxAwarenessClientsPerConnection,
    maxClientsPerDocument: config.maxAwarenessClientsPerDocument,
    maxBytesPerDocument: config.maxAwarenessBytesPerDocument,
  };
}

function protocolLimitsOf(config: Config): ProtocolLimits {
  return {
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
  };
}

/** Every document session of every live connection (presence renewal; rare, so a scan). */
function* liveDocumentSessions(keepalive: Keepalive) {
  for (const connection of keepalive.connections()) yield* connection.sessions();
}
