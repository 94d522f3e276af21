import * as decoding from 'lib0/decoding';
import { authenticatedFrame, closeFrame, permissionDeniedFrame, statelessFrame, tokenRequestFrame } from '../../codec/frames.js';
import { AuthType, MessageType } from '../../codec/message-types.js';
import type { TransportSocket } from '../../transport/transport.js';
import { closeFor, type CloseCondition } from '../close-codes.js';
import type { ProtocolContext } from '../context.js';
import { DocumentSession, QueueOverflowError, type RefusalKind, type SessionHost } from '../document-session.js';
import { DEFAULT_ADDRESS_LIMITS } from '../address-limits.js';
import { closeConditionFor } from '../frame-errors.js';
import type { Watched } from '../keepalive.js';
import { answerAwarenessQuery, awarenessQueryBucket } from '../awareness-queries.js';
import { ConnectionRate } from '../connection-rate.js';
import { DEFAULT_QUEUED_DOCUMENT_TIMEOUT_MS, QueueBudget } from '../queue-budget.js';
import { nextSessionId } from '../session-id.js';
import { TokenBucket } from '../token-bucket.js';
import { AckQueue } from './ack-queue.js';

/** Denied or closed addresses a socket remembers (their late frames are dropped); the oldest are forgotten first. */
export const RETIRED_ADDRESSES = 1024;

/**
 * The Hocuspocus protocol on one socket (path `/`): many documents multiplexed by
 * address, an Auth message per document, acknowledgements in arrival order. The
 * per-document lifecycle is DocumentSession's; this class routes frames and speaks
 * the protocol's greetings, refusals and acks.
 */
export class HocuspocusConnection implements SessionHost, Watched {
  readonly protocol = 'hocuspocus';
  lastSeen = 0;
  keepaliveGroup = 0;
  private readonly rate: ConnectionRate;
  /** Created when a frame first has to wait: most sockets never queue one. */
  private queueBudget: QueueBudget | null = null;
  private readonly documents = new Map<string, DocumentSession>();
  /**
   * Addresses denied or closed on this socket (oldest first, at most RETIRED_ADDRESSES): a
   * provider's last frames for them (awareness removal, CLOSE) are dropped instead of
   * waiting for an Auth that never comes. The next Auth for one opens it as usual.
   */
  private retired: Set<string> | null = null;
  /** Sessions that got frames but no Auth yet, with when the first frame came (they expire). */
  private readonly queuedSince = new Map<DocumentSession, number>();
  private readonly acks: AckQueue;
  private readonly sessionId = nextSessionId();
  /** Created on the first Stateless message: most sockets never send one. */
  private stateless: TokenBucket | null = null;
  /** Created on the first QueryAwareness: providers never send one. */
  private awarenessQueries: TokenBucket | null = null;
  private pingSubscribed = false;

  constructor(
    readonly socket: TransportSocket,
    readonly context: ProtocolContext,
    /** The peer's address (the audit log's source of a denial). */
    readonly remoteAddress = '',
  ) {
    this.acks = new AckQueue(socket, context.metrics);
    this.rate = new ConnectionRate(context.limits.connectionRate, context.keepalive);
    context.keepalive.watch(this);
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
    // Connection-level Pong: a bare type byte, no document name.
    if (data.length === 1 && data[0] === MessageType.Pong) return;
    try {
      this.route(data);
    } catch (error) {
      this.frameFailed(error);
    }
  }

  sessions(): Iterable<DocumentSession> {
    return this.documents.values();
  }

  onClose(): void {
    this.context.keepalive.unwatch(this);
    this.acks.clear();
    for (const session of [...this.documents.values()]) session.close();
    this.documents.clear();
  }

  // --- SessionHost ---------------------------------------------------------------

  get budget(): QueueBudget {
    return (this.queueBudget ??= new QueueBudget(this.context.limits));
  }

  sessionOpened(session: DocumentSession, reopened: boolean): void {
    if (reopened) {
      // Same provider, fresh copy of the document: bring it level; it is already authenticated.
      session.sendResync();
    } else {
      session.send(authenticatedFrame(session.prefix, session.readOnly ? 'readonly' : 'read-write'));
    }
    session.sendAwarenessSnapshot();
  }

  sessionReauthorized(session: DocumentSession): void {
    session.send(authenticatedFrame(session.prefix, session.readOnly ? 'readonly' : 'read-write'));
  }

  sessionRefused(session: DocumentSession, _kind: RefusalKind, reason: string): void {
    // PermissionDenied closes just this document; the socket and its other documents carry on.
    session.send(permissionDeniedFrame(session.prefix, reason));
  }

