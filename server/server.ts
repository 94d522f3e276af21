import type { Logger } from 'pino';
import { openAuthorizer } from './auth/authorizer.js';
import { configFromEnv, type Config } from './config.js';
import { documentRoutes } from './http/document-api.js';
import { createHttpHandler } from './http/routes.js';
import { createStaticFiles } from './http/static-files.js';
import { createLogger } from './logger.js';
import { createMetrics, stats } from './metrics.js';
import { createSocketHandlers } from './protocol/endpoints.js';
import { Keepalive } from './protocol/keepalive.js';
import { RoomRegistry } from './rooms/room-registry.js';
import { openConfiguredStorage } from './storage-factory.js';
import { selectTransport } from './transport/select-transport.js';
import { CloseCode, type Transport, type TransportKind } from './transport/transport.js';

export interface RunningServer {
  readonly port: number;
  readonly transport: TransportKind;
  readonly config: Config;
  readonly logger: Logger;
  /** Stops accepting, closes sockets with 1001, flushes storage. Idempotent. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Overrides on top of the environment's configuration. */
  readonly config?: Partial<Config>;
  readonly logger?: Logger;
}

/** Starts a server; the entry point (main.ts) and the tests both use this. */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const config: Config = { ...configFromEnv(), ...options.config };
  const logger = options.logger ?? createLogger(config.logLevel);
  if (config.authSecret) {
    throw new Error('AUTH_SECRET is set, but token authentication is not part of this version yet; unset it to run in open mode');
  }
  logger.warn('open mode (no AUTH_SECRET): every connection is an anonymous editor and documents are created on first use');
  if (config.redisUrl) logger.warn('REDIS_URL is set, but the Redis bus is not part of this version yet: running as a single instance');

  const { storage, db } = await openConfiguredStorage(config, logger);
  let shuttingDown = false;
  const metrics = createMetrics({ storageHealthy: () => storage.healthy, storageStats: () => storage.stats });

  // The transport is created after the registry needs a publisher: bridge through a holder.
  let transport: Transport | null = null;
  const publisher = { publish: (topic: string, frame: Uint8Array) => transport?.publish(topic, frame) };
  const rooms = new RoomRegistry(storage, publisher, metrics, logger);
  const keepalive = new Keepalive(publisher, config.idleTimeoutMs);
  const handlers = createSocketHandlers({
    rooms,
    authorizer: openAuthorizer,
    keepalive,
    metrics,
    logger,
    limits: {
      maxPendingDocuments: config.maxPendingDocuments,
      maxDocumentsPerSocket: config.maxDocumentsPerSocket,
      maxQueuedFrames: config.maxQueuedFrames,
      maxQueuedBytes: config.maxQueuedBytes,
    },
  });
  const http = createHttpHandler({
    registry: metrics.registry,
    notReadyReason: () => (shuttingDown ? 'shutting down' : storage.healthy ? null : 'database unreachable: commits are being retried'),
    staticFiles: createStaticFiles(config.staticDir),
    api: documentRoutes(db),
  });
  transport = selectTransport(config.transport, {
    handlers,
    http,
    maxMessageBytes: config.maxMessageBytes,
    maxBackpressureBytes: config.maxBackpressureBytes,
    maxHttpBodyBytes: 1024 * 1024,
  }, logger);
  const activeTransport = transport;

  let port: number;
  try {
    port = await activeTransport.listen(config.host, config.port);
  } catch (error) {
    keepalive.stop();
    await storage.close();
    throw error;
  }
  logger.info({ host: config.host, port, transport: activeTransport.kind, storage: config.storage, database: config.databaseUrl ? 'postgresql' : config.storage === 'durable' ? `pglite:${config.dataDir}` : 'none' }, 'listening');

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      shuttingDown = true;
      activeTransport.stopListening();
      keepalive.stop();
      // Providers reconnect on 1001 (to another instance behind the balancer, or to us after restart).
      for (const connection of [...keepalive.connections()]) connection.socket.close(CloseCode.GoingAway, 'server shutting down');
      const drained = rooms.drain().then(() => storage.flush());
      const timedOut = await Promise.race([
        drained.then(() => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), config.shutdownTimeoutMs).unref()),
      ]);
      if (timedOut) logger.error({ rooms: rooms.size }, 'shutdown: storage did not flush in time; unacknowledged updates remain with their clients');
      await storage.close();
      logger.info({ connections: stats.connectionsOpen }, 'stopped');
    })());

  return { port, transport: activeTransport.kind, config, logger, close };
}
