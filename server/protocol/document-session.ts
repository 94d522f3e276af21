import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import { AuthenticationError, authorizeDocumentAction, PermissionDeniedError, type Grant, type Principal } from '../auth/authorizer.js';
import { awarenessFrame, encodeAddress, syncStatusFrame, syncStep1Frame } from '../codec/frames.js';
import { MalformedFrameError } from '../codec/malformed-frame-error.js';
import { SyncType } from '../codec/message-types.js';
import { DocumentDeletedError } from '../persistence/storage.js';
import type { Audience } from '../rooms/local-fan-out.js';
import { RegistryClosedError } from '../rooms/room-registry.js';
import type { ApplyResult, Room, RoomMember } from '../rooms/room.js';
import { settle } from '../settle.js';
import type { TransportSocket } from '../transport/transport.js';
import { addressProblem } from './address-limits.js';
import type { ProtocolContext } from './context.js';
import { identify, openDocument } from './open-document.js';
import type { Expiring, Recheckable } from './live-sessions.js';
import type { QueueBudget } from './queue-budget.js';

/**
 * - `queued`: frames arrived, no Auth yet (Hocuspocus only);
 * - `opening`: authorizing and loading (also while reopening after an eviction);
 * - `open`: joined to its room;
 * - `closed`: for good (the client closed it, access was refused, or the socket went).
 */
export type SessionState = 'queued' | 'opening' | 'open' | 'closed';

/** Why a document could not be opened (or stays open no longer): no access, it could not be loaded, or it is in the trash. */
export type RefusalKind = 'denied' | 'unavailable' | 'deleted';

/** What a client is told when its document is (or went) to the trash (docs/contracts.md "Close codes"). */
export const DOCUMENT_DELETED = 'document deleted';

/** What differs between the protocols: how a session talks to its client. */
export interface SessionHost {
  readonly context: ProtocolContext;
  readonly socket: TransportSocket;
  readonly budget: QueueBudget;
  /** The document is open (again, after an eviction, when `reopened`): greet the client. Runs corked, before queued frames replay. */
  sessionOpened(session: DocumentSession, reopened: boolean): void;
  /** One frame for an open session (queued ones are replayed through here too). Throws on bad input. */
  dispatch(session: DocumentSession, frame: Uint8Array): void;
  /** The document cannot be opened; tell the client. The session closes right after. */
  sessionRefused(session: DocumentSession, kind: RefusalKind, reason: string): void;
  /** A re-check (new token, access event) kept the session open, maybe with another scope: confirm it. */
  sessionReauthorized(session: DocumentSession): void;
  /** The session closed (for whatever reason); forget it. */
  sessionClosed(session: DocumentSession): void;
  /** The database refused one of this session's updates for good (`seq`: its number in the room's Durability). */
  updateRefused(session: DocumentSession, seq: number): void;
  /** The session's token expires soon: ask the client for a fresh one, if the protocol can (Hocuspocus). */
  tokenRequested?(session: DocumentSession): void;
  /** The peer's address (the audit log's source of a denial). */
  readonly remoteAddress?: string;
  /** A frame could not be handled; map the error to a close. */
  frameFailed(error: unknown): void;
}

/** The socket sent more than the pre-open queue allows; it has been reset. */
export class QueueOverflowError extends Error {}

/** Sessions reopening after an eviction: a state vector their client holds (a WeakMap: no slot on every session). */

const EMPTY_STATE_VECTOR = new Uint8Array([0]);
const LOAD_ATTEMPTS = 5;
const LOAD_RETRY_MS = 200;

/**
 * One document on one connection, for both protocols: the per-document lifecycle
 * (open → queue → join → leave and release), written once. A Hocuspocus socket holds
 * one per document address; a y-websocket socket holds exactly one.
 *
 * Errors while opening never close the socket: access refused → `sessionRefused`
 * ('denied'); a load that keeps failing (database unreachable) is retried a few
 * times with backoff, frames stay queued, then → `sessionRefused` ('unavailable').
 */
export class DocumentSession implements RoomMember, Recheckable, Expiring {
  state: SessionState = 'queued';
  readonly documentName: string;
  room: Room | null = null;
  /** Set on join: frame parts shared with every session of the same address. */
  audience: Audience | null = null;
  readOnly = false;
  /** Who opened the document (shared per token session); null until open. */
  principal: Principal | null = null;
  awarenessClients: Set<number> | null = null;
  /** When the document was opened (ms since the epoch), for presence. */
  openedAt = 0;
  private queue: Uint8Array[] | null = null;
  private queuedBytes = 0;
  /** A token not yet authenticated (from Auth or the URL); dropped once it is. */
  private pendingToken: string | null = null;
  /** Identifies the current open attempt, so a late result of an abandoned one is ignored. */
  private attempt = 0;
  private ownPrefix: Uint8Array | null;

