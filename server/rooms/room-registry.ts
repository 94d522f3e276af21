import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { DocumentDeletedError, type CreateDocumentOptions, type DocumentRef, type DocumentStorage } from '../persistence/storage.js';
import type { ServerMetrics } from '../metrics.js';
import type { Publisher } from './local-fan-out.js';
import { AWARENESS_EXPIRE_MS, type AwarenessLimits, type AwarenessTable } from './awareness-table.js';
import { Room, type RoomMember } from './room.js';
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
  /** Every room's awareness goes out at most once per this many ms, on `clock` (0 or absent: at once). */
  readonly awarenessFlushMs?: number | undefined;
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
  /** The document went to the trash: the entry left the registry; it unloads once its members are gone. */
  deleted: boolean;
  /** Set with `deleted` on a loaded entry: resolves when its room has unloaded (a load after a restore waits for it). */
  unloaded: (() => void) | null;
  /** Renamed while loading: the load is refused (its openers retry under the current name). */
  renamed: boolean;
}

/** The registry is closed (server shutting down): no document can be opened. */
export class RegistryClosedError extends Error {}

/** The document was renamed while it loaded; opening it again finds it under its current name. */
export class RenamedWhileLoadingError extends Error {}

/**
 * Loads each document once per instance, however many clients join at the same time,
 * unloads it after the last one leaves (once its updates are durable), and replaces a
 * room whose Y.Doc broke: the broken copy is dropped with all its members at once,
 * its queued updates are flushed, and the members reopen on a fresh copy loaded from
 * storage — so there is never more than one live copy of a document here.
 *
 * Rooms are keyed by document id, not by name: a document answers to its current name and
 * to its former ones (aliases), and whichever a client opens it by, it joins the one room.
 * A room is named after the document's name when it loaded (its bus channel is named so,
 * docs/contracts.md "Redis keys"); a rename replaces it like a broken one (`reload`), so every
 * instance's copy goes by the new name.
 */
export class RoomRegistry {
  /** By document id. */
  private readonly entries = new Map<string, Entry>();
  /** The same entries by the name they loaded under (until renamed or deleted): a live document is found without a query. */
  private readonly names = new Map<string, Entry>();
  /** Replaced rooms (by document id) whose queued updates are still being flushed, and deleted ones still unloading; a load waits for them. */
  private readonly settling = new Map<string, Promise<void>>();
  /** Rooms of deleted documents until they have unloaded (their members are being closed): no one joins them. */
  private readonly retired = new Map<Room, Entry>();
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
  /** Per document id: when it was evicted within the last window. */
  private readonly evictions = new Map<string, number[]>();
  /** Documents (ids) whose edits are suspended (too many evictions), with the cancel of the timer that lifts it. */
  private readonly suspended = new Map<string, () => void>();
  private readonly extensions: RoomExtensions;