  sessionClosed(session: DocumentSession): void {
    this.queuedSince.delete(session);
    this.acks.forget(session);
    if (this.documents.get(session.address!) !== session) return;
    this.documents.delete(session.address!);
    if (!this.socket.closed) this.retire(session.address!);
  }

  tokenRequested(session: DocumentSession): void {
    // Providers v3+ answer with a second Auth carrying their current token (a refresh).
    session.send(tokenRequestFrame(session.prefix));
  }

  updateRefused(session: DocumentSession, seq: number): void {
    this.acks.refused(session, seq);
  }

  frameFailed(error: unknown): void {
    if (this.socket.closed) return;
    const { condition, expected } = closeConditionFor(error);
    if (expected) this.context.logger.warn({ err: (error as Error).message, condition }, 'closing socket: bad input');
    else this.context.logger.error({ err: error }, 'closing socket: unexpected error handling a frame');
    this.close(condition);
  }

  /** Closes the socket with this protocol's code for `condition`. */
  private close(condition: CloseCondition, reason?: string): void {
    closeFor(this, condition, reason);
  }

  dispatch(session: DocumentSession, frame: Uint8Array): void {
    const decoder = decoding.createDecoder(frame);
    decoding.readVarString(decoder);
    const type = decoding.readVarUint(decoder);
    switch (type) {
      case MessageType.Sync: {
        // Our SyncStep1 (answering the provider's) makes it answer with a SyncStep2, whose
        // ack brings its unsyncedChanges back to 0 (also after forceSync); our SyncStep2 marks it synced.
        const result = session.handleSync(decoder, frame, true);
        // 'readonly', 'full' (write queue full) and 'too-large' are refused with SyncStatus 0.
        if (result !== null)
          this.acks.push(
            session,
            result === 'changed' || result === 'unchanged' || result === 'stored-again',
            result === 'changed' || result === 'stored-again',
          );
        return;
      }
      case MessageType.Awareness:
        session.relayAwareness(decoder, frame);
        return;
      case MessageType.QueryAwareness:
        answerAwarenessQuery(session, (this.awarenessQueries ??= awarenessQueryBucket(this.context.clock)), this.context.metrics.counters);
        return;
      case MessageType.Stateless:
        this.relayStateless(session, decoder);
        return;
      case MessageType.Close:
        session.send(closeFrame(session.prefix, 'provider_initiated'));
        session.close();
        return;
      default:
        // Unknown or server-to-client types (SyncStatus, Ping…) are ignored (docs/protocol.md "Frames").
        return;
    }
  }

  // --- Routing -------------------------------------------------------------------

  private route(data: Uint8Array): void {
    const decoder = decoding.createDecoder(data);
    const address = decoding.readVarString(decoder);
    const type = decoding.readVarUint(decoder);
    if (type === MessageType.Auth) {
      this.handleAuth(address, decoder);
      return;
    }
    const session = this.documents.get(address);
    if (session?.accepting) {
      this.dispatch(session, data);
      return;
    }
    if (session === undefined) {
      // Denied or closed here: the provider's goodbyes (awareness removal, CLOSE) need nothing.
      if (this.retired?.has(address)) return;
      const queued = this.newSession(address);
      this.queuedSince.set(queued, this.context.clock.now());
      this.queueFrame(queued, data);
      return;
    }
    // Not open yet: keep the frame for after authentication.
    this.queueFrame(session, data);
  }

  private newSession(address: string): DocumentSession {
    if (
      this.pendingCount() >= this.context.limits.maxPendingDocuments &&
      (this.expireQueued() === 0 || this.pendingCount() >= this.context.limits.maxPendingDocuments)
    ) {
      throw this.reset('too many documents waiting for authentication');
    }
    const separator = address.indexOf('\0');
    const session = new DocumentSession(this, address, separator === -1 ? address : address.slice(0, separator), this.sessionId);
    this.documents.set(address, session);
    return session;
  }

  private pendingCount(): number {
    let pending = 0;
    for (const session of this.documents.values()) if (session.state !== 'open') pending++;
    return pending;
  }

  /**
   * Drops the sessions that got frames but no Auth within `queuedDocumentTimeoutMs` (their
   * frames are given back to the budget); returns how many. Run when a bound is reached.
   */
  private expireQueued(): number {
    const limit = this.context.limits.queuedDocumentTimeoutMs ?? DEFAULT_QUEUED_DOCUMENT_TIMEOUT_MS;
    const now = this.context.clock.now();
    let expired = 0;
    for (const [session, since] of this.queuedSince) {
      if (now - since < limit) continue;
      if (session.state === 'queued') {
        session.close();
        expired++;
      }
      this.queuedSince.delete(session);
    }
    return expired;
  }