  constructor(
    private readonly host: SessionHost,
    /** Hocuspocus: exactly as the provider sent it (may carry "\0sessionId"), echoed verbatim. y-websocket: null. */
    readonly address: string | null,
    documentName: string,
    readonly sessionId: string,
    /** y-websocket frames carry no address prefix. */
    unprefixed: Uint8Array | null = null,
  ) {
    this.documentName = documentName;
    this.ownPrefix = unprefixed;
  }

  /** A getter, not a field: one slot less on every session. */
  get kind(): 'local' {
    return 'local';
  }

  /** `users.id` the session's updates are stored with (AppendMeta); null in open mode. */
  get userId(): string | null {
    return this.principal?.userId ?? null;
  }

  /** The token's session (`jti`); null in open mode. */
  get tokenSession(): string | null {
    return this.principal?.sessionId ?? null;
  }

  get socket(): TransportSocket {
    return this.host.socket;
  }

  /** varString(address) (shared with the audience once joined), or empty for y-websocket. */
  get prefix(): Uint8Array {
    return this.audience?.prefix ?? (this.ownPrefix ??= encodeAddress(this.address ?? ''));
  }

  syncStatus(applied: boolean): Uint8Array {
    return this.audience ? this.audience.syncStatus(applied) : syncStatusFrame(this.prefix, applied);
  }

  /** True when frames can be handled now (else they are queued). */
  get accepting(): boolean {
    return this.state === 'open' && this.room !== null && !this.room.poisoned;
  }

  /** Starts opening the document with this token (from Auth or the URL). */
  open(token: string): void {
    if (this.state !== 'queued') return;
    this.pendingToken = token;
    this.start(false, 1);
  }

  /** Keeps a frame for when the document is open. Throws QueueOverflowError (socket reset). */
  enqueue(frame: Uint8Array): void {
    if (!this.host.budget.take(frame.length)) throw new QueueOverflowError('queue of frames waiting for the document to open is full');
    // The transport reuses its buffer after the callback: keep a copy.
    (this.queue ??= []).push(frame.slice());
    this.queuedBytes += frame.length;
  }

  /** Leaves the room and releases it; idempotent. */
  close(): void {
    if (this.state === 'closed') return;
    if (this.principal !== null || this.room !== null) this.host.context.presence.closed(this);
    if (this.principal !== null) this.host.context.liveSessions.untrack(this);
    this.state = 'closed';
    this.dropQueue();
    const room = this.room;
    if (room) {
      this.room = null;
      this.audience = null;
      room.leave(this, this.host.context.clock.now());
      this.host.context.rooms.release(room);
    }
    this.host.sessionClosed(this);
  }

  roomEvicted(): void {
    const broken = this.room;
    this.room = null;
    this.audience = null;
    // awarenessClients stay: the fresh copy takes the broken room's awareness over (RoomRegistry);
    // a session that does not reopen (the offender, closed) gives its states up now.
    if (this.state !== 'open' || this.socket.closed) {
      broken?.awareness.removeOwner(this, this.host.context.clock.now());
      return;
    }
    this.start(true, 1);
  }

  updateRefused(seq: number): void {
    this.host.updateRefused(this, seq);
  }

  // --- Message handling shared by both protocols once open ---------------------

  send(frame: Uint8Array): void {
    this.socket.send(frame);
    const counters = this.host.context.metrics.counters;
    counters.messagesOut++;
    counters.bytesOut += frame.length;
  }

  /** SyncStep2 with what the client lacks; preceded by our SyncStep1 when asked. */
  answerSyncStep1(stateVector: Uint8Array, withStep1: boolean): void {
    const room = this.room!;
    const step2 = room.syncStep2For(this.audience!, stateVector);
    this.socket.cork(() => {
      if (withStep1) this.send(syncStep1Frame(this.prefix, Y.encodeStateVector(room.doc)));
      this.sendLarge(step2);
    });
  }

  /** After a reopen: the fresh copy whole (one frame shared by every member of the audience), as a SyncStep2. */
  sendResync(): void {
    this.sendLarge(this.room!.syncStep2For(this.audience!, EMPTY_STATE_VECTOR));
  }

  /**
   * A frame that may be a whole document: through the server's LargeFrameGate, which may hold
   * it until other joiners' copies are written out. The session is already subscribed to the
   * room, so updates sent meanwhile reach it (before the state: Yjs keeps them pending).
   */
  private sendLarge(frame: Uint8Array): void {
    const gate = this.host.context.largeFrames;
    if (gate === undefined) {
      this.send(frame);
      return;
    }
    const counters = this.host.context.metrics.counters;
    gate.send(this.socket, frame, (sent) => {
      counters.messagesOut++;
      counters.bytesOut += sent.length;
    });
  }

