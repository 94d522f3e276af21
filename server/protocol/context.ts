import type { Logger } from 'pino';
import type { Authorizer } from '../auth/authorizer.js';
import type { Clock } from '../clock.js';
import type { ServerMetrics } from '../metrics.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import type { AddressLimits } from './address-limits.js';
import type { ConnectionRateLimits } from './connection-rate.js';
import type { PresentSession } from '../cluster/session-presence.js';
import type { DocumentSession } from './document-session.js';
import type { Keepalive } from './keepalive.js';
import type { LargeFrameGate } from './large-frame-gate.js';
import type { LiveSessions } from './live-sessions.js';

/** Bounds on what one socket may hold and send (address bounds default to DEFAULT_ADDRESS_LIMITS). */
export interface ProtocolLimits extends Partial<AddressLimits> {
  /** Documents on one socket that are authenticating or loading. */
  readonly maxPendingDocuments: number;
  /** Documents one socket may have open (answered with PermissionDenied beyond). */
  readonly maxDocumentsPerSocket: number;
  /** Frames queued on one socket while its documents are not open yet. */
  readonly maxQueuedFrames: number;
  /** Bytes queued on one socket while its documents are not open yet. */
  readonly maxQueuedBytes: number;
  /** Frames for a document that gets no Auth within this long expire (default DEFAULT_QUEUED_DOCUMENT_TIMEOUT_MS). */
  readonly queuedDocumentTimeoutMs?: number | undefined;
  /** Largest Stateless payload relayed to the other clients (bytes of UTF-8). */
  readonly maxStatelessBytes: number;
  /** Stateless messages one socket may relay per second (a burst of twice that). */
  readonly statelessPerSecond: number;
  /** Per-socket frame and byte rates (default: DEFAULT_CONNECTION_RATE_LIMITS). */
  readonly connectionRate?: ConnectionRateLimits | undefined;
}

/** A socket was denied a document (recorded in the audit log in token mode). */
export interface AccessDenial {
  readonly userId: string | null;
  readonly tokenSession: string | null;
  readonly document: string;
  readonly reason: string;
  /** The socket's peer address (the audit log's source when the user is not known). */
  readonly source?: string | undefined;
}

/** Told when a document session opens (again) and closes: who is where, across instances. */
export interface PresenceSink {
  opened(session: PresentSession): void;
  closed(session: PresentSession): void;
}

/**
 * Requests to the server carried in Stateless messages (the versions protocol): answered to
 * the sender only, never relayed.
 */
export interface SocketRequests {
  /** Cheap test of the payload's shape: true means it is a request, not a message to relay. */
  accepts(payload: string): boolean;
  /** Answers the request (asynchronously, to the session only). Never throws. */
  handle(session: DocumentSession, payload: string): void;
  /** Refuses the request unparsed (too large, over the rate) with an HTTP status. */
  refuse(session: DocumentSession, payload: string, status: number, reason: string): void;
}

/** What the protocol layer needs from the rest of the server. */
export interface ProtocolContext {
  readonly rooms: RoomRegistry;
  readonly authorizer: Authorizer;
  readonly keepalive: Keepalive;
  /** Re-checks the live sessions an access event concerns (revocation, membership). */
  readonly liveSessions: LiveSessions;
  readonly metrics: ServerMetrics;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly limits: ProtocolLimits;
  readonly presence: PresenceSink;
  /** Told about every denial; must not throw or block (it queues its own I/O). */
  readonly denied: (denial: AccessDenial) => void;
  /** Bounds the bytes of whole-document frames in sockets' buffers; absent: they are sent at once. */
  readonly largeFrames?: LargeFrameGate | undefined;
  /** Stateless requests to the server (versions); absent: every Stateless payload is relayed. */
  readonly socketRequests?: SocketRequests | undefined;
}