  private retire(address: string): void {
    const retired = (this.retired ??= new Set());
    retired.delete(address);
    retired.add(address);
    if (retired.size > RETIRED_ADDRESSES) retired.delete(retired.values().next().value!);
  }

  private queueFrame(session: DocumentSession, data: Uint8Array): void {
    if (this.tryEnqueue(session, data)) return;
    // Room may be made by frames that waited too long for their Auth (this session's own included).
    if (this.expireQueued() > 0 && (session.state === 'closed' || this.tryEnqueue(session, data))) return;
    throw this.reset('queue of frames waiting for the document to open is full');
  }

  /** False when the socket's queue budget is spent. */
  private tryEnqueue(session: DocumentSession, data: Uint8Array): boolean {
    try {
      session.enqueue(data);
      return true;
    } catch (error) {
      if (error instanceof QueueOverflowError) return false;
      throw error;
    }
  }

  private reset(reason: string): Error {
    this.context.logger.warn({ reason }, 'closing socket: pre-authentication limits exceeded');
    this.close('reset');
    return new QueueOverflowError(reason);
  }

  private handleAuth(address: string, decoder: decoding.Decoder): void {
    const authType = decoding.readVarUint(decoder);
    if (authType !== AuthType.Token) return;
    const token = decoding.readVarString(decoder);
    const version = decoding.hasContent(decoder) ? decoding.readVarString(decoder) : null;
    if (!this.pingSubscribed && version !== null && Number.parseInt(version, 10) >= 4) {
      // Providers from v4 answer a bare Ping; older ones would log it as unknown.
      this.pingSubscribed = true;
      this.socket.subscribe(this.context.keepalive.pingTopic(this));
    }
    this.retired?.delete(address);
    const session = this.documents.get(address) ?? this.newSession(address);
    if (session.state === 'open') {
      // A second Auth for an open document refreshes (or downgrades) it: checked again.
      session.reauthorize(token);
      return;
    }
    if (session.state !== 'queued') return;
    this.queuedSince.delete(session);
    // Documents still being authorized or loaded count too: a burst of Auth cannot overshoot.
    let admitted = 0;
    let sameDocument = 0;
    for (const other of this.documents.values()) {
      if (other.state !== 'open' && other.state !== 'opening') continue;
      admitted++;
      if (other.documentName === session.documentName) sameDocument++;
    }
    const limits = this.context.limits;
    if (admitted >= limits.maxDocumentsPerSocket) {
      session.send(permissionDeniedFrame(session.prefix, `too many documents on one connection (at most ${limits.maxDocumentsPerSocket})`));
      session.close();
      return;
    }
    // Each address is an audience of its own (one more frame per edit): a few per socket.
    const perSocket = limits.maxAddressesPerSocket ?? DEFAULT_ADDRESS_LIMITS.maxAddressesPerSocket;
    if (sameDocument >= perSocket) {
      session.send(
        permissionDeniedFrame(
          session.prefix,
          `too many addresses for document ${JSON.stringify(session.documentName)} on one connection (at most ${perSocket})`,
        ),
      );
      session.close();
      return;
    }
    session.open(token);
  }

  private relayStateless(session: DocumentSession, decoder: decoding.Decoder): void {
    const payload = decoding.readVarString(decoder);
    const { limits, metrics, logger } = this.context;
    // Relayed only from read-write sessions, bounded in size and rate (Hocuspocus relays none by default).
    const bucket = (this.stateless ??= new TokenBucket(limits.statelessPerSecond, limits.statelessPerSecond * 2, this.context.clock));
    const requests = this.context.socketRequests;
    if (requests?.accepts(payload)) {
      // A request to the server (versions): answered to this client only, under the same bounds.
      if (Buffer.byteLength(payload) > limits.maxStatelessBytes)
        requests.refuse(session, payload, 413, `request larger than ${limits.maxStatelessBytes} bytes`);
      else if (!bucket.take())
        requests.refuse(session, payload, 429, `more than ${limits.statelessPerSecond} Stateless messages per second`);
      else requests.handle(session, payload);
      return;
    }
    if (session.readOnly || Buffer.byteLength(payload) > limits.maxStatelessBytes || !bucket.take()) {
      metrics.counters.statelessDropped++;
      logger.debug({ document: session.documentName, readOnly: session.readOnly, bytes: payload.length }, 'stateless message not relayed');
      return;
    }
    session.room!.fanOut.others((prefix) => statelessFrame(prefix, payload), session);
  }
}
