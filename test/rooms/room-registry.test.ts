import * as Y from 'yjs';
import { describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../server/clock.js';
import { MemoryStorage } from '../../server/persistence/memory-storage.js';
import type { AppendMeta, CommitListener, DocumentRef } from '../../server/persistence/storage.js';
import { RegistryClosedError, RoomRegistry } from '../../server/rooms/room-registry.js';
import { InvalidUpdateError, type Room } from '../../server/rooms/room.js';
import type { RoomExtension } from '../../server/rooms/room-extension.js';
import { serverOrigin } from '../../server/rooms/update-origin.js';
import {
  deferred,
  Editor,
  fakeMember,
  flush,
  Hub,
  ManualClock,
  metricsFor,
  silentLogger,
  textOf,
  UNINTEGRABLE_UPDATE,
} from '../helpers/rooms.js';

const NAME = 'registry-doc';

/**
 * MemoryStorage with the timing of a real one made visible: appends are queued until
 * flush() (a group commit that has not run yet), and flush and release can be held.
 */
class HeldStorage extends MemoryStorage {
  private readonly queued: Array<{ documentId: string; update: Uint8Array; meta: AppendMeta; listener: CommitListener }> = [];
  queueAppends = false;
  flushGate: Promise<void> | null = null;
  releaseGate: Promise<void> | null = null;

  override append(documentId: string, update: Uint8Array, meta: AppendMeta, listener: CommitListener): void {
    if (this.queueAppends) this.queued.push({ documentId, update, meta, listener });
    else super.append(documentId, update, meta, listener);
  }

  override async flush(): Promise<void> {
    await this.flushGate;
    for (const item of this.queued.splice(0)) super.append(item.documentId, item.update, item.meta, item.listener);
  }

  override async release(documentId: string): Promise<void> {
    await this.releaseGate;
    return super.release(documentId);
  }

  get queuedCount(): number {
    return this.queued.length;
  }
}

async function setup(storage = new HeldStorage(), extensions: readonly RoomExtension[] = []) {
  const hub = new Hub();
  const metrics = metricsFor(storage);
  const rooms = new RoomRegistry({ storage, publisher: hub, extensions, metrics, logger: silentLogger, clock: systemClock });
  const ref = await storage.create(NAME, { kind: 'paper' });
  return { storage, hub, metrics, rooms, ref };
}

describe('RoomRegistry acquire/release', () => {
  it('loads a document once for concurrent acquires; every holder gets the same room', async () => {
    const { storage, rooms, ref, metrics } = await setup();
    const load = vi.spyOn(storage, 'load');

    const acquired = await Promise.all([rooms.acquire(ref), rooms.acquire(ref), rooms.acquire(ref)]);

    expect(load).toHaveBeenCalledTimes(1);
    expect(new Set(acquired).size).toBe(1);
    expect(acquired[0]!.id).toBe(ref.id);
    expect(acquired[0]!.name).toBe(NAME);
    expect(rooms.size).toBe(1);
    expect(metrics.counters.roomsOpen).toBe(1);
    // Already loaded: a later acquire does not load again.
    expect(await rooms.acquire(ref)).toBe(acquired[0]);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('the room holds what storage holds', async () => {
    const { storage, rooms, ref } = await setup();
    const editor = new Editor(100);
    storage.append(ref.id, editor.insert('persisted'), { userId: null, sessionId: 's' }, { committed() {}, refused() {} });

    const room = await rooms.acquire(ref);

    expect(textOf(room.doc)).toBe('persisted');
  });

  it('unloads only after the last holder released, once storage released it', async () => {
    const { storage, rooms, ref, metrics } = await setup();
    const release = vi.spyOn(storage, 'release');
    const room = await rooms.acquire(ref);
    await rooms.acquire(ref);

    rooms.release(room);
    await flush();
    expect(release).not.toHaveBeenCalled();
    expect(rooms.size).toBe(1);
    expect(await rooms.find(NAME)).toBe(room);

    rooms.release(room);
    expect(release).toHaveBeenCalledWith(ref.id);
    await flush();
    expect(rooms.size).toBe(0);
    expect(metrics.counters.roomsOpen).toBe(0);
    expect(room.doc.isDestroyed).toBe(true);
    expect(await rooms.find(NAME)).toEqual(ref); // from storage now
  });

  it('a release after unload started, or of an unknown room, changes nothing', async () => {
    const { rooms, ref, metrics } = await setup();
    const room = await rooms.acquire(ref);
    rooms.release(room);
    rooms.release(room); // extra release
    await flush();
    rooms.release(room); // after unload
    expect(rooms.size).toBe(0);
    expect(metrics.counters.roomsOpen).toBe(0);
  });

  it('a join while the room waits to unload keeps the same room alive', async () => {
    const { storage, rooms, ref, metrics } = await setup();
    const gate = deferred();
    storage.releaseGate = gate.promise;
    const load = vi.spyOn(storage, 'load');
    const room = await rooms.acquire(ref);
    rooms.release(room); // unload starts, waits for storage.release

    const joined = await rooms.acquire(ref);
    gate.resolve();
    await flush();

    expect(joined).toBe(room);
    expect(load).toHaveBeenCalledTimes(1);
    expect(rooms.size).toBe(1);
    expect(metrics.counters.roomsOpen).toBe(1);
    expect(room.doc.isDestroyed).toBe(false);
    expect(await rooms.find(NAME)).toBe(room);

    // Its last holder leaving unloads it after all.
    storage.releaseGate = null;
    rooms.release(joined);
    await flush();
    expect(rooms.size).toBe(0);
    expect(room.doc.isDestroyed).toBe(true);
  });

  it('acquire after an unload loads a fresh room with the stored updates', async () => {
    const { storage, rooms, ref, hub } = await setup();
    const load = vi.spyOn(storage, 'load');
    const room = await rooms.acquire(ref);
    const member = fakeMember(hub.socket(), NAME);
    room.join(member);
    room.apply(new Editor(100).insert('kept'), member);
    room.leave(member, 0);
    rooms.release(room);
    await flush();

    const reloaded = await rooms.acquire(ref);

    expect(reloaded).not.toBe(room);
    expect(load).toHaveBeenCalledTimes(2);
    expect(textOf(reloaded.doc)).toBe('kept');
  });

  it('a failed load rejects every waiting acquire and is retried by the next one', async () => {
    const { storage, rooms, ref } = await setup();
    const load = vi.spyOn(storage, 'load').mockRejectedValueOnce(new Error('database unreachable'));

    const results = await Promise.allSettled([rooms.acquire(ref), rooms.acquire(ref)]);

    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(rooms.size).toBe(0);
    const room = await rooms.acquire(ref);
    expect(room.name).toBe(NAME);
    expect(load).toHaveBeenCalledTimes(2);
  });
});

describe('RoomRegistry.find', () => {
  it("returns the live room's ref without touching storage", async () => {
    const { storage, rooms, ref } = await setup();
    const room = await rooms.acquire(ref);
    const find = vi.spyOn(storage, 'find');
    const load = vi.spyOn(storage, 'load');

    const found = await rooms.find(NAME);

    expect(found).toBe(room);
    expect({ id: found!.id, name: found!.name, kind: found!.kind, projectId: found!.projectId }).toEqual(ref);
    expect(find).not.toHaveBeenCalled();
    expect(load).not.toHaveBeenCalled();
  });

  it('asks storage when the document is not live, and never creates one', async () => {
    const { storage, rooms, ref } = await setup();
    const find = vi.spyOn(storage, 'find');

    expect(await rooms.find(NAME)).toEqual(ref);
    expect(await rooms.find('no-such-doc')).toBeNull();
    expect(find).toHaveBeenCalledTimes(2);
    expect(await storage.find('no-such-doc')).toBeNull();
  });
});

describe('RoomRegistry eviction of a poisoned room', () => {
  async function poisonedRoom() {
    const env = await setup();
    const { storage, rooms, ref, hub } = env;
    const room = await rooms.acquire(ref);
    await rooms.acquire(ref);
    const a = fakeMember(hub.socket(), NAME);
    const b = fakeMember(hub.socket(), `${NAME}\0b`);
    room.join(a);
    room.join(b);
    room.apply(new Editor(100).insert('committed '), a);
    // From here on, updates stay queued in storage until a flush.
    storage.queueAppends = true;
    room.apply(new Editor(200).insert('queued'), b);
    expect(storage.queuedCount).toBe(1);
    return { ...env, room, a, b };
  }

  it('detaches all members at once and tells each of them after a microtask', async () => {
    const { room, a, b, rooms, metrics } = await poisonedRoom();

    expect(() => room.apply(UNINTEGRABLE_UPDATE, a)).toThrow(InvalidUpdateError);

    // Synchronously: the room is gone from the registry and has no members left.
    expect(room.members.size).toBe(0);
    expect(a.socket.subscriptions.size).toBe(0);
    expect(b.socket.subscriptions.size).toBe(0);
    expect(rooms.size).toBe(0);
    expect(metrics.counters.roomsEvicted).toBe(1);
    expect(metrics.counters.roomsOpen).toBe(0);
    // …but the members hear of it only once the offending handler has unwound.
    expect([a.evictions, b.evictions]).toEqual([0, 0]);
    await Promise.resolve();
    expect([a.evictions, b.evictions]).toEqual([1, 1]);
    await flush();
    expect([a.evictions, b.evictions]).toEqual([1, 1]);
  });

  it('a new acquire waits for the flush and gets a new room loaded from storage with every applied update', async () => {
    const { room, a, rooms, ref, storage } = await poisonedRoom();
    const gate = deferred();
    storage.flushGate = gate.promise;
    const load = vi.spyOn(storage, 'load');
    expect(() => room.apply(UNINTEGRABLE_UPDATE, a)).toThrow(InvalidUpdateError);

    let fresh: Room | null = null;
    void rooms.acquire(ref).then((r) => (fresh = r));
    await flush();
    expect(fresh).toBeNull();
    expect(load).not.toHaveBeenCalled();
    expect(room.doc.isDestroyed).toBe(false);

    gate.resolve();
    await flush();

    expect(fresh).not.toBeNull();
    const reloaded = fresh! as Room;
    expect(reloaded).not.toBe(room);
    expect(load).toHaveBeenCalledTimes(1);
    expect(textOf(reloaded.doc)).toBe('committed queued');
    // The update that broke the old copy was never stored.
    expect(Y.decodeStateVector(Y.encodeStateVector(reloaded.doc)).has(1)).toBe(false);
    expect(reloaded.poisoned).toBe(false);
    expect(room.doc.isDestroyed).toBe(true);
    expect(await rooms.find(NAME)).toBe(reloaded);
  });

  it('suspends edits after maxEvictions in the window, and lifts it when the window has passed on its clock', async () => {
    const storage = new HeldStorage();
    const clock = new ManualClock();
    const hub = new Hub();
    const rooms = new RoomRegistry({
      storage,
      publisher: hub,
      extensions: [],
      metrics: metricsFor(storage),
      logger: silentLogger,
      clock,
      maxEvictions: 2,
      evictionWindowMs: 1_000,
    });
    const ref = await storage.create(NAME, { kind: 'paper' });
    const evict = async () => {
      const room = await rooms.acquire(ref);
      expect(() =>
        room.apply(
          UNINTEGRABLE_UPDATE,
          serverOrigin(null, 'server:test', 'test', () => {}),
        ),
      ).toThrow(InvalidUpdateError);
    };

    await evict();
    clock.advance(100);
    await evict();
    const fresh = await rooms.acquire(ref);
    expect(fresh.writesSuspended).toBe(true);

    clock.advance(899); // the first eviction leaves the window 1000 ms after it
    expect(fresh.writesSuspended).toBe(true);
    clock.advance(1);
    expect(fresh.writesSuspended).toBe(false);
  });

  it('releases of the evicted room by its old holders do not unload the new one', async () => {
    const { room, a, rooms, ref, storage } = await poisonedRoom();
    expect(() => room.apply(UNINTEGRABLE_UPDATE, a)).toThrow(InvalidUpdateError);
    const reloaded = await rooms.acquire(ref);
    const release = vi.spyOn(storage, 'release');

    rooms.release(room);
    rooms.release(room);
    await flush();

    expect(release).not.toHaveBeenCalled();
    expect(rooms.size).toBe(1);
    expect(await rooms.find(NAME)).toBe(reloaded);
  });
});

describe("RoomRegistry: a room's extensions", () => {
  /** An extension that logs each hook as "<who> <hook>"; `unloading` waits for `unloadGate` when set. */
  function logging(who: string, log: string[], unloadGate: Promise<void> | null = null): RoomExtension {
    return {
      load: async () => void log.push(`${who} load`),
      loaded: () => void log.push(`${who} loaded`),
      unloading: async () => {
        log.push(`${who} unloading`);
        await unloadGate;
      },
      gone: (room) => void log.push(`${who} gone${room.doc.isDestroyed ? ' (destroyed)' : ''}`),
    };
  }

  it('calls each hook on every extension in list order: load before the storage read, unload after every unloading settled', async () => {
    const log: string[] = [];
    const gate = deferred();
    const storage = new HeldStorage();
    const { rooms, ref } = await setup(storage, [logging('a', log), logging('b', log, gate.promise)]);
    const read = storage.load.bind(storage);
    vi.spyOn(storage, 'load').mockImplementation(async (document: DocumentRef) => {
      log.push('storage load');
      return read(document);
    });
    const released = vi.spyOn(storage, 'release');

    const room = await rooms.acquire(ref);
    expect(log).toEqual(['a load', 'b load', 'storage load', 'a loaded', 'b loaded']);

    log.length = 0;
    rooms.release(room);
    await flush();
    expect(log).toEqual(['a unloading', 'b unloading']);
    expect(released).not.toHaveBeenCalled();
    expect(room.doc.isDestroyed).toBe(false);

    gate.resolve();
    await flush();
    expect(released).toHaveBeenCalledTimes(1);
    // Gone before the Y.Doc is destroyed.
    expect(log).toEqual(['a unloading', 'b unloading', 'a gone', 'b gone']);
    expect(room.doc.isDestroyed).toBe(true);
  });

  it('an evicted room is gone at once, in order; every live room is gone when the registry closes', async () => {
    const log: string[] = [];
    const { rooms, ref, hub } = await setup(new HeldStorage(), [logging('a', log), logging('b', log)]);
    const room = await rooms.acquire(ref);
    const member = fakeMember(hub.socket(), NAME);
    room.join(member);
    log.length = 0;

    expect(() => room.apply(UNINTEGRABLE_UPDATE, member)).toThrow(InvalidUpdateError);
    expect(log).toEqual(['a gone', 'b gone']);

    const fresh = await rooms.acquire(ref);
    log.length = 0;
    rooms.close();
    expect(log).toEqual(['a gone', 'b gone']);
    expect(fresh.doc.isDestroyed).toBe(true);
  });
});

describe('RoomRegistry.close', () => {
  it('frees every room and refuses further acquires with RegistryClosedError', async () => {
    const { rooms, ref, metrics, storage } = await setup();
    const room = await rooms.acquire(ref);

    rooms.close();

    expect(rooms.size).toBe(0);
    expect(metrics.counters.roomsOpen).toBe(0);
    expect(room.doc.isDestroyed).toBe(true);
    const load = vi.spyOn(storage, 'load');
    await expect(rooms.acquire(ref)).rejects.toBeInstanceOf(RegistryClosedError);
    expect(load).not.toHaveBeenCalled(); // storage may be closing too: not touched
    expect(rooms.size).toBe(0);
  });

  it('an acquire whose load was in flight is refused too, and its room freed', async () => {
    const storage = new HeldStorage();
    const { rooms, ref, metrics } = await setup(storage);
    const loadGate = deferred<void>();
    const loaded: Room[] = [];
    const realLoad = storage.load.bind(storage);
    vi.spyOn(storage, 'load').mockImplementation(async (document: DocumentRef) => {
      await loadGate.promise;
      return realLoad(document);
    });
    const pending = rooms.acquire(ref).then((room) => loaded.push(room));

    rooms.close();
    loadGate.resolve();

    await expect(pending).rejects.toBeInstanceOf(RegistryClosedError);
    expect(loaded).toEqual([]);
    expect(metrics.counters.roomsOpen).toBe(0);
    expect(rooms.size).toBe(0);
  });
});
