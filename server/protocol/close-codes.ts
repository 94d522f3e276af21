import { CloseCode, type TransportSocket } from '../transport/transport.js';

/**
 * Why the server closes a socket, and the close code each protocol gets for it: the one
 * place that decides (the table of docs/contracts.md "Close codes" is this one).
 *
 * The protocols' clients read codes differently. Hocuspocus providers reconnect after any
 * close, so Hocuspocus keeps the codes its own server uses (4408, 4429, …). y-websocket 3.x
 * (`defaultShouldReconnect`) stops for good on 4400–4499 and retries every other code. So on
 * `/y/` sockets 44xx is kept for what reconnecting cannot fix (malformed input, access
 * refused); a transient condition (idle, rate limit, overload, shutdown) gets a code the
 * client retries — its 44xx moved to 45xx (the "try again later" range), or a standard one.
 * y-websocket 1.x/2.x and `@y/websocket` 4.0.0-3 reconnect after any close, like Hocuspocus.
 */

/** The two protocols, by path: Hocuspocus on `/`, y-websocket on `/y/<name>`. */
export type WireProtocol = 'hocuspocus' | 'y-websocket';

interface CloseRule {
  readonly hocuspocus: number;
  readonly 'y-websocket': number;
  /** Reason sent with the code unless the caller gives a more precise one. */
  readonly reason: string;
}

const CLOSES = {
  // Reconnecting cannot fix these: 44xx on both protocols.
  /** Undecodable frame, invalid Yjs update, malformed awareness, text frame. */
  malformed: { hocuspocus: CloseCode.Unauthorized, 'y-websocket': CloseCode.Unauthorized, reason: 'Unauthorized' },
  /** Token or access refused, access revoked, document name not valid percent-encoding (y-websocket only: Hocuspocus answers PermissionDenied per document). */
  forbidden: { hocuspocus: CloseCode.Forbidden, 'y-websocket': CloseCode.Forbidden, reason: 'Forbidden' },
  /** The document went to the trash (y-websocket only: Hocuspocus answers PermissionDenied `document deleted`). */
  deleted: { hocuspocus: CloseCode.Gone, 'y-websocket': CloseCode.Gone, reason: 'document deleted' },

  // Transient: the client should come back, resync and resend what it still holds.
  /** Over the socket's frame or byte rate; the frame was not applied. */
  'rate-limited': { hocuspocus: CloseCode.TooManyRequests, 'y-websocket': CloseCode.TooManyRequestsRetry, reason: 'Too Many Requests' },
  /** Nothing received for IDLE_TIMEOUT_MS. */
  idle: { hocuspocus: CloseCode.ConnectionTimeout, 'y-websocket': CloseCode.ConnectionTimeoutRetry, reason: 'Connection Timeout' },
  /** Too many frames, bytes or documents queued before the document opened. */
  reset: { hocuspocus: CloseCode.ResetConnection, 'y-websocket': CloseCode.ResetConnection, reason: 'Reset Connection' },
  /** The write queue is full (MAX_PENDING_UPDATES); the edit was not applied (y-websocket only: Hocuspocus answers SyncStatus 0). */
  busy: {
    hocuspocus: CloseCode.TryAgainLater,
    'y-websocket': CloseCode.TryAgainLater,
    reason: 'server busy: too many edits waiting to be stored; try again later',
  },
  /** The document could not be loaded after retries (y-websocket only: Hocuspocus answers PermissionDenied). */
  unavailable: {
    hocuspocus: CloseCode.InternalError,
    'y-websocket': CloseCode.InternalError,
    reason: 'document could not be loaded; try again later',
  },
  /** The database refused one of the socket's updates for good (y-websocket only: Hocuspocus answers SyncStatus 0). */
  'not-stored': { hocuspocus: CloseCode.InternalError, 'y-websocket': CloseCode.InternalError, reason: 'an update could not be stored' },
  /** An unexpected error while handling a frame (a bug). */
  'internal-error': { hocuspocus: CloseCode.InternalError, 'y-websocket': CloseCode.InternalError, reason: 'internal error' },
  /** The server is shutting down; providers reconnect (to another instance, or to this one after restart). */
  shutdown: { hocuspocus: CloseCode.GoingAway, 'y-websocket': CloseCode.GoingAway, reason: 'server shutting down' },

  // Reconnecting does not help while the document stays that large, but 44xx would stop a
  // y-websocket 3 client for good, cut off from the others' edits too: it keeps 1009, which
  // the client retries with its backoff.
  /** The update would make the document pass MAX_DOCUMENT_BYTES (y-websocket only: Hocuspocus answers SyncStatus 0). */
  'too-large': { hocuspocus: CloseCode.MessageTooBig, 'y-websocket': CloseCode.MessageTooBig, reason: 'document too large' },
} as const satisfies Record<string, CloseRule>;

/** Why a socket is closed (see CLOSES for each one's codes). */
export type CloseCondition = keyof typeof CLOSES;

export const CLOSE_CONDITIONS = Object.keys(CLOSES) as readonly CloseCondition[];

/** The close code `protocol`'s socket gets for `condition`. */
export function closeCode(protocol: WireProtocol, condition: CloseCondition): number {
  return CLOSES[condition][protocol];
}

/** The reason sent with `condition` when the caller has no more precise one. */
export function closeReason(condition: CloseCondition): string {
  return CLOSES[condition].reason;
}

/**
 * True when a client of `protocol` stops reconnecting for good after `code`: y-websocket 3.x
 * on 4400–4499; Hocuspocus providers (and older y-websocket clients) never.
 */
export function isPermanentClose(protocol: WireProtocol, code: number): boolean {
  return protocol === 'y-websocket' && code >= 4400 && code < 4500;
}

/** A socket that knows its protocol (both protocol connections). */
export interface ProtocolSocketHolder {
  readonly socket: TransportSocket;
  readonly protocol: WireProtocol;
}

/** Closes `connection`'s socket for `condition` with its protocol's code. */
export function closeFor(connection: ProtocolSocketHolder, condition: CloseCondition, reason: string = CLOSES[condition].reason): void {
  connection.socket.close(closeCode(connection.protocol, condition), reason);
}
