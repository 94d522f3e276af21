import * as Y from 'yjs';
import type { DocumentKind, DocumentRef, DocumentStorage, StoredDocument } from '../persistence/storage.js';
import type { ServerMetrics } from '../metrics.js';
import { AwarenessTable, type AwarenessLimits, type AwarenessOwner } from './awareness-table.js';
import { syncStep1Frame, syncStep2Frame } from '../codec/frames.js';
import { sameBytes } from '../same-bytes.js';
import { Durability } from './durability.js';
import { LocalFanOut, type Audience, type AwarenessWindow, type Publisher } from './local-fan-out.js';
import type { RoomExtensions } from './room-extension.js';
import { serverOrigin, type LocalOrigin, type ServerOrigin, type UpdateOrigin } from './update-origin.js';

/** One connection's presence in a room (a Hocuspocus document session or a y-websocket socket). */
export interface RoomMember extends LocalOrigin, AwarenessOwner {
  /**
   * The room was evicted (an update broke its Y.Doc halfway): the member has already
   * been detached and must reopen the document, which loads a fresh copy from storage
   * and is sent whole: what the member holds is not known. (The broken room's state
   * before the poisoned update is not it: uWS sends topic publishes at the end of the
   * event-loop turn, so an edit applied in the same turn never reached members detached
   * by the eviction.)
   */
  roomEvicted(): void;
}

/** What a room needs of storage: room in the write queue, and the queue itself. */
export type RoomStorage = Pick<DocumentStorage, 'admits' | 'append'>;

export interface RoomDependencies {
  /** Where the room's local and server updates are stored (group commit); `durability` hears back. */
  readonly storage: RoomStorage;
  /** Told of the room's updates and awareness, in their order, after storage and before the local fan-out. */
  readonly extensions: RoomExtensions;
  readonly publisher: Publisher;
  readonly metrics: ServerMetrics;
  /** Called once, synchronously, when an update broke the Y.Doc halfway. */
  readonly poisoned: (room: Room) => void;
  /** Refuse local and server updates once the document's bytes would pass this (default: no limit). */
  readonly maxDocumentBytes?: number | undefined;
  /** The database refused, for good, a change the room's own apply made (see `Room.apply`). */
  readonly ownChangeRefused?: ((room: Room, error: Error) => void) | undefined;
  /** Bounds of the room's awareness (default DEFAULT_AWARENESS_LIMITS). */
  readonly awarenessLimits?: AwarenessLimits | undefined;
  /** Awareness goes out at most once per window (default: every message at once). */
  readonly awarenessWindow?: AwarenessWindow | undefined;
  /**
   * The awareness of an evicted copy of this document, taken over whole: its members reopen
   * here, and their states and the client ids they own stay theirs (nobody can claim them
   * in between, and newcomers see them at once).
   */
  readonly carriedAwareness?: AwarenessTable | undefined;
}

/** The update could not be decoded or integrated; the sender is at fault. */
export class InvalidUpdateError extends Error {}

/** The room was evicted; nothing more can be applied to it. */
export class RoomEvictedError extends Error {}

/**
 * - `changed`: applied, stored (unless remote) and relayed;
 * - `unchanged`: already known, nothing to store or relay;
 * - `stored-again`: already known, but stored again, not relayed: the room held parts of it only
 *   from another instance that has not yet confirmed storing them (an ack must wait for it);
 * - `full`: refused unapplied because storage's write queue is full (try again later);
 * - `too-large`: refused unapplied because the document would outgrow `maxDocumentBytes`;
 * - `suspended`: refused unapplied because the document was evicted too often lately (it would
 *   have changed it; one that changes nothing goes through): the room asks every member for
 *   what it holds when the suspension ends (`resync`).
 */
export type ApplyResult = 'changed' | 'unchanged' | 'stored-again' | 'full' | 'too-large' | 'suspended';

/**
 * The live document on this instance: one Y.Doc, its awareness and its members.
 * Every update, whatever its origin, goes through `apply`, in fixed steps: decoded (bad
 * input is refused whole), admitted (bounds, storage's write queue, the extensions'
 * gates), applied once, stored (unless remote; `durability` numbers it), handed to the
 * extensions (bus, versions, projection: room-extension.ts), then fanned out to the
 * local members.
 */
