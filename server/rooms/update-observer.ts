import type * as Y from 'yjs';
import type { DocumentRef } from '../persistence/storage.js';
import type { Durability } from './durability.js';
import type { UpdateOrigin } from './update-origin.js';

/**
 * Whatever reacts to an update applied to a room: storage (StorageWriter), the local
 * fan-out (LocalFanOut), and later the Redis bus and the version/projection triggers.
 * Observers run synchronously, in order, right after the update changed the Y.Doc;
 * they must not throw and must not block (queue I/O, never await it here).
 */
/** What an observer sees of the room an update was applied to. */
export interface ObservedRoom extends DocumentRef {
  readonly durability: Durability;
  /** The live document (read it, never write it from an observer). */
  readonly doc: Y.Doc;
}

export interface UpdateObserver {
  /**
   * Asked before the update is applied; false refuses it unapplied (e.g. the write
   * queue is full). Only observers that can run out of room implement it.
   */
  admits?(update: Uint8Array, origin: UpdateOrigin): boolean;
  /** `frame` is the local sender's own Update frame when it can be relayed unchanged, else null. */
  updateApplied(room: ObservedRoom, update: Uint8Array, origin: UpdateOrigin, frame: Uint8Array | null): void;
  /**
   * A local or server update changed nothing here, but the room holds updates relayed by another
   * instance that are not yet stored anywhere (`durability.unconfirmedRemote > 0`): the update may
   * be all that makes them durable before its sender is told it is saved. Only storage implements it.
   */
  unchangedButUnconfirmed?(room: ObservedRoom, update: Uint8Array, origin: UpdateOrigin): void;
  /** An awareness update from a local client (or a local leaver's removal) was applied. */
  awarenessApplied?(room: ObservedRoom, update: Uint8Array): void;
}
