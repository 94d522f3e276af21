import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { CreateDocumentOptions, DocumentRef, DocumentStorage } from '../persistence/storage.js';
import type { ServerMetrics } from '../metrics.js';
import type { Publisher } from './local-fan-out.js';
import { AWARENESS_EXPIRE_MS, type AwarenessLimits, type AwarenessTable } from './awareness-table.js';
import { Room } from './room.js';
import { RoomExtensions, type RoomExtension } from './room-extension.js';

export interface RoomRegistryDependencies {
  readonly storage: DocumentStorage;
  readonly publisher: Publisher;
  /** Every room's extensions, in the order each hook calls them (room-extension.ts). */
  readonly extensions: readonly RoomExtension[];
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  /** Eviction windows and suspensions are read and timed on it. */
  readonly clock: Clock;
  /** Largest document accepted (bytes of its Yjs state, approximately); undefined: no limit. */
  readonly maxDocumentBytes?: number | undefined;
  /** Bounds of every room's awareness (default DEFAULT_AWARENESS_LIMITS). */
  readonly awarenessLimits?: AwarenessLimits | undefined;
  /** Evictions of one document allowed per `evictionWindowMs` (default DEFAULT_MAX_EVICTIONS); beyond, its edits are suspended. */
  readonly maxEvictions?: number | undefined;
  readonly evictionWindowMs?: number | undefined;
}

export const DEFAULT_MAX_EVICTIONS = 3;
export const DEFAULT_EVICTION_WINDOW_MS = 60_000;

interface Entry {
  readonly document: DocumentRef;
  /** Holders: members plus joins still waiting for the load. */
  refs: number;
  ready: Promise<Room>;
  room: Room | null;
  /** Set while the room waits for durability before unloading; a join then keeps it. */
  unloading: Promise<void> | null;
}

/** The registry is closed (server shutting down): no document can be opened. */
export class RegistryClosedError extends Error {}

/**
 * Loads each document once per instance, however many clients join at the same time,
 * unloads it after the last one leaves (once its updates are durable), and replaces a
 * room whose Y.Doc broke: the broken copy is dropped with all its members at once,
 * its queued updates are flushed, and the members reopen on a fresh copy loaded from
 * storage — so there is never more than one live copy of a document here.
 */
export class RoomRegistry {
  private readonly entries = new Map<string, Entry>();
  /** Evicted rooms whose queued updates are still being flushed; a reload waits for them. */
  private readonly settling = new Map<string, Promise<void>>();
  /**
   * An evicted room's awareness until the document's fresh copy takes it over. Bounded by the
   * evicted documents: forgotten after AWARENESS_EXPIRE_MS when nobody reopened (its states
   * would have expired by then anyway).
   */
  private readonly carriedAwareness = new Map<string, AwarenessTable>();
  /** The live rooms (for the bus relay and other instance-wide work). */
  *rooms(): IterableIterator<Room> {
    for (const entry of this.entries.values()) if (entry.room) yield entry.room;
  }

  /** Storage lookups in flight, shared by concurrent finds of one name. */
  private readonly finding = new Map<string, Promise<DocumentRef | null>>();
  private readonly creating = new Map<string, Promise<DocumentRef>>();
  private closed = false;
  /** Per document: when it was evicted within the last window. */
  private readonly evictions = new Map<string, number[]>();
  /** Documents whose edits are suspended (too many evictions), with the cancel of the timer that lifts it. */
  private readonly suspended = new Map<string, () => void>();
  private readonly extensions: RoomExtensions;

