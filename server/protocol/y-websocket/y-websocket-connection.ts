import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import type { AppendMeta } from '../../../persistence/storage.js';
import { PermissionDeniedError } from '../../auth/authorizer.js';
import { stats } from '../../metrics.js';
import type { Room, RoomMember } from '../../rooms/room.js';
import { CloseCode, type TransportSocket } from '../../transport/transport.js';
import { MAX_DOCUMENT_NAME_LENGTH, type ProtocolContext } from '../context.js';
import { isMalformedInput, MalformedFrameError } from '../decoding-errors.js';
import { syncStep1Frame } from '../frames.js';
import type { Watched } from '../keepalive.js';
import { nextSessionId } from '../session-id.js';
import { MessageType, SyncType } from '../message-types.js';
import { answerSyncStep1, applyUpdateFrom, relayAwareness, sendAwarenessSnapshot, sendFrame } from '../room-messages.js';

const NO_PREFIX = new Uint8Array(0);

/**
 * The y-websocket protocol on one socket (path `/y/<documentName>`): one document,
 * unprefixed frames, token in the query string, no acknowledgements. Updates are
 * still persisted through the same log as Hocuspocus ones.
 */
export class YWebsocketConnection implements RoomMember, Watched {
  lastSeen = 0;
  keepaliveGroup = 0;
  readonly address = null;
  readonly prefix = NO_PREFIX;
  awarenessClients: Set<number> | null = null;
  meta: AppendMeta = { userId: null, sessionId: nextSessionId() };
  private state: 'loading' | 'open' | 'closed' = 'loading';
  private room: Room | null = null;
  private readOnly = false;
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;

  constructor(
    readonly socket: TransportSocket,
    private readonly documentName: string,
    token: string,
    private readonly context: ProtocolContext,
  ) {
    context.keepalive.watch(this);
    if (documentName.length === 0 || documentName.length > MAX_DOCUMENT_NAME_LENGTH) {
      socket.close(CloseCode.Forbidden, `document name must be 1 to ${MAX_DOCUMENT_NAME_LENGTH} characters`);
      this.state = 'closed';
      return;
    }
    context.authorizer
      .authorize(token, documentName)
      .then(async (grant) => {
        this.readOnly = grant.scope === 'readonly';
        this.meta = { userId: grant.userId, sessionId: this.meta.sessionId };
        const room = await context.rooms.acquire(documentName);
        if (this.state !== 'loading') {
          context.rooms.release(room);
          return;
        }
        this.open(room);
      })
      .catch((error: unknown) => {
        if (this.state !== 'loading') return;
        if (error instanceof PermissionDeniedError) socket.close(CloseCode.Forbidden, error.message || 'Forbidden');
        else socket.close(CloseCode.InternalError, 'document could not be loaded');
      });
  }

  onMessage(data: Uint8Array, isBinary: boolean): void {
    stats.messagesIn++;
    stats.bytesIn += data.length;
    this.lastSeen = this.context.keepalive.tick;
    if (!isBinary) {
      this.socket.close(CloseCode.Unauthorized, 'text frames are not part of the protocol');
      return;
    }
    if (this.state === 'loading') {
      const { limits } = this.context;
      if (this.queue.length + 1 > limits.maxQueuedFrames || this.queuedBytes + data.length > limits.maxQueuedBytes) {
        this.socket.close(CloseCode.ResetConnection, 'Reset Connection');
        return;
      }
      this.queue.push(data.slice());
      this.queuedBytes += data.length;
      return;
    }
    if (this.state === 'open') this.handle(data);
  }

  onClose(): void {
    this.context.keepalive.unwatch(this);
    this.state = 'closed';
    this.queue = [];
    const room = this.room;
    if (room) {
      this.room = null;
      room.leave(this);
      this.context.rooms.release(room);
    }
  }

  private open(room: Room): void {
    this.room = room;
    room.join(this);
    this.state = 'open';
    const queue = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    this.socket.cork(() => {
      // As the y-websocket server does: our SyncStep1 first, then current awareness.
      sendFrame(this, syncStep1Frame(NO_PREFIX, Y.encodeStateVector(room.doc)));
      sendAwarenessSnapshot(this, room);
      for (const frame of queue) if (this.state === 'open') this.handle(frame);
    });
  }

  private handle(data: Uint8Array): void {
    const room = this.room!;
    try {
      const decoder = decoding.createDecoder(data);
      const type = decoding.readVarUint(decoder);
      switch (type) {
        case MessageType.Sync: {
          const syncType = decoding.readVarUint(decoder);
          if (syncType === SyncType.Step1) {
            answerSyncStep1(this, room, decoding.readVarUint8Array(decoder), false);
            return;
          }
          if (syncType !== SyncType.Step2 && syncType !== SyncType.Update) throw new MalformedFrameError(`unknown sync message ${syncType}`);
          const update = decoding.readVarUint8Array(decoder).slice();
          // No acknowledgements in this protocol: a read-only client's writes are dropped.
          if (this.readOnly) {
            stats.updatesRejected++;
            return;
          }
          const reusable = syncType === SyncType.Update && !decoding.hasContent(decoder) ? data : null;
          applyUpdateFrom(this, room, this.context.rooms, update, reusable);
          return;
        }
        case MessageType.Awareness:
          relayAwareness(this, room, decoder, data);
          return;
        case MessageType.QueryAwareness:
          sendAwarenessSnapshot(this, room);
          return;
        default:
          return;
      }
    } catch (error) {
      if (isMalformedInput(error)) {
        this.context.logger.warn({ err: (error as Error).message, document: this.documentName }, 'closing socket: malformed frame');
        this.socket.close(CloseCode.Unauthorized, 'Unauthorized');
      } else {
        this.context.logger.error({ err: error, document: this.documentName }, 'closing socket: unexpected error handling a frame');
        this.socket.close(CloseCode.InternalError, 'internal error');
      }
    }
  }
}
