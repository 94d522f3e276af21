/**
 * The room registry's side of the lifecycle, without I/O: one room per document whichever name
 * it is opened by; a rename replaces the live copy (members reopen on one loaded under the new
 * name) without counting as an eviction; a deleted document's room takes no one in and a load
 * after a restore waits until it has unloaded; a document deleted while loading is refused;
 * revalidate() (after missed events) replaces the rooms of documents renamed or gone meanwhile.
 */
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../server/clock.js';
import { MemoryStorage } from '../../server/persistence/memory-storage.js';
import { DocumentDeletedError, type DocumentRef, type StoredDocument } from '../../server/persistence/storage.js';
import { RoomRegistry } from '../../server/rooms/room-registry.js';
import { deferred, fakeMember, flush, Hub, metricsFor, silentLogger } from '../helpers/rooms.js';

/** MemoryStorage with renames (former names resolve to the document) and a load that can be held. */
class RenamingStorage extends MemoryStorage {
  private readonly current = new Map<string, string>();
  private readonly formerNames = new Map<string, string>();
  loadGate: Promise<void> | null = null;

  override async find(name: string): Promise<DocumentRef | null> {
    const renamedTo = [...this.current].find(([, current]) => current === name)?.[0];
    const id = renamedTo ?? this.formerNames.get(name);
    const ref = id !== undefined ? this.list().find((document) => document.id === id) : await super.find(name);
    return ref ? { ...ref, name: this.current.get(ref.id) ?? ref.name } : null;
  }

  override async load(document: DocumentRef): Promise<StoredDocument> {
    await this.loadGate;
    const stored = await super.load(document);
    return { ...stored, name: this.current.get(document.id) ?? stored.name };
  }

  rename(document: DocumentRef, to: string): void {
    this.formerNames.set(this.current.get(document.id) ?? document.name, document.id);
    this.current.set(document.id, to);
  }
}

function setup() {
  const storage = new RenamingStorage();
  const metrics = metricsFor(storage);
  const rooms = new RoomRegistry({
    storage,
    publisher: new Hub(),
    extensions: [],
    metrics,
    logger: silentLogger,
    clock: systemClock,
    maxEvictions: 2,
  });
  const hub = new Hub();
  return { storage, metrics, rooms, hub };
}

describe('RoomRegistry and the document lifecycle', () => {
  it('a document opened by its former and its current name is one room', async () => {
    const { storage, rooms, metrics } = setup();
    const ref = await storage.create('before', { kind: 'paper' });
    const room = await rooms.acquire((await rooms.find('before'))!);
    storage.rename(ref, 'after');
    const byNew = (await rooms.find('after'))!;
    expect(byNew).toMatchObject({ id: ref.id, name: 'after' });
    expect(await rooms.acquire(byNew)).toBe(room);
    expect(await rooms.acquire((await rooms.find('before'))!)).toBe(room);
    expect(rooms.size).toBe(1);
    expect(metrics.counters.roomsOpen).toBe(1);
  });

  it('reload (a rename) replaces the live copy: members reopen on one named anew; it is no eviction', async () => {
    const { storage, rooms, metrics, hub } = setup();
    const ref = await storage.create('old name', { kind: 'paper' });
    const room = await rooms.acquire(ref);
    const member = fakeMember(hub.socket(), 'old name');
    room.join(member);
    for (let i = 1; i <= 3; i++) {
      storage.rename(ref, `name ${i}`);
      const live = await rooms.acquire((await rooms.find(`name ${i}`))!);
      rooms.reload(ref.id);
      expect(live.poisoned).toBe(true);
      await flush();
      expect(member.evictions).toBe(i);
      const fresh = await rooms.acquire((await rooms.find('old name'))!);
      expect(fresh).not.toBe(live);
      expect(fresh.name).toBe(`name ${i}`);
      fresh.join(member);
      expect(fresh.writesSuspended).toBe(false);
    }
    // Three replacements with maxEvictions 2, none counted.
    expect(metrics.counters.roomsEvicted).toBe(0);
    expect(rooms.size).toBe(1);
  });

  it('a deleted document’s room takes no one in; a load after a restore waits until it has unloaded', async () => {
    const { storage, rooms, metrics } = setup();
    const ref = await storage.create('binned', { kind: 'paper' });
    const room = await rooms.acquire(ref);
    rooms.documentDeleted(ref.id);
    expect(rooms.isDeleted(room)).toBe(true);
    expect(rooms.size).toBe(0);

    // Restored, and opened again while the deleted copy still has its member: a new copy, loaded once that one is gone.
    let acquired = false;
    const again = rooms.acquire(ref).then((fresh) => {
      acquired = true;
      return fresh;
    });
    await flush();
    expect(acquired).toBe(false);
    rooms.release(room);
    const fresh = await again;
    expect(fresh).not.toBe(room);
    expect(rooms.isDeleted(fresh)).toBe(false);
    expect(metrics.counters.roomsOpen).toBe(1);
  });

  it('a document deleted while it loads is refused to those waiting for it', async () => {
    const { storage, rooms } = setup();
    const ref = await storage.create('loading', { kind: 'paper' });
    const gate = deferred();
    storage.loadGate = gate.promise;
    const acquiring = rooms.acquire(ref);
    rooms.documentDeleted(ref.id);
    gate.resolve();
    await expect(acquiring).rejects.toBeInstanceOf(DocumentDeletedError);
    expect(rooms.size).toBe(0);
  });

  it('revalidate replaces the rooms of documents renamed or gone meanwhile, and only those', async () => {
    const { storage, rooms, hub } = setup();
    const kept = await storage.create('kept', { kind: 'paper' });
    const renamed = await storage.create('renamed', { kind: 'paper' });
    const gone = await storage.create('gone', { kind: 'paper' });
    const members = new Map<string, ReturnType<typeof fakeMember>>();
    for (const ref of [kept, renamed, gone]) {
      const member = fakeMember(hub.socket(), ref.name);
      (await rooms.acquire(ref)).join(member);
      members.set(ref.name, member);
    }
    storage.rename(renamed, 'renamed since');
    storage.delete('gone');
    await rooms.revalidate();
    await flush();
    expect(Object.fromEntries([...members].map(([name, member]) => [name, member.evictions]))).toEqual({ kept: 0, renamed: 1, gone: 1 });
  });
});
