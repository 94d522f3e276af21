import * as Y from 'yjs';
import type { AppendMeta, CommitListener, DocumentStorage, StoredDocument } from '../../persistence/storage.js';
import { awarenessFrame, encodeAddress, syncStatusFrame, updateFrame } from '../protocol/frames.js';
import { stats, type ServerMetrics } from '../metrics.js';
import type { TransportSocket } from '../transport/transport.js';
import { AwarenessTable, type AwarenessOwner } from './awareness-table.js';

/** One connection's presence in a room (a Hocuspocus document session or a y-websocket socket). */
export interface RoomMember extends AwarenessOwner {
  readonly socket: TransportSocket;
  /** The Hocuspocus address frames are echoed to, or null for y-websocket (unprefixed frames). */
  readonly address: string | null;
  /** varString(address), or empty for y-websocket. */
  readonly prefix: Uint8Array;
  readonly meta: AppendMeta;
}

/** Something that waits for this room's updates to become durable. */
export interface DurabilityWaiter {
  durabilityAdvanced(): void;
}

/** Sends to every subscriber of a topic (the transport's app-level publish). */
export interface Publisher {
  publish(topic: string, frame: Uint8Array): void;
}

export class InvalidUpdateError extends Error {}

/** One subscription target: all members that receive identical frames (same address). */
export class Audience {
  members = 0;
  private ackFrames: [refused: Uint8Array, applied: Uint8Array] | null = null;

  constructor(
    readonly address: string | null,
    readonly topic: string,
    readonly prefix: Uint8Array,
  ) {}

  /** SyncStatus frame, built once per audience: acknowledging allocates nothing. */
  syncStatus(applied: boolean): Uint8Array {
    const frames = (this.ackFrames ??= [syncStatusFrame(this.prefix, false), syncStatusFrame(this.prefix, true)]);
    return frames[applied ? 1 : 0];
  }
}

export type ApplyResult = 'changed' | 'unchanged';

/**
 * The live document on this instance: one Y.Doc, its awareness, and its members.
 * Every accepted update is applied here once, handed to storage, and fanned out
 * through transport topics, one publish per audience, never per recipient.
 */
export class Room implements CommitListener {
  readonly id: string;
  readonly name: string;
  readonly doc = new Y.Doc({ gc: true });
  readonly awareness = new AwarenessTable();
  /** Updates of this room handed to storage, and how many of those are durable. */
  appliedSeq = 0;
  durableSeq = 0;
  /** Set once an apply failed halfway: the Y.Doc can no longer be trusted. */
  poisoned = false;

  private readonly audiences = new Map<string | null, Audience>();
  /** Created on first use: most rooms of idle documents never wait for a commit. */
  private waiters: Set<DurabilityWaiter> | null = null;
  private lastTransactionChanged = false;

  constructor(
    stored: StoredDocument,
    private readonly storage: DocumentStorage,
    private readonly publisher: Publisher,
    private readonly metrics: ServerMetrics,
  ) {
    this.id = stored.id;
    this.name = stored.name;
    if (stored.state) Y.applyUpdate(this.doc, stored.state);
    this.doc.on('afterTransaction', (transaction: Y.Transaction) => {
      this.lastTransactionChanged = transactionChanged(transaction);
    });
  }

  /** Adds the member; the returned audience holds frame parts shared by its address. */
  join(member: RoomMember): Audience {
    const key = member.address;
    let audience = this.audiences.get(key);
    if (!audience) {
      audience = new Audience(key, key === null ? `y:${this.name}` : `h:${key}`, key === null ? member.prefix : encodeAddress(key));
      this.audiences.set(key, audience);
    }
    audience.members++;
    member.socket.subscribe(audience.topic);
    return audience;
  }

  /** Removes the member and tells the others its awareness states are gone. */
  leave(member: RoomMember): void {
    const audience = this.audiences.get(member.address);
    if (!audience) return;
    member.socket.unsubscribe(audience.topic);
    if (--audience.members === 0) this.audiences.delete(member.address);
    const removal = this.awareness.removeOwner(member);
    if (removal) this.broadcastAwareness(removal, null, null);
  }

