import * as decoding from 'lib0/decoding';
import { PermissionDeniedError, type Grant } from '../../auth/authorizer.js';
import { stats } from '../../metrics.js';
import { CloseCode, type TransportSocket } from '../../transport/transport.js';
import { MAX_DOCUMENT_NAME_LENGTH, type ProtocolContext } from '../context.js';
import { isMalformedInput, MalformedFrameError } from '../decoding-errors.js';
import { authenticatedFrame, closeFrame, permissionDeniedFrame, statelessFrame } from '../frames.js';
import type { Watched } from '../keepalive.js';
import { nextSessionId } from '../session-id.js';
import { AuthType, MessageType, SyncType } from '../message-types.js';
import { answerSyncStep1, applyUpdateFrom, relayAwareness, sendAwarenessSnapshot, sendFrame } from '../room-messages.js';
import { AckQueue } from './ack-queue.js';
import { DocumentSession } from './document-session.js';

/**
 * The Hocuspocus protocol on one socket (path `/`): many documents multiplexed by
 * address, an Auth message per document, acknowledgements in arrival order.
 */
export class HocuspocusConnection implements Watched {
  lastSeen = 0;
  keepaliveGroup = 0;
  private readonly documents = new Map<string, DocumentSession>();
  private readonly acks: AckQueue;
  private readonly sessionId = nextSessionId();
  /** Documents not yet open, and frames/bytes queued for them (bounded, see QueueLimits). */
  private notOpen = 0;
  private queuedFrames = 0;
  private queuedBytes = 0;
  private pingSubscribed = false;

  constructor(
    readonly socket: TransportSocket,
    private readonly context: ProtocolContext,
  ) {
    this.acks = new AckQueue(socket, context.metrics);
    context.keepalive.watch(this);
  }

  onMessage(data: Uint8Array, isBinary: boolean): void {
    stats.messagesIn++;
    stats.bytesIn += data.length;
    this.lastSeen = this.context.keepalive.tick;
    if (!isBinary) {
      this.socket.close(CloseCode.Unauthorized, 'text frames are not part of the protocol');
      return;
    }
    // Connection-level Pong: a bare type byte, no document name.
    if (data.length === 1 && data[0] === MessageType.Pong) return;
    try {
      this.route(data);
    } catch (error) {
      this.reject(error);
    }
  }

  onClose(): void {
    this.context.keepalive.unwatch(this);
    this.acks.clear();
    for (const session of this.documents.values()) this.closeSession(session);
    this.documents.clear();
  }

  private reject(error: unknown): void {
    if (error instanceof ConnectionResetError) return; // already closed with 4205
    if (isMalformedInput(error)) {
      this.context.logger.warn({ err: (error as Error).message }, 'closing socket: malformed frame');
      this.socket.close(CloseCode.Unauthorized, 'Unauthorized');
      return;
    }
    this.context.logger.error({ err: error }, 'closing socket: unexpected error handling a frame');
    this.socket.close(CloseCode.InternalError, 'internal error');
  }

  private route(data: Uint8Array): void {
    const decoder = decoding.createDecoder(data);
    const address = decoding.readVarString(decoder);
    const type = decoding.readVarUint(decoder);
    if (type === MessageType.Auth) {
      this.handleAuth(address, decoder);
      return;
    }
    const session = this.documents.get(address);
    if (session?.state === 'open') {
      this.dispatch(session, type, decoder, data);
      return;
    }
    // Not open yet (or not even announced): keep the frame for after authentication.
    this.enqueue(session ?? this.openSession(address), data);
  }

  private openSession(address: string): DocumentSession {
    if (this.notOpen >= this.context.limits.maxPendingDocuments) {
      throw this.resetConnection('too many documents waiting for authentication');
    }
    const session = new DocumentSession(this.socket, address, this.sessionId);
    this.documents.set(address, session);
    this.notOpen++;
    return session;
  }

  private enqueue(session: DocumentSession, data: Uint8Array): void {
    const { limits } = this.context;
    if (this.queuedFrames + 1 > limits.maxQueuedFrames || this.queuedBytes + data.length > limits.maxQueuedBytes) {
      throw this.resetConnection('queue of frames waiting for authentication is full');
    }
    // The transport reuses its buffer after the callback: keep a copy.
    (session.queue ??= []).push(data.slice());
    session.queuedBytes += data.length;
    this.queuedFrames++;
    this.queuedBytes += data.length;
  }

