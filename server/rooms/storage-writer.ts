import type { DocumentStorage } from '../persistence/storage.js';
import type { ObservedRoom, UpdateObserver } from './update-observer.js';
import type { UpdateOrigin } from './update-origin.js';

/**
 * Hands every update this instance is responsible for (local and server origins) to
 * storage for group commit; the room's Durability hears when each one settled.
 * Remote updates were stored by the instance that accepted them.
 */
export class StorageWriter implements UpdateObserver {
  constructor(private readonly storage: DocumentStorage) {}

  admits(update: Uint8Array, origin: UpdateOrigin): boolean {
    return origin.kind === 'remote' || this.storage.admits(update.byteLength);
  }

  updateApplied(room: ObservedRoom, update: Uint8Array, origin: UpdateOrigin): void {
    if (origin.kind === 'remote') return;
    room.durability.appended++;
    this.storage.append(room.id, update, origin, room.durability);
  }

  /** Stored again (a duplicate row is harmless: Yjs applies it idempotently); its ack waits for it. */
  unchangedButUnconfirmed(room: ObservedRoom, update: Uint8Array, origin: UpdateOrigin): void {
    this.updateApplied(room, update, origin);
  }
}