export class Room implements DocumentRef {
  readonly id: string;
  readonly name: string;
  readonly kind: DocumentKind;
  readonly projectId: string;
  readonly doc = new Y.Doc({ gc: true });
  readonly awareness: AwarenessTable;
  /** How far the updates handed to storage have settled (acks wait on it). */
  readonly durability = new Durability();
  readonly fanOut: LocalFanOut;
  readonly members = new Set<RoomMember>();
  /** Set once an apply failed halfway: the Y.Doc can no longer be trusted. */
  poisoned = false;
  /** Set by the registry after too many evictions of this document: local and server edits that would change it are refused. */
  writesSuspended = false;
  /**
   * The loaded state's size plus every update applied since: an upper bound of the
   * document's encoded size (deletions and merges only make the real one smaller),
   * kept as a counter because encoding the state per update would be far too costly;
   * re-measured when it reaches the limit.
   */
  bytes: number;

  /** The document's snapshot for `wouldChange`, kept until the next change (viewers, a suspended document: each update would otherwise snapshot the whole document). */
  private snapshotCache: Y.Snapshot | null = null;
  /** The origin of the update `apply` is integrating right now, else null. */
  private applying: UpdateOrigin | null = null;
  /** Whether any transaction of the sender's update changed the document (this apply). */
  private senderChanged = false;
  /** Changes Yjs made on its own during this apply (formatting cleanup), as updates. */
  private ownChanges: Uint8Array[] | null = null;
  /** Origin of the room's own changes: stored, relayed to everyone (the sender too), published. */
  private readonly ownOrigin: ServerOrigin;
  /**
   * The whole document as one update, kept until the next change: a client that has nothing
   * (a page load) gets it without encoding the document again, and a crowd opening a document
   * at once shares one encoding. Right after a load it is the loaded bytes themselves. At most
   * one copy of the encoded state per room (a fraction of the Y.Doc's own size); a change drops it.
   */
  private encodedState: Uint8Array | null;
  /** The store's pending structs and deletes when the encodings were last dropped (a change to them drops them again). */
  private seenPending: Y.Doc['store']['pendingStructs'] = null;
  private seenPendingDs: Y.Doc['store']['pendingDs'] = null;
  /** `encodedState` as a SyncStep2 frame per audience (address prefix), dropped with it: a crowd of joiners shares one frame. */
  private stateFrames: Map<Audience, Uint8Array> | null = null;

  constructor(
    stored: StoredDocument,
    private readonly deps: RoomDependencies,
  ) {
    this.id = stored.id;
    this.name = stored.name;
    this.kind = stored.kind;
    this.projectId = stored.projectId;
    this.fanOut = new LocalFanOut(stored.name, deps.publisher, deps.metrics.counters, deps.awarenessWindow ?? null);
    this.awareness = deps.carriedAwareness ?? new AwarenessTable(deps.awarenessLimits, deps.metrics.counters);
    this.bytes = stored.state?.byteLength ?? 0;
    this.ownOrigin = serverOrigin(null, `server:${stored.id}`, 'normalize', (error) => deps.ownChangeRefused?.(this, error));
    // A load may also clean up formatting (Yjs does it for every non-local transaction);
    // that cleanup follows from the stored state alone, so every load repeats it exactly.
    // The encoding is kept only if the load changed nothing beyond the stored bytes.
    let loadChangedMore = false;
    const watchLoad = (transaction: Y.Transaction) => {
      if (transaction.origin !== LOAD) loadChangedMore ||= transactionChanged(transaction);
    };
    this.doc.on('afterTransaction', watchLoad);
    if (stored.state) Y.applyUpdate(this.doc, stored.state, LOAD);
    this.doc.off('afterTransaction', watchLoad);
    this.encodedState = loadChangedMore ? null : stored.state;
    this.doc.on('afterTransaction', this.transactionEnded);
  }

  /**
   * Sees every transaction, in the order Yjs ends them. One `Y.applyUpdate` can run several:
   * the sender's, then Yjs's own formatting cleanup (YText removes redundant format markers
   * after every remote change, in a transaction of its own whose origin is not the sender's).
   * So whether an apply changed the document is the OR over its sender transactions, never
   * the last event; and a change of the room's own is captured from the transaction's
   * `update` event, which Yjs emits after this one for the same transaction.
   */
  private readonly transactionEnded = (transaction: Y.Transaction): void => {
    const changed = transactionChanged(transaction);
    // The encodings hold pending structs too: a transaction that only parked some drops them.
    // One that changed nothing keeps them: every joiner's empty SyncStep2 is such a
    // transaction, and dropping them there re-encoded a 20 MB state for every joiner.
    const store = this.doc.store;
    if (changed || store.pendingStructs !== this.seenPending || store.pendingDs !== this.seenPendingDs) {
      this.encodedState = null;
      this.stateFrames = null;
      this.snapshotCache = null;
      this.seenPending = store.pendingStructs;
      this.seenPendingDs = store.pendingDs;
    }
    const applying = this.applying;
    if (applying === null || !changed) return;
    if (transaction.origin === applying) this.senderChanged = true;
    else if (this.ownChanges === null) {
      this.ownChanges = [];
      // Listening only from the first own change on: the sender's transaction is never re-encoded.
      this.doc.on('update', this.captureOwnChange);
    }
  };