  constructor(private readonly deps: RoomRegistryDependencies) {
    this.extensions = new RoomExtensions(deps.extensions);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Resolves a name (current or former) without loading: the live (or loading) room's
   * document if it loaded under that name, else storage — one lookup however many clients
   * ask at once.
   */
  find(name: string): Promise<DocumentRef | null> {
    const entry = this.names.get(name);
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

  /**
   * Resolves with the loaded room; every successful acquire must be paired with one release.
   * Rejects with DocumentDeletedError when the document went to the trash while it loaded.
   */
  async acquire(document: DocumentRef): Promise<Room> {
    if (this.closed) throw new RegistryClosedError('server shutting down');
    // A room that is unloading is still intact: a join simply keeps it alive.
    const entry = this.entries.get(document.id) ?? this.load(document);
    entry.refs++;
    try {
      return await entry.ready;
    } catch (error) {
      entry.refs--;
      throw error;
    }
  }

  release(room: Room): void {
    const live = this.entries.get(room.id);
    const entry = live?.room === room ? live : this.retired.get(room);
    if (!entry || entry.room !== room) return;
    if (--entry.refs > 0 || entry.unloading) return;
    entry.unloading = this.unload(entry, room);
  }

  /**
   * True when `room`'s document went to the trash (`documentDeleted`): a session that
   * acquired it before then must not join.
   */
  isDeleted(room: Room): boolean {
    return this.retired.has(room);
  }

  /**
   * The document went to the trash: its room leaves the registry — no one finds or joins it
   * any more — and unloads once its members have left (LiveSessions closes their sessions on
   * the same event). Should the document be restored meanwhile, its next load here waits for
   * that unload, so there is still never more than one copy. A room still loading is refused
   * (DocumentDeletedError) to those waiting for it.
   */
  documentDeleted(documentId: string): void {
    const entry = this.entries.get(documentId);
    if (!entry) return;
    entry.deleted = true;
    this.entries.delete(documentId);
    this.forgetName(entry);
    const room = entry.room;
    if (!room) return;
    this.retired.set(room, entry);
    const unloaded = new Promise<void>((resolve) => (entry.unloaded = resolve));
    this.settling.set(documentId, unloaded);
    void unloaded.then(() => {
      if (this.settling.get(documentId) === unloaded) this.settling.delete(documentId);
    });
    if (entry.refs === 0 && !entry.unloading) entry.unloading = this.unload(entry, room);
  }

  /**
   * The document was renamed: a live room of it is replaced as an evicted one is (its
   * members reopen on a fresh copy, loaded under the current name once the old copy's
   * queued updates are stored), but without counting as an eviction. A room still loading
   * is refused with RenamedWhileLoadingError (its openers retry).
   */
  reload(documentId: string): void {
    const entry = this.entries.get(documentId);
    if (!entry) return;
    this.forgetName(entry);
    if (entry.room) this.replace(entry.room);
    else entry.renamed = true;
  }

  /**
   * After access events may have been missed (the link to the other instances was down):
   * every live room whose document is no longer found under the name it loaded with —
   * renamed, in the trash or purged — is reloaded, so its members reopen by their own
   * names (and are refused if it is gone). One lookup at a time: it never floods storage.
   */
  async revalidate(): Promise<void> {
    for (const entry of [...this.entries.values()]) {
      const room = entry.room;
      if (this.closed) return;
      if (!room || room.poisoned) continue;
      const found = await this.deps.storage.find(room.name);
      if (found?.id === room.id && found.name === room.name) continue;
      if (this.entries.get(room.id) === entry && entry.room === room && !room.poisoned) this.reload(room.id);
    }
  }

  /** Stops opening documents and frees every room (storage flushes on its own close). */
  close(): void {
    this.closed = true;
    for (const cancel of this.suspended.values()) cancel();
    this.suspended.clear();
    for (const entry of [...this.entries.values(), ...this.retired.values()]) {
      if (!entry.room) continue;
      this.extensions.gone(entry.room);
      entry.room.destroy();
      this.deps.metrics.counters.roomsOpen--;
      entry.unloaded?.();
    }
    this.entries.clear();
    this.names.clear();
    this.retired.clear();
  }

  private forgetName(entry: Entry): void {
    const name = entry.document.name;
    if (this.names.get(name) === entry) this.names.delete(name);
  }

  private load(document: DocumentRef): Entry {
    const { id, name } = document;
    const entry: Entry = {
      document,
      refs: 0,
      ready: null as unknown as Promise<Room>,
      room: null,
      unloading: null,
      deleted: false,
      unloaded: null,
      renamed: false,
    };
    const { storage, publisher, metrics, logger } = this.deps;
    const extensions = this.extensions;
    // After an eviction, the copy is loaded only once the broken one's updates are stored.
    const settled = this.settling.get(id) ?? Promise.resolve();
    entry.ready = settled
      .then(() => extensions.load(name))
      .then(() => storage.load(document))
      .then(
        (stored) => {
          if (entry.deleted) throw new DocumentDeletedError(name);
          if (entry.renamed) throw new RenamedWhileLoadingError(`document ${JSON.stringify(name)} was renamed while it loaded`);
          const carriedAwareness = this.carriedAwareness.get(id);
          this.carriedAwareness.delete(id);
          const room = new Room(stored, {
            storage,
            extensions,
            publisher,
            metrics,
            poisoned: (broken) => this.evict(broken),
            carriedAwareness,
            maxDocumentBytes: this.deps.maxDocumentBytes,
            awarenessLimits: this.deps.awarenessLimits,
            awarenessWindow: this.deps.awarenessFlushMs ? { ms: this.deps.awarenessFlushMs, clock: this.deps.clock } : undefined,
            ownChangeRefused: (refusing, error) =>
              logger.error({ document: refusing.name, err: error }, 'the database refused a change the server made (formatting cleanup)'),
          });
          if (this.closed || this.entries.get(id) !== entry) {
            room.destroy();
            throw new RegistryClosedError('server shutting down');
          }
          entry.room = room;
          room.writesSuspended = this.suspended.has(id);
          metrics.counters.roomsOpen++;
          extensions.loaded(room);
          return room;
        },
        (error: unknown) => {
          if (this.entries.get(id) === entry) this.entries.delete(id);
          this.forgetName(entry);
          logger.warn({ document: name, err: error }, 'document failed to load');
          throw error;
        },
      );
    this.entries.set(id, entry);
    this.names.set(name, entry);
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
    if (this.entries.get(room.id) === entry) {
      this.entries.delete(room.id);
      this.forgetName(entry);
      this.deps.metrics.counters.roomsOpen--;
    } else if (this.retired.get(room) === entry) {
      this.retired.delete(room);
      this.deps.metrics.counters.roomsOpen--;
    } else {
      return; // closed meanwhile: close() freed it
    }
    this.extensions.gone(room);
    room.destroy();
    entry.unloaded?.();
  }

  /** The room's Y.Doc failed halfway through an update: replace it (see the class comment). */
  private evict(room: Room): void {
    this.deps.metrics.counters.roomsEvicted++;
    const members = this.replace(room);
    this.deps.logger.error(
      { document: room.name, members: members.length },
      'an update broke the document in memory; reloading it from storage',
    );
    this.countEviction(room);
  }

  /**
   * Drops the live copy with all its members at once; its queued updates are flushed, and
   * the members reopen on a fresh copy loaded from storage after that. The dropped copy
   * refuses any further update (as a poisoned one: Room.apply), so nothing reaches it after
   * the flush the fresh copy waits for. Returns the members.
   */
  private replace(room: Room): RoomMember[] {
    const { logger, metrics, storage } = this.deps;
    room.poisoned = true;
    const entry = this.entries.get(room.id);
    const retired = this.retired.get(room);
    if (entry?.room === room) {
      this.entries.delete(room.id);
      this.forgetName(entry);
      metrics.counters.roomsOpen--;
    } else if (retired) {
      this.retired.delete(room);
      retired.unloaded?.();
      metrics.counters.roomsOpen--;
    }
    this.extensions.gone(room);
    const members = room.detachAll();
    const settled = storage.flush().then(
      () => undefined,
      (error: unknown) => logger.warn({ document: room.name, err: error }, 'flush before reloading a document failed'),
    );
    this.settling.set(room.id, settled);
    const carried = room.awareness;
    this.carriedAwareness.set(room.id, carried);
    this.deps.clock.after(AWARENESS_EXPIRE_MS, () => {
      if (this.carriedAwareness.get(room.id) === carried) this.carriedAwareness.delete(room.id);
    });
    void settled
      .then(() => {
        if (this.settling.get(room.id) === settled) this.settling.delete(room.id);
        room.destroy();
      })
      .catch((error: unknown) => logger.error({ document: room.name, err: error }, 'freeing a replaced document failed'));
    // After the current handler has unwound (an offender's socket is closing). Members get
    // the fresh copy whole (Room's RoomMember.roomEvicted says why not less).
    queueMicrotask(() => {
      for (const member of members) member.roomEvicted();
    });
    return members;
  }

  /**
   * At most `maxEvictions` evictions of one document per window: each reloads it and resyncs
   * every member, so a stream of poisoned updates (one per connection: the sender is closed)
   * would otherwise cost that again and again. Reaching the bound suspends the document's
   * edits until the oldest eviction counted leaves the window; then every member is asked
   * for what it holds (the refused edits).
   */
  private countEviction(room: Room): void {
    const id = room.id;
    const now = this.deps.clock.now();
    const window = this.deps.evictionWindowMs ?? DEFAULT_EVICTION_WINDOW_MS;
    const max = this.deps.maxEvictions ?? DEFAULT_MAX_EVICTIONS;
    for (const [other, times] of this.evictions) if (now - times[times.length - 1]! >= window) this.evictions.delete(other);
    const times = (this.evictions.get(id) ?? []).filter((at) => now - at < window);
    times.push(now);
    this.evictions.set(id, times);
    if (times.length < max || this.closed) return;
    const until = times[times.length - max]! + window;
    this.suspended.get(id)?.();
    this.suspended.set(
      id,
      this.deps.clock.after(Math.max(0, until - now), () => this.resume(id)),
    );
    this.deps.logger.error(
      { document: room.name, evictions: times.length, windowMs: window, suspendedMs: until - now },
      'document evicted too often: its edits are refused until the window has passed',
    );
  }

  private resume(documentId: string): void {
    this.suspended.delete(documentId);
    const room = this.entries.get(documentId)?.room;
    if (!room || room.poisoned) return;
    room.writesSuspended = false;
    room.resync();
  }
}
