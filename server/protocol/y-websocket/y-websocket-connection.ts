import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import { syncStep1Frame } from '../../codec/frames.js';
import { MessageType } from '../../codec/message-types.js';
import type { TransportSocket } from '../../transport/transport.js';
import { closeFor, type CloseCondition } from '../close-codes.js';
import type { ProtocolContext } from '../context.js';
import { DocumentSession, type RefusalKind, type SessionHost } from '../document-session.js';
import { closeConditionFor } from '../frame-errors.js';
import type { Watched } from '../keepalive.js';
import { answerAwarenessQuery, awarenessQueryBucket } from '../awareness-queries.js';
import { ConnectionRate } from '../connection-rate.js';
import { QueueBudget } from '../queue-budget.js';
import { nextSessionId } from '../session-id.js';
import type { TokenBucket } from '../token-bucket.js';

const NO_PREFIX = new Uint8Array(0);

/** How each refusal closes the socket (the document is its only one). */
const REFUSAL_CLOSES: Readonly<Record<RefusalKind, CloseCondition>> = {
  denied: 'forbidden',
  unavailable: 'unavailable',
  deleted: 'deleted',
};

/**
 * The y-websocket protocol on one socket (path `/y/<documentName>`): one document,
 * unprefixed frames, token in the query string, no acknowledgements. The lifecycle
 * is DocumentSession's, as for Hocuspocus; with one document per socket, every
 * refusal closes the socket. Close codes are this protocol's (close-codes.ts): y-websocket
 * 3.x clients stop for good on 44xx, so transient refusals use codes they retry.
 */
export class YWebsocketConnection implements SessionHost, Watched {
  readonly protocol = 'y-websocket';
  lastSeen = 0;
  keepaliveGroup = 0;
  private readonly rate: ConnectionRate;
  /** Created when a frame first has to wait: most sockets never queue one. */
  private queueBudget: QueueBudget | null = null;
  private readonly session: DocumentSession;
  /** Created on the first QueryAwareness: providers never send one. */
  private awarenessQueries: TokenBucket | null = null;

  constructor(
    readonly socket: TransportSocket,
    documentName: string,
    token: string,
    readonly context: ProtocolContext,
    /** The peer's address (the audit log's source of a denial). */
    readonly remoteAddress = '',
  ) {
    this.session = new DocumentSession(this, null, documentName, nextSessionId(), NO_PREFIX);
    this.rate = new ConnectionRate(context.limits.connectionRate, context.keepalive);
    context.keepalive.watch(this);
    this.session.open(token);
  }

  onMessage(data: Uint8Array, isBinary: boolean): void {
    const counters = this.context.metrics.counters;
    counters.messagesIn++;
    counters.bytesIn += data.length;
    this.lastSeen = this.context.keepalive.tick;
    if (!this.rate.admit(data.length)) {
      // Never applied; the provider reconnects and resyncs, so nothing acknowledged is lost.
      this.close('rate-limited');
      return;
    }
    if (!isBinary) {
      this.close('malformed', 'text frames are not part of the protocol');
      return;
    }
    const session = this.session;
    try {
      if (session.accepting) this.dispatch(session, data);
      else if (session.state !== 'closed') session.enqueue(data);
    } catch (error) {
      this.frameFailed(error);
    }
  }

  sessions(): Iterable<DocumentSession> {
    return [this.session];
  }

  onClose(): void {
    this.context.keepalive.unwatch(this);
    this.session.close();
  }

  // --- SessionHost ---------------------------------------------------------------

  get budget(): QueueBudget {
    return (this.queueBudget ??= new QueueBudget(this.context.limits));
  }

  sessionOpened(session: DocumentSession, reopened: boolean): void {
    // As the y-websocket server does: our SyncStep1 first, then current awareness.
    session.send(syncStep1Frame(NO_PREFIX, Y.encodeStateVector(session.room!.doc)));
    if (reopened) session.sendResync();
    session.sendAwarenessSnapshot();
  }

  sessionRefused(_session: DocumentSession, kind: RefusalKind, reason: string): void {
    this.close(REFUSAL_CLOSES[kind], reason);
  }

  sessionReauthorized(): void {
    // Nothing to confirm in this protocol: the new scope simply applies.
  }

  sessionClosed(): void {
    // One document per socket: nothing to forget.
  }

  updateRefused(): void {
    // No acknowledgements in this protocol: closing is how the client learns. It
    // reconnects and syncs again.
    this.close('not-stored');
  }

  frameFailed(error: unknown): void {
    if (this.socket.closed) return;
    const { condition, expected } = closeConditionFor(error);
    const document = this.session.documentName;
    if (expected) this.context.logger.warn({ err: (error as Error).message, document, condition }, 'closing socket: bad input');
    else this.context.logger.error({ err: error, document }, 'closing socket: unexpected error handling a frame');
    this.close(condition);
  }

  /** Closes the socket with this protocol's code for `condition`. */
  private close(condition: CloseCondition, reason?: string): void {
    closeFor(this, condition, reason);
  }

  dispatch(session: DocumentSession, data: Uint8Array): void {
    const decoder = decoding.createDecoder(data);
    const type = decoding.readVarUint(decoder);
    switch (type) {
      case MessageType.Sync:
        // No acknowledgements: a read-only client's writes are simply not applied.
        switch (session.handleSync(decoder, data, false)) {
          case 'full':
            this.close('busy');
            return;
          case 'too-large':
            this.close('too-large');
            return;
          case 'suspended':
            // Not applied, the socket stays: the room asks for it again when the suspension ends.
            return;
          default:
            return;
        }
      case MessageType.Awareness:
        session.relayAwareness(decoder, data);
        return;
      case MessageType.QueryAwareness:
        answerAwarenessQuery(session, (this.awarenessQueries ??= awarenessQueryBucket(this.context.clock)), this.context.metrics.counters);
        return;
      default:
        return;
    }
  }
}