  private resetConnection(reason: string): Error {
    this.context.logger.warn({ reason }, 'closing socket: pre-authentication limits exceeded');
    this.socket.close(CloseCode.ResetConnection, 'Reset Connection');
    return new ConnectionResetError(reason);
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
    const session = this.documents.get(address) ?? this.openSession(address);
    if (session.state === 'open') {
      // A repeated Auth for an open document: confirm again, change nothing.
      sendFrame(session, authenticatedFrame(session.prefix, session.readOnly ? 'readonly' : 'read-write'));
      return;
    }
    if (session.state !== 'queued') return;
    session.state = 'authenticating';
    if (this.documents.size - this.notOpen >= this.context.limits.maxDocumentsPerSocket) {
      this.deny(session, `too many documents on one connection (at most ${this.context.limits.maxDocumentsPerSocket})`);
      return;
    }
    const nameLength = session.documentName.length;
    if (nameLength === 0 || nameLength > MAX_DOCUMENT_NAME_LENGTH) {
      this.deny(session, `document name must be 1 to ${MAX_DOCUMENT_NAME_LENGTH} characters`);
      return;
    }
    this.context.authorizer.authorize(token, session.documentName).then(
      (grant) => this.load(session, grant),
      (error: unknown) => {
        if (error instanceof PermissionDeniedError) this.deny(session, error.message || 'permission-denied');
        else {
          this.context.logger.error({ err: error, document: session.documentName }, 'authorization failed');
          this.deny(session, 'authorization failed');
        }
      },
    );
  }

  private deny(session: DocumentSession, reason: string): void {
    if (session.state === 'closed') return;
    sendFrame(session, permissionDeniedFrame(session.prefix, reason));
    this.closeSession(session);
  }

  private load(session: DocumentSession, grant: Grant): void {
    if (session.state !== 'authenticating') return;
    session.state = 'loading';
    session.readOnly = grant.scope === 'readonly';
    session.meta = { userId: grant.userId, sessionId: this.sessionId };
    this.context.rooms.acquire(session.documentName).then(
      (room) => {
        if (session.state !== 'loading') {
          this.context.rooms.release(room);
          return;
        }
        session.room = room;
        session.audience = room.join(session);
        session.state = 'open';
        this.notOpen--;
        this.socket.cork(() => {
          sendFrame(session, authenticatedFrame(session.prefix, grant.scope));
          sendAwarenessSnapshot(session, room);
          this.replayQueue(session);
        });
      },
      () => {
        // Storage unreachable: the provider reconnects with backoff and retries.
        if (session.state === 'loading') this.socket.close(CloseCode.InternalError, 'document could not be loaded');
      },
    );
  }

  private replayQueue(session: DocumentSession): void {
    const queue = session.queue;
    if (!queue) return;
    session.queue = null;
    this.queuedFrames -= queue.length;
    this.queuedBytes -= session.queuedBytes;
    session.queuedBytes = 0;
    for (const frame of queue) {
      if (session.state !== 'open' || this.socket.closed) return;
      try {
        const decoder = decoding.createDecoder(frame);
        decoding.readVarString(decoder);
        this.dispatch(session, decoding.readVarUint(decoder), decoder, frame);
      } catch (error) {
        this.reject(error);
        return;
      }
    }
  }

  private closeSession(session: DocumentSession): void {
    if (session.state === 'closed') return;
    if (session.state !== 'open') this.notOpen--;
    this.queuedFrames -= session.queue?.length ?? 0;
    this.queuedBytes -= session.queuedBytes;
    session.queue = null;
    session.state = 'closed';
    this.documents.delete(session.address);
    const room = session.room;
    if (room) {
      session.room = null;
      room.leave(session);
      this.context.rooms.release(room);
    }
  }

  private dispatch(session: DocumentSession, type: number, decoder: decoding.Decoder, frame: Uint8Array): void {
    const room = session.room!;
    switch (type) {
      case MessageType.Sync: {
        const syncType = decoding.readVarUint(decoder);
        if (syncType === SyncType.Step1) {
          // Our SyncStep1 makes the provider answer with a SyncStep2, whose ack brings its
          // unsyncedChanges back to 0 (also after forceSync); our SyncStep2 marks it synced.
          answerSyncStep1(session, room, decoding.readVarUint8Array(decoder), true);
          return;
        }
        if (syncType !== SyncType.Step2 && syncType !== SyncType.Update) throw new MalformedFrameError(`unknown sync message ${syncType}`);
        const update = decoding.readVarUint8Array(decoder).slice();
        if (session.readOnly) {
          const refused = room.wouldChange(update);
          if (refused) stats.updatesRejected++;
          this.acks.push(session, !refused);
          return;
        }
        // The sender's Update frame is already the frame its audience needs.
        const reusable = syncType === SyncType.Update && !decoding.hasContent(decoder) ? frame : null;
        applyUpdateFrom(session, room, this.context.rooms, update, reusable);
        this.acks.push(session, true);
        return;
      }
      case MessageType.Awareness:
        relayAwareness(session, room, decoder, frame);
        return;
      case MessageType.QueryAwareness:
        sendAwarenessSnapshot(session, room);
        return;
      case MessageType.Stateless: {
        const payload = decoding.readVarString(decoder);
        room.broadcastFrame((prefix) => statelessFrame(prefix, payload), session);
        return;
      }
      case MessageType.Close: {
        sendFrame(session, closeFrame(session.prefix, 'provider_initiated'));
        this.closeSession(session);
        return;
      }
      default:
        // Unknown or server-to-client types (SyncStatus, Ping…) are ignored, as PROTOCOL.md says.
        return;
    }
  }
}

/** Thrown after the socket was already closed with 4205; only unwinds the handler. */
class ConnectionResetError extends Error {}