  /**
   * Validates and applies a client update, stores it and relays it to the other
   * members. `senderFrame` is the sender's own frame when it is already the Update
   * frame for the sender's audience (it is then relayed without re-encoding).
   * Throws InvalidUpdateError and leaves the document untouched on bad input.
   */
  applyClientUpdate(update: Uint8Array, sender: RoomMember, senderFrame: Uint8Array | null): ApplyResult {
    const started = performance.now();
    try {
      // Decoding first means a malformed update is refused before any of it is integrated.
      Y.decodeUpdate(update);
    } catch (error) {
      stats.updatesRejected++;
      throw new InvalidUpdateError(`invalid Yjs update: ${(error as Error).message}`);
    }
    this.lastTransactionChanged = false;
    try {
      Y.applyUpdate(this.doc, update, sender);
    } catch (error) {
      // Decoded fine but failed while integrating: the doc may hold part of it.
      this.poisoned = true;
      stats.updatesRejected++;
      throw new InvalidUpdateError(`Yjs update failed to integrate: ${(error as Error).message}`);
    }
    const store = this.doc.store;
    // An update waiting for missing dependencies changes nothing yet but must be kept.
    const changed = this.lastTransactionChanged || store.pendingStructs !== null || store.pendingDs !== null;
    if (changed) {
      this.appliedSeq++;
      this.storage.append(this.id, update, sender.meta, this);
      this.broadcastUpdate(update, sender, senderFrame);
    }
    stats.updatesApplied++;
    this.metrics.applySeconds.observe((performance.now() - started) / 1000);
    return changed ? 'changed' : 'unchanged';
  }

  /** Would this update change the document? (For read-only members.) */
  wouldChange(update: Uint8Array): boolean {
    try {
      return !Y.snapshotContainsUpdate(Y.snapshot(this.doc), update);
    } catch {
      return true;
    }
  }

  broadcastUpdate(update: Uint8Array, sender: RoomMember | null, senderFrame: Uint8Array | null): void {
    for (const audience of this.audiences.values()) {
      const frame =
        senderFrame !== null && sender !== null && audience.address === sender.address
          ? senderFrame
          : updateFrame(audience.prefix, update);
      if (sender) sender.socket.publish(audience.topic, frame);
      else this.publisher.publish(audience.topic, frame);
      stats.messagesOut++;
      stats.bytesOut += frame.length;
    }
  }

  /** Relays awareness to every member, the sender included: its echo keeps providers alive. */
  broadcastAwareness(update: Uint8Array, senderAddress: string | null | undefined, senderFrame: Uint8Array | null): void {
    for (const audience of this.audiences.values()) {
      const frame =
        senderFrame !== null && audience.address === senderAddress ? senderFrame : awarenessFrame(audience.prefix, update);
      this.publisher.publish(audience.topic, frame);
      stats.messagesOut++;
      stats.bytesOut += frame.length;
    }
  }

  /** Sends `frame(prefix)` to every audience except the sender's own socket. */
  broadcastFrame(makeFrame: (prefix: Uint8Array) => Uint8Array, sender: RoomMember): void {
    for (const audience of this.audiences.values()) {
      const frame = makeFrame(audience.prefix);
      sender.socket.publish(audience.topic, frame);
      stats.messagesOut++;
      stats.bytesOut += frame.length;
    }
  }

  /** Registers a waiter to be told when durableSeq next advances. */
  waitForDurability(waiter: DurabilityWaiter): void {
    (this.waiters ??= new Set()).add(waiter);
  }

  committed(count: number): void {
    this.durableSeq += count;
    const waiters = this.waiters;
    if (waiters === null || waiters.size === 0) return;
    // Waiters re-register (into a fresh set) if their next ack still waits.
    this.waiters = null;
    for (const waiter of waiters) waiter.durabilityAdvanced();
  }

  destroy(): void {
    this.doc.destroy();
  }
}

/** True when a transaction added structs (state vector moved) or deleted anything. */
function transactionChanged(transaction: Y.Transaction): boolean {
  if (transaction.deleteSet.clients.size > 0) return true;
  const before = transaction.beforeState;
  const after = transaction.afterState;
  if (before.size !== after.size) return true;
  for (const [client, clock] of after) if (before.get(client) !== clock) return true;
  return false;
}