  constructor(private readonly deps: RoomRegistryDependencies) {
    this.extensions = new RoomExtensions(deps.extensions);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Resolves a name without loading: the live (or loading) room's document if there is
   * one, else storage — one lookup however many clients ask at once.
   */
  find(name: string): Promise<DocumentRef | null> {
    const entry = this.entries.get(name);
    if (entry) return Promise.resolve(entry.room ?? entry.document);
    let finding = this.finding.get(name);
    if (!finding) {
      finding = this.deps.storage.find(name).finally(() => this.finding.delete(name));
      this.finding.set(name, finding);
    }
    return finding;
  }

  /** Creates the document (one storage call however many clients ask at once; the first caller's options win). */
  create(name: string, options: CreateDocumentOptions): Promise<DocumentRef> {
    let creating = this.creating.get(name);
    if (!creating) {
      creating = this.deps.storage.create(name, options).finally(() => this.creating.delete(name));
      this.creating.set(name, creating);
    }
    return creating;
  }

  /** Resolves with the loaded room; every successful acquire must be paired with one release. */
  async acquire(document: DocumentRef): Promise<Room> {
    if (this.closed) throw new RegistryClosedError('server shutting down');
    // A room that is unloading is still intact: a join simply keeps it alive.
    const entry = this.entries.get(document.name) ?? this.load(document);
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

  /** Stops opening documents and frees every room (storage flushes on its own close). */
  close(): void {
    this.closed = true;
    for (const cancel of this.suspended.values()) cancel();
    this.suspended.clear();
    for (const entry of this.entries.values()) {
      if (!entry.room) continue;
      this.extensions.gone(entry.room);
      entry.room.destroy();
      this.deps.metrics.counters.roomsOpen--;
    }
    this.entries.clear();
  }

  private load(document: DocumentRef): Entry {
    const name = document.name;
    const entry: Entry = { document, refs: 0, ready: null as unknown as Promise<Room>, room: null, unloading: null };
    const { storage, publisher, metrics, logger } = this.deps;
    const extensions = this.extensions;
    // After an eviction, the copy is loaded only once the broken one's updates are stored.
    const settled = this.settling.get(name) ?? Promise.resolve();
    entry.ready = settled
      .then(() => extensions.load(name))
      .then(() => storage.load(document))
      .then(
        (stored) => {
          const carriedAwareness = this.carriedAwareness.get(name);
          this.carriedAwareness.delete(name);
          const room = new Room(stored, {
            storage,
            extensions,
            publisher,
            metrics,
            poisoned: (broken) => this.evict(broken),
            carriedAwareness,
            maxDocumentBytes: this.deps.maxDocumentBytes,
            awarenessLimits: this.deps.awarenessLimits,
            ownChangeRefused: (refusing, error) => logger.error({ document: refusing.name, err: error }, 'the database refused a change the server made (formatting cleanup)'),
          });
          if (this.closed || this.entries.get(name) !== entry) {
            room.destroy();
            throw new RegistryClosedError('server shutting down');
          }
          entry.room = room;
          room.writesSuspended = this.suspended.has(name);
          metrics.counters.roomsOpen++;
          extensions.loaded(room);
          return room;
        },
        (error: unknown) => {
          if (this.entries.get(name) === entry) this.entries.delete(name);
          logger.warn({ document: name, err: error }, 'document failed to load');
          throw error;
        },
      );
    this.entries.set(name, entry);
    return entry;
  }

  private async unload(entry: Entry, room: Room): Promise<void> {
    // Work due when the last client leaves (a pending automatic version) sees the intact room.
    if (this.extensions.waitOnUnload) await this.extensions.unloading(room);
    try {
      await this.deps.storage.release(room.id);
    } catch (error) {
      // Storage keeps and retries what it has not committed; the room's memory can go.
      this.deps.logger.warn({ document: room.name, err: error }, 'release after unload failed');
    }
    entry.unloading = null;
    if (entry.refs > 0) return; // someone joined while we waited: the room stays
    if (this.entries.get(room.name) === entry) {
      this.entries.delete(room.name);
      this.deps.metrics.counters.roomsOpen--;
    }
    this.extensions.gone(room);
    room.destroy();
  }

  /** The room's Y.Doc failed halfway through an update: replace it (see the class comment). */
  private evict(room: Room): void {
    const { logger, metrics, storage } = this.deps;
    const entry = this.entries.get(room.name);
    if (entry?.room === room) {
      this.entries.delete(room.name);
      metrics.counters.roomsOpen--;
    }
    metrics.counters.roomsEvicted++;
    this.extensions.gone(room);
    const members = room.detachAll();
    logger.error({ document: room.name, members: members.length }, 'an update broke the document in memory; reloading it from storage');
    const settled = storage.flush().then(
      () => undefined,
      (error: unknown) => logger.warn({ document: room.name, err: error }, 'flush before reloading an evicted document failed'),
    );
    this.settling.set(room.name, settled);
    const carried = room.awareness;
    this.carriedAwareness.set(room.name, carried);
    this.deps.clock.after(AWARENESS_EXPIRE_MS, () => {
      if (this.carriedAwareness.get(room.name) === carried) this.carriedAwareness.delete(room.name);
    });
    void settled
      .then(() => {
        if (this.settling.get(room.name) === settled) this.settling.delete(room.name);
        room.destroy();
      })
      .catch((error: unknown) => logger.error({ document: room.name, err: error }, 'freeing an evicted document failed'));
    this.countEviction(room.name);
    // After the current handler has unwound (the offender's socket is closing). Members get
    // the fresh copy whole (Room's RoomMember.roomEvicted says why not less).
    queueMicrotask(() => {
      for (const member of members) member.roomEvicted();
    });
  }

  /**
   * At most `maxEvictions` evictions of one document per window: each reloads it and resyncs
   * every member, so a stream of poisoned updates (one per connection: the sender is closed)
   * would otherwise cost that again and again. Reaching the bound suspends the document's
   * edits until the oldest eviction counted leaves the window; then every member is asked
   * for what it holds (the refused edits).
   */
  private countEviction(name: string): void {
    const now = this.deps.clock.now();
    const window = this.deps.evictionWindowMs ?? DEFAULT_EVICTION_WINDOW_MS;
    const max = this.deps.maxEvictions ?? DEFAULT_MAX_EVICTIONS;
    for (const [other, times] of this.evictions) if (now - times[times.length - 1]! >= window) this.evictions.delete(other);
    const times = (this.evictions.get(name) ?? []).filter((at) => now - at < window);
    times.push(now);
    this.evictions.set(name, times);
    if (times.length < max || this.closed) return;
    const until = times[times.length - max]! + window;
    this.suspended.get(name)?.();
    this.suspended.set(name, this.deps.clock.after(Math.max(0, until - now), () => this.resume(name)));
    this.deps.logger.error({ document: name, evictions: times.length, windowMs: window, suspendedMs: until - now }, 'document evicted too often: its edits are refused until the window has passed');
  }

  private resume(name: string): void {
    this.suspended.delete(name);
    const room = this.entries.get(name)?.room;
    if (!room || room.poisoned) return;
    room.writesSuspended = false;
    room.resync();
  }
}