  private readonly captureOwnChange = (update: Uint8Array, origin: unknown): void => {
    if (origin !== this.applying) this.ownChanges?.push(update);
  };

  /** The whole document as one Yjs update (what a client with an empty state vector lacks). */
  fullState(): Uint8Array {
    this.encodedState ??= Y.encodeStateAsUpdate(this.doc);
    return this.encodedState;
  }

  /**
   * The SyncStep2 a member of `audience` with this state vector needs: for one with nothing
   * (a page load) the whole state, framed once per audience until the next change.
   */
  syncStep2For(audience: Audience, stateVector: Uint8Array): Uint8Array {
    if (!isEmptyStateVector(stateVector)) return syncStep2Frame(audience.prefix, Y.encodeStateAsUpdate(this.doc, stateVector));
    this.stateFrames ??= new Map();
    let frame = this.stateFrames.get(audience);
    if (frame === undefined) {
      frame = syncStep2Frame(audience.prefix, this.fullState());
      this.stateFrames.set(audience, frame);
    }
    return frame;
  }

  /** What a peer with this state vector lacks; one with nothing (a single zero byte) gets `fullState`. */
  missingFrom(stateVector: Uint8Array): Uint8Array {
    return isEmptyStateVector(stateVector) ? this.fullState() : Y.encodeStateAsUpdate(this.doc, stateVector);
  }

  /**
   * Asks every member for what it holds that the room lacks (a SyncStep1 with the room's state
   * vector; both protocols answer with a SyncStep2): after a suspension, edits it refused.
   */
  resync(): void {
    const stateVector = Y.encodeStateVector(this.doc);
    this.fanOut.everyone((prefix) => syncStep1Frame(prefix, stateVector));
  }

  /** Adds the member; the returned audience holds frame parts shared by its address. */
  join(member: RoomMember): Audience {
    this.members.add(member);
    return this.fanOut.join(member);
  }

  /** Removes the member and tells the others its awareness states are gone. */
  leave(member: RoomMember, now: number): void {
    if (this.members.delete(member)) this.fanOut.leave(member);
    // Even when already detached (an eviction): its states live on in the carried awareness.
    const removal = this.awareness.removeOwner(member, now);
    if (removal) this.relayAwareness(removal, null, null);
  }

  /**
   * Relays an awareness update applied to `awareness` from this instance (a client's,
   * or a leaver's removal): to every local member, the sender included (its echo keeps
   * providers alive), and to the extensions (the bus).
   */
  relayAwareness(update: Uint8Array, senderAddress: string | null, senderFrame: Uint8Array | null): void {
    this.fanOut.awareness(update, senderAddress, senderFrame);
    this.deps.extensions.awarenessApplied(this, update);
  }

  /** Detaches every member (eviction); returns them so they can reopen elsewhere. */
  detachAll(): RoomMember[] {
    // Awareness waiting for its window still reaches everyone it was meant for.
    this.fanOut.flushAwareness();
    const members = [...this.members];
    for (const member of members) this.fanOut.leave(member);
    this.members.clear();
    return members;
  }

