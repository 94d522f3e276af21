import type { Logger } from 'pino';
import type { Authorizer } from '../auth/authorizer.js';
import type { ServerMetrics } from '../metrics.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import type { Keepalive } from './keepalive.js';

/** Bounds on what one socket may hold before its documents are open. */
export interface QueueLimits {
  /** Documents on one socket that are authenticating or loading. */
  readonly maxPendingDocuments: number;
  /** Documents one socket may have open (answered with PermissionDenied beyond). */
  readonly maxDocumentsPerSocket: number;
  /** Frames queued on one socket while its documents are not open yet. */
  readonly maxQueuedFrames: number;
  /** Bytes queued on one socket while its documents are not open yet. */
  readonly maxQueuedBytes: number;
}

/** What the protocol layer needs from the rest of the server. */
export interface ProtocolContext {
  readonly rooms: RoomRegistry;
  readonly authorizer: Authorizer;
  readonly keepalive: Keepalive;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  readonly limits: QueueLimits;
}

/** Longest accepted document name, in characters (DESIGN.md). */
export const MAX_DOCUMENT_NAME_LENGTH = 255;