  /**
   * Handles a Sync message (the decoder just past its type): a SyncStep1 is answered
   * (with our SyncStep1 first when `withStep1`) and gives null; a SyncStep2 or Update is
   * applied and gives the result. `frame` is the whole incoming frame (relayed as is
   * when it is a plain Update).
   */
  handleSync(decoder: decoding.Decoder, frame: Uint8Array, withStep1: boolean): ApplyResult | 'readonly' | null {
    const syncType = decoding.readVarUint(decoder);
    if (syncType === SyncType.Step1) {
      this.answerSyncStep1(decoding.readVarUint8Array(decoder), withStep1);
      return null;
    }
    if (syncType !== SyncType.Step2 && syncType !== SyncType.Update) throw new MalformedFrameError(`unknown sync message ${syncType}`);
    const update = decoding.readVarUint8Array(decoder).slice();
    // The sender's Update frame is already the frame its audience needs.
    return this.applyUpdate(update, syncType === SyncType.Update && !decoding.hasContent(decoder) ? frame : null);
  }

  /**
   * Applies a client update (SyncStep2 or Update). A read-only session's update is
   * refused ('readonly') if it would change the document. `frame` is the sender's own
   * Update frame when it can be relayed as is.
   */
  applyUpdate(update: Uint8Array, frame: Uint8Array | null): ApplyResult | 'readonly' {
    const room = this.room!;
    if (this.readOnly) {
      if (!room.wouldChange(update)) return 'unchanged';
      this.host.context.metrics.counters.updatesRejected++;
      return 'readonly';
    }
    return room.apply(update, this, frame);
  }

  /**
   * Applies an awareness message and relays what was kept to everyone, the sender included:
   * the frame as is when all of it was kept (the usual case), else the kept entries only
   * (entries over a bound or for another connection's client ids are dropped).
   */
  relayAwareness(decoder: decoding.Decoder, frame: Uint8Array): void {
    const room = this.room!;
    const update = decoding.readVarUint8Array(decoder);
    const kept = room.awareness.receive(update, this, this.host.context.clock.now());
    if (kept !== null) room.relayAwareness(kept, this.address, kept === update && !decoding.hasContent(decoder) ? frame : null);
  }

  /** Sends the room's current awareness states, if any (on join and on QueryAwareness). */
  sendAwarenessSnapshot(): void {
    const snapshot = this.room!.awareness.snapshot();
    if (snapshot) this.send(awarenessFrame(this.prefix, snapshot));
  }

  // --- Lifecycle ---------------------------------------------------------------

  private start(reopened: boolean, attemptNumber: number): void {
    this.state = 'opening';
    const attempt = ++this.attempt;
    const { rooms, authorizer, logger } = this.host.context;
    // Who asked, once the token is checked: a denial of the document is recorded with them.
    let identified: Principal | null = null;
    settle(
      openDocument(rooms, authorizer, this.documentName, this.credentials(), (principal) => (identified = principal)),
      ({ room, grant, principal }) => {
        if (this.state !== 'opening' || attempt !== this.attempt) {
          rooms.release(room);
          return;
        }
        // It went to the trash after this session found it: the sessions it had are closed already.
        if (rooms.isDeleted(room)) {
          rooms.release(room);
          return this.refuse('deleted', DOCUMENT_DELETED);
        }
        this.applyGrant(grant, principal);
        // A new audience (address) costs every edit one more frame: bounded per user and document.
        const tooManyAddresses = reopened ? null : addressProblem(room, this, this.host.context.limits);
        if (tooManyAddresses !== null) {
          rooms.release(room);
          return this.refuse('denied', tooManyAddresses);
        }
        this.room = room;
        this.audience = room.join(this);
        this.state = 'open';
        if (!reopened) this.openedAt = this.host.context.clock.now();
        this.host.context.presence.opened(this);
        this.socket.cork(() => {
          this.host.sessionOpened(this, reopened);
          this.replay();
        });
      },
      (error: unknown) => {
        if (this.state !== 'opening' || attempt !== this.attempt) return;
        // In the trash (open mode would otherwise create it again): reopening cannot help.
        if (error instanceof DocumentDeletedError) return this.refuse('deleted', DOCUMENT_DELETED);
        if (error instanceof PermissionDeniedError)
          return this.refuse('denied', error.message || 'permission denied', actorOf(error, identified));
        if (error instanceof RegistryClosedError) return this.refuse('unavailable', 'server shutting down');
        if (attemptNumber < LOAD_ATTEMPTS) {
          logger.warn({ err: error, document: this.documentName, attempt: attemptNumber }, 'document could not be opened; retrying');
          const timer = setTimeout(
            () => {
              if (this.state === 'opening' && attempt === this.attempt && !this.socket.closed) this.start(reopened, attemptNumber + 1);
            },
            LOAD_RETRY_MS * 2 ** (attemptNumber - 1),
          );
          timer.unref();
          return;
        }
        logger.error({ err: error, document: this.documentName }, 'document could not be opened');
        this.refuse('unavailable', 'document could not be loaded; try again later');
      },
      logger,
      'opening a document',
    );
  }

