import type { Logger } from 'pino';
import type { DocumentStorage } from '../../persistence/storage.js';
import { stats, type ServerMetrics } from '../metrics.js';
import { Room, type Publisher } from './room.js';

interface Entry {
  /** Holders: members plus joins still waiting for the load. */
  refs: number;
  ready: Promise<Room>;
  room: Room | null;
  /** Set while the room waits for durability before unloading; a join then keeps it. */
  unloading: Promise<void> | null;
}

/**
 * Loads each document once per instance, however many clients join at the same time,
 * and unloads it after the last one leaves, once its updates are durable.
 */
export class RoomRegistry {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly storage: DocumentStorage,
    private readonly publisher: Publisher,
    private readonly metrics: ServerMetrics,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Resolves with the loaded room; every successful acquire must be paired with one release. */
  async acquire(name: string): Promise<Room> {
    // A room that is unloading is still intact: a join simply keeps it alive.
    const entry = this.entries.get(name) ?? this.load(name);
    entry.refs++;
    try {
      return await entry.ready;
    } catch (error) {
      entry.refs--;
      throw error;
    }
  }

  release(room: Room): void {
    const entry = this.entries.get(room.name);
    if (!entry || entry.room !== room) return;
    if (--entry.refs > 0 || entry.unloading) return;
    entry.unloading = this.unload(entry, room);
  }

  /** Drops a room whose Y.Doc can no longer be trusted; the next join reloads it from storage. */
  discard(room: Room): void {
    const entry = this.entries.get(room.name);
    if (entry?.room === room) {
      this.entries.delete(room.name);
      stats.roomsOpen--;
    }
  }

  /** Resolves when every room has unloaded (used at shutdown, after sockets are closed). */
  async drain(): Promise<void> {
    while (this.entries.size > 0) {
      for (const entry of this.entries.values()) {
        // Still-held rooms (joins racing the shutdown) are unloaded regardless.
        if (entry.room && !entry.unloading) {
          entry.refs = 0;
          entry.unloading = this.unload(entry, entry.room);
        }
      }
      await Promise.all([...this.entries.values()].map((entry) => entry.unloading ?? entry.ready.then(() => undefined, () => undefined)));
    }
  }

  private load(name: string): Entry {
    const entry: Entry = { refs: 0, ready: null as unknown as Promise<Room>, room: null, unloading: null };
    entry.ready = this.storage.load(name).then(
      (stored) => {
        const room = new Room(stored, this.storage, this.publisher, this.metrics);
        entry.room = room;
        stats.roomsOpen++;
        return room;
      },
      (error: unknown) => {
        if (this.entries.get(name) === entry) this.entries.delete(name);
        this.logger.warn({ document: name, err: error }, 'document failed to load');
        throw error;
      },
    );
    this.entries.set(name, entry);
    return entry;
  }

  private async unload(entry: Entry, room: Room): Promise<void> {
    try {
      await this.storage.release(room.id);
    } catch (error) {
      // Storage keeps and retries what it has not committed; the room's memory can go.
      this.logger.warn({ document: room.name, err: error }, 'release after unload failed');
    }
    entry.unloading = null;
    if (entry.refs > 0) return; // someone joined while we waited: the room stays
    if (this.entries.get(room.name) === entry) {
      this.entries.delete(room.name);
      stats.roomsOpen--;
    }
    room.destroy();
  }
}
