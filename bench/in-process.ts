/**
 * The server's protocol context without sockets or a database (hot-path and
 * memory-footprint benches): in-memory storage, open-mode authorizer, silent logger.
 */
import pino from 'pino';
import { MemoryStorage } from '../server/persistence/memory-storage.js';
import { openAuthorizer } from '../server/auth/authorizer.js';
import { systemClock } from '../server/clock.js';
import { createMetrics } from '../server/metrics.js';
import type { ProtocolContext } from '../server/protocol/context.js';
import { InProcessAccessEvents } from '../server/auth/access-events.js';
import { Keepalive } from '../server/protocol/keepalive.js';
import { LiveSessions } from '../server/protocol/live-sessions.js';
import type { Publisher } from '../server/rooms/local-fan-out.js';
import { RoomRegistry } from '../server/rooms/room-registry.js';

export function inProcessContext(publisher: Publisher): ProtocolContext & { storage: MemoryStorage } {
  const storage = new MemoryStorage();
  const metrics = createMetrics({ storageHealthy: () => true, storageStats: () => storage.stats });
  const logger = pino({ level: 'silent' });
  const rooms = new RoomRegistry({ storage, publisher, extensions: [], metrics, logger, clock: systemClock });
  const keepalive = new Keepalive(publisher, 60_000, systemClock);
  return {
    storage,
    rooms,
    authorizer: openAuthorizer,
    keepalive,
    liveSessions: new LiveSessions(new InProcessAccessEvents(), () => keepalive.connections(), systemClock),
    metrics,
    clock: systemClock,
    logger,
    presence: { opened: () => {}, closed: () => {} },
    denied: () => {},
    limits: {
      maxPendingDocuments: 100,
      maxDocumentsPerSocket: 1000,
      maxQueuedFrames: 1000,
      maxQueuedBytes: 5 << 20,
      maxStatelessBytes: 64 * 1024,
      statelessPerSecond: 20,
    },
  };
}