  /** The open document's project (for membership events). */
  get projectId(): string | null {
    return this.room?.projectId ?? null;
  }

  /** The open document (for deletion events); null while it is not open. */
  get documentId(): string | null {
    return this.room?.id ?? null;
  }

  /** The document went to the trash: closed for the client (Hocuspocus: PermissionDenied `document deleted`; y-websocket: 4410). */
  documentDeleted(): void {
    if (this.state === 'open') this.refuse('deleted', DOCUMENT_DELETED);
  }

  /**
   * A new token for the open document (a second Auth message): authorized again; the
   * session is refreshed, downgraded to read-only, or closed with the reason.
   */
  reauthorize(token: string): void {
    if (this.state !== 'open') return;
    this.pendingToken = token;
    this.recheck();
  }

  /** Authorizes the open document again with the current token (also on access events). */
  recheck(): void {
    const room = this.room;
    if (this.state !== 'open' || room === null) return;
    const { authorizer, logger } = this.host.context;
    let identified: Principal | null = null;
    settle(
      identify(authorizer, this.credentials()).then(async (principal) => {
        identified = principal;
        return { principal, grant: await authorizeDocumentAction(authorizer, principal, room, 'read') };
      }),
      ({ principal, grant }) => {
        if (this.state !== 'open' || this.room !== room) return;
        this.applyGrant(grant, principal);
        this.host.sessionReauthorized(this);
      },
      (error: unknown) => {
        if (this.state !== 'open' || this.room !== room) return;
        if (error instanceof PermissionDeniedError)
          return this.refuse('denied', error.message || 'permission denied', actorOf(error, identified) ?? this.userId);
        // The check itself failed (database unreachable): access stays as it was — but not past the token's expiry.
        if (this.expired()) return this.refuse('denied', 'token expired', this.userId);
        logger.warn({ err: error, document: this.documentName }, 'access could not be checked again; unchanged');
      },
      logger,
      'checking access again',
    );
  }

  private applyGrant(grant: Grant, principal: Principal): void {
    this.readOnly = grant.scope === 'readonly';
    const live = this.host.context.liveSessions;
    if (this.principal !== null && this.principal !== principal) live.untrack(this);
    this.principal = principal;
    this.pendingToken = null;
    // Expires at the token's exp unless a fresh token (a second Auth) replaces it first.
    live.track(this);
  }

  /** Hocuspocus: a token request (the provider answers with a second Auth); y-websocket cannot refresh. */
  requestToken(): void {
    if (this.state === 'open' && !this.socket.closed) this.host.tokenRequested?.(this);
  }

  /**
   * The token `principal` carried expired (LiveSessions' timer). Closed for the client
   * (Hocuspocus: PermissionDenied `token expired` for this document; y-websocket: 4403)
   * unless a fresh token already replaced it, or one is being checked (its answer decides).
   */
  expire(principal: Principal): void {
    if (this.state !== 'open' || this.principal !== principal || this.pendingToken !== null) return;
    this.refuse('denied', 'token expired', principal.userId);
  }

  private expired(): boolean {
    const expiresAt = this.principal?.expiresAt;
    return expiresAt !== null && expiresAt !== undefined && expiresAt <= this.host.context.clock.now();
  }

  /** A new token if one waits, else the principal it was opened with (reopen, re-check). */
  private credentials(): string | Principal {
    return this.pendingToken ?? this.principal ?? '';
  }

  private refuse(kind: RefusalKind, reason: string, actor: string | null = this.userId): void {
    if (kind === 'denied') {
      this.host.context.denied({
        userId: actor,
        tokenSession: this.tokenSession,
        document: this.documentName,
        reason,
        source: this.host.remoteAddress,
      });
    }
    this.host.sessionRefused(this, kind, reason);
    this.close();
  }

  private replay(): void {
    const queue = this.queue;
    if (!queue) return;
    this.dropQueue();
    for (const frame of queue) {
      if (this.state !== 'open' || this.socket.closed) return;
      try {
        this.host.dispatch(this, frame);
      } catch (error) {
        this.host.frameFailed(error);
        return;
      }
    }
  }

  private dropQueue(): void {
    if (this.queue) this.host.budget.give(this.queue.length, this.queuedBytes);
    this.queue = null;
    this.queuedBytes = 0;
  }
}

/** The user a denial is recorded with: who the token named, when that is known (a verified token). */
function actorOf(error: PermissionDeniedError, identified: Principal | null): string | null {
  return identified?.userId ?? (error instanceof AuthenticationError ? error.userId : null);
}