  /**
   * The one apply path. Throws InvalidUpdateError (document untouched, or — if the
   * Y.Doc failed halfway — the room is poisoned and evicted), RoomEvictedError.
   *
   * What the origin means for storing and relaying is in update-origin.ts. An update is
   * relayed (locally and to other instances) as soon as it is applied; its sender's
   * SyncStatus waits until it and everything applied before it is committed.
   */
  apply(update: Uint8Array, origin: UpdateOrigin, frame: Uint8Array | null = null): ApplyResult {
    if (this.poisoned) throw new RoomEvictedError(`document ${this.name} is being reloaded`);
    const { metrics } = this.deps;
    const started = performance.now();
    try {
      // Decoding first means a malformed update is refused before any of it is integrated.
      Y.decodeUpdate(update);
    } catch (error) {
      metrics.counters.updatesRejected++;
      throw new InvalidUpdateError(`invalid Yjs update: ${(error as Error).message}`);
    }
    const limit = this.deps.maxDocumentBytes;
    if (limit !== undefined && origin.kind !== 'remote' && this.bytes + update.byteLength > limit) {
      // The counter only grows; measure the real size once before refusing (rare path).
      this.bytes = Y.encodeStateAsUpdate(this.doc).byteLength;
      if (this.bytes + update.byteLength > limit) {
        metrics.counters.updatesRejected++;
        return 'too-large';
      }
    }
    if (this.writesSuspended && origin.kind !== 'remote' && this.wouldChange(update)) {
      metrics.counters.updatesRejected++;
      return 'suspended';
    }
    // A remote update was stored by the instance that accepted it: it takes no room here.
    if ((origin.kind !== 'remote' && !this.deps.storage.admits(update.byteLength)) || !this.deps.extensions.admits(update, origin)) {
      metrics.counters.updatesRejected++;
      return 'full';
    }
    const store = this.doc.store;
    // What waits for missing dependencies before: a duplicate must not count as a change
    // just because something else is still pending.
    const pendingBefore = store.pendingStructs?.update ?? null;
    const pendingDsBefore = store.pendingDs;
    this.applying = origin;
    this.senderChanged = false;
    let own: Uint8Array[] | null = null;
    try {
      Y.applyUpdate(this.doc, update, origin);
    } catch (error) {
      // Decoded fine but failed while integrating: the doc may hold part of it.
      this.poisoned = true;
      metrics.counters.updatesRejected++;
      this.deps.poisoned(this);
      throw new InvalidUpdateError(`Yjs update failed to integrate: ${(error as Error).message}`);
    } finally {
      this.applying = null;
      own = this.ownChanges;
      this.ownChanges = null;
      if (own !== null) this.doc.off('update', this.captureOwnChange);
    }
    // An update waiting for missing dependencies changes nothing yet but must be kept.
    const changed =
      this.senderChanged || (store.pendingStructs?.update ?? null) !== pendingBefore || !sameBytes(store.pendingDs, pendingDsBefore);
    // The sender's update first, then what the apply made of it: storage and every replica
    // get them in the order this Y.Doc applied them.
    if (changed) this.applied(update, origin, frame);
    if (own !== null) {
      for (let i = 0; i < own.length; i++) this.applied(own[i]!, this.ownOrigin, null);
    }
    metrics.counters.updatesApplied++;
    metrics.applySeconds.observe((performance.now() - started) / 1000);
    if (changed) return 'changed';
    if (origin.kind !== 'remote' && this.durability.unconfirmedRemote > 0) {
      // It changed nothing here, but the room holds updates another instance relayed and has
      // not confirmed stored: this one may be all that makes them durable before its sender
      // is told it is saved. Stored again (Yjs applies a duplicate row idempotently), not relayed.
      this.store(update, origin);
      return 'stored-again';
    }
    return 'unchanged';
  }

  /** An update that changed the Y.Doc: stored (unless remote), then the extensions, then the local fan-out. */
  private applied(update: Uint8Array, origin: UpdateOrigin, frame: Uint8Array | null): void {
    this.bytes += update.byteLength;
    if (origin.kind !== 'remote') this.store(update, origin);
    this.deps.extensions.updateApplied(this, update, origin, frame);
    this.fanOut.updateApplied(update, origin, frame);
  }

  /**
   * Hands a local or server update to storage for group commit, as the room's next
   * `durability.appended`; storage reports it back (committed or refused) to `durability`.
   */
  private store(update: Uint8Array, origin: UpdateOrigin): void {
    this.durability.appended++;
    this.deps.storage.append(this.id, update, origin, this.durability);
  }

  /** Would this update change the document? (For read-only members.) */
  wouldChange(update: Uint8Array): boolean {
    try {
      return !Y.snapshotContainsUpdate((this.snapshotCache ??= Y.snapshot(this.doc)), update);
    } catch {
      return true;
    }
  }

  destroy(): void {
    this.fanOut.dispose();
    this.doc.destroy();
  }
}

/** A state vector of nothing: a single zero (no clients). */
const isEmptyStateVector = (stateVector: Uint8Array): boolean => stateVector.length === 1 && stateVector[0] === 0;

/** The origin of the stored state's own transaction while a room loads. */
const LOAD = Symbol('load');

/** True when a transaction added structs (state vector moved) or deleted anything. */
function transactionChanged(transaction: Y.Transaction): boolean {
  if (transaction.deleteSet.clients.size > 0) return true;
  const before = transaction.beforeState;
  const after = transaction.afterState;
  if (before.size !== after.size) return true;
  for (const [client, clock] of after) if (before.get(client) !== clock) return true;
  return false;
}
