import { describe, expect, it, vi } from 'vitest';
import { MemoryStorage } from '../../server/persistence/memory-storage.js';
import type { AppendMeta, CommitListener } from '../../server/persistence/storage.js';
import type { DocumentSession } from '../../server/protocol/document-session.js';
import { HocuspocusConnection } from '../../server/protocol/hocuspocus/hocuspocus-connection.js';
import { Durability } from '../../server/rooms/durability.js';
import type { Room } from '../../server/rooms/room.js';
import type { UpdateOrigin } from '../../server/rooms/update-origin.js';
import { authFrame, closeDocFrame, step2Frame, updateFrame } from '../helpers/frames.js';
import { Editor, flush, protocolEnv, textOfState, type FakeSocket } from '../helpers/rooms.js';

const DOC = 'ack-doc';
const OTHER_DOC = 'ack-other';

/**
 * MemoryStorage whose appends wait for the test to commit or refuse them, like a
 * group commit that has not run yet. Outcomes are reported through the real
 * MemoryStorage path (committed) or as the database's permanent refusal.
 */
class ManualCommitStorage extends MemoryStorage {
  readonly queued: Array<{ documentId: string; update: Uint8Array; meta: AppendMeta; listener: CommitListener }> = [];
  full = false;

  override admits(bytes: number): boolean {
    return !this.full && super.admits(bytes);
  }

  override append(documentId: string, update: Uint8Array, meta: AppendMeta, listener: CommitListener): void {
    this.queued.push({ documentId, update, meta, listener });
  }

  /** Commits the queued append at `index` (appends of one room must settle in order: index 0 of that room). */
  commit(index = 0): void {
    const [item] = this.queued.splice(index, 1);
    if (!item) throw new Error('nothing queued');
    super.append(item.documentId, item.update, item.meta, item.listener);
  }

  refuse(index = 0, error = new Error('violates a constraint')): void {
    const [item] = this.queued.splice(index, 1);
    if (!item) throw new Error('nothing queued');
    item.listener.refused(item.meta, error);
  }
}

async function setup() {
  const storage = new ManualCommitStorage();
  const env = protocolEnv(storage);
  const connect = async (...documents: string[]) => {
    const socket = env.hub.socket();
    const connection = new HocuspocusConnection(socket, env.context);
    for (const name of documents) connection.onMessage(authFrame(name), true);
    await flush();
    for (const name of documents) expect(socket.decoded().some((f) => f.kind === 'auth' && f.name === name && f.authType === 2)).toBe(true);
    return { socket, connection, send: (frame: Uint8Array) => connection.onMessage(frame, true) };
  };
  const room = async (name: string): Promise<Room> => (await env.rooms.find(name)) as Room;
  const sessionOf = async (name: string, socket: FakeSocket): Promise<DocumentSession> =>
    [...(await room(name)).members].find((member) => member.socket === socket) as DocumentSession;
  return { storage, env, connect, room, sessionOf };
}

describe('AckQueue (through a HocuspocusConnection)', () => {
  it('acknowledges a stored update only once it is committed', async () => {
    const { storage, connect } = await setup();
    const a = await connect(DOC);

    a.send(updateFrame(DOC, new Editor(100).insert('x')));

    expect(a.socket.syncStatuses()).toEqual([]);
    expect(storage.queued).toHaveLength(1);
    storage.commit();
    expect(a.socket.syncStatuses()).toEqual([1]);
  });

  it('sends acks in arrival order, one per committed update', async () => {
    const { storage, connect } = await setup();
    const a = await connect(DOC);
    const editor = new Editor(100);

    for (const text of ['a', 'b', 'c']) a.send(updateFrame(DOC, editor.insert(text)));

    expect(a.socket.syncStatuses()).toEqual([]);
    storage.commit();
    expect(a.socket.syncStatuses()).toEqual([1]);
    storage.commit();
    expect(a.socket.syncStatuses()).toEqual([1, 1]);
    storage.commit();
    expect(a.socket.syncStatuses()).toEqual([1, 1, 1]);
  });

  it('keeps arrival order across documents on one socket: a later document waits for an earlier one', async () => {
    const { storage, connect } = await setup();
    const a = await connect(DOC, OTHER_DOC);

    a.send(updateFrame(DOC, new Editor(100).insert('first')));
    a.send(updateFrame(OTHER_DOC, new Editor(100).insert('second')));
    expect(storage.queued).toHaveLength(2);

    storage.commit(1); // OTHER_DOC's update settles first
    expect(a.socket.syncStatuses()).toEqual([]);

    storage.commit(0);
    const acks = a.socket.decoded().filter((f) => f.kind === 'syncStatus');
    expect(acks.map((f) => f.name)).toEqual([DOC, OTHER_DOC]);
  });

  it("waits for every update applied before it, from any client: a duplicate's ack waits for the other client's commit", async () => {
    const { storage, connect } = await setup();
    const a = await connect(DOC);
    const b = await connect(DOC);
    const update = new Editor(200).insert('shared');

    b.send(updateFrame(DOC, update)); // stored, not yet committed
    a.send(updateFrame(DOC, update)); // already applied: unchanged, nothing stored for A

    expect(storage.queued).toHaveLength(1);
    expect(a.socket.syncStatuses()).toEqual([]);
    expect(b.socket.syncStatuses()).toEqual([]);

    storage.commit();
    expect(b.socket.syncStatuses()).toEqual([1]);
    expect(a.socket.syncStatuses()).toEqual([1]);
  });

  it('an ack with nothing outstanding goes out at once', async () => {
    const { connect } = await setup();
    const a = await connect(DOC);

    a.send(step2Frame(DOC, new Uint8Array([0, 0]))); // empty update: unchanged

    expect(a.socket.syncStatuses()).toEqual([1]);
  });

  it('an update refused by a full write queue is acked with SyncStatus 0 at once and not applied', async () => {
    const { storage, connect, room } = await setup();
    const a = await connect(DOC);
    storage.full = true;

    a.send(updateFrame(DOC, new Editor(100).insert('no room')));

    expect(a.socket.syncStatuses()).toEqual([0]);
    expect((await room(DOC)).doc.getText('t').toString()).toBe('');
    expect(storage.queued).toEqual([]);
  });

  it('an update the database refused is acked with SyncStatus 0; the acks behind it carry on', async () => {
    const { storage, connect } = await setup();
    const a = await connect(DOC);
    const editor = new Editor(100);
    for (const text of ['kept ', 'refused ', 'kept too']) a.send(updateFrame(DOC, editor.insert(text)));

    storage.commit();
    storage.refuse();
    storage.commit();

    expect(a.socket.syncStatuses()).toEqual([1, 0, 1]);
    // The refusal answered its own ack only.
    a.send(updateFrame(DOC, editor.insert(' later')));
    storage.commit();
    expect(a.socket.syncStatuses()).toEqual([1, 0, 1, 1]);
    const stored = textOfState((await storage.load((await storage.find(DOC))!)).state);
    expect(stored).toContain('kept ');
    expect(stored).not.toContain('refused');
  });

  it("keeps a refusal until its ack goes out behind another document's", async () => {
    const { storage, connect, room } = await setup();
    const a = await connect(OTHER_DOC, DOC);

    a.send(updateFrame(OTHER_DOC, new Editor(100).insert('ahead'))); // holds the queue
    a.send(updateFrame(DOC, new Editor(100).insert('refused')));
    expect((await room(DOC)).durability.appended).toBe(1);

    storage.refuse(1); // DOC's update (seq 1) refused; its ack is still behind OTHER_DOC's
    expect(a.socket.syncStatuses()).toEqual([]);

    storage.commit(0);
    expect(a.socket.syncStatuses(OTHER_DOC)).toEqual([1]);
    expect(a.socket.syncStatuses(DOC)).toEqual([0]);
  });

  it('answers with SyncStatus 0 an update storage refuses at once, while it is being applied', async () => {
    const { storage, connect } = await setup();
    const a = await connect(DOC);
    // MemoryStorage refuses an append to a document that no longer exists, synchronously.
    storage.append = (documentId, _update, meta, listener) => listener.refused(meta, new Error(`document ${documentId} is gone`));

    a.send(updateFrame(DOC, new Editor(100).insert('refused at once')));

    expect(a.socket.syncStatuses()).toEqual([0]);
  });

  it("a closed session's refusal is not answered; the reopened session's acks are its own", async () => {
    const { storage, connect } = await setup();
    const a = await connect(OTHER_DOC, DOC);
    const editor = new Editor(100);

    a.send(updateFrame(OTHER_DOC, new Editor(200).insert('ahead'))); // holds the queue
    a.send(updateFrame(DOC, editor.insert('refused')));
    storage.refuse(1);
    a.send(closeDocFrame(DOC));
    a.send(authFrame(DOC));
    await flush();
    a.send(updateFrame(DOC, editor.insert(' again')));
    storage.commit(0);
    storage.commit(0);

    // The reopened session's ack is its own: saved (the refusal went with the closed session).
    expect(a.socket.syncStatuses(OTHER_DOC)).toEqual([1]);
    expect(a.socket.syncStatuses(DOC)).toEqual([1]);
  });

  it("another client's refused update is only that client's SyncStatus 0", async () => {
    const { storage, connect } = await setup();
    const a = await connect(DOC);
    const b = await connect(DOC);

    b.send(updateFrame(DOC, new Editor(200).insert('bad')));
    a.send(updateFrame(DOC, new Editor(100).insert('good')));

    storage.refuse();
    expect(b.socket.syncStatuses()).toEqual([0]);
    expect(a.socket.syncStatuses()).toEqual([]); // still waits for its own update
    storage.commit();
    expect(a.socket.syncStatuses()).toEqual([1]);
  });

  it('acks released by one commit leave corked', async () => {
    const { storage, connect } = await setup();
    const a = await connect(DOC);
    const editor = new Editor(100);
    a.send(updateFrame(DOC, editor.insert('1')));
    a.send(updateFrame(DOC, editor.insert('2')));
    const depths: number[] = [];
    const send = a.socket.send.bind(a.socket);
    a.socket.send = (frame) => {
      depths.push(a.socket.corkDepth);
      send(frame);
    };
    // Both settle in one report, as a group commit does.
    const first = storage.queued.shift()!;
    const second = storage.queued.shift()!;
    expect(second.listener).toBe(first.listener);
    first.listener.committed(2);

    expect(a.socket.syncStatuses()).toEqual([1, 1]);
    expect(depths).toEqual([1, 1]);
  });

  it('forgets the acks of a closed socket', async () => {
    const { storage, connect } = await setup();
    const a = await connect(DOC);
    a.send(updateFrame(DOC, new Editor(100).insert('x')));
    const before = a.socket.frames.length;

    a.socket.close(1000, 'bye');
    a.connection.onClose();
    storage.commit();

    expect(a.socket.frames.length).toBe(before);
  });
});

describe('Durability', () => {
  const origin = (): UpdateOrigin & { refused: Array<[number, Error]> } => {
    const o = {
      kind: 'server' as const,
      userId: null,
      sessionId: 's',
      refused: [] as Array<[number, Error]>,
      updateRefused(seq: number, error: Error) {
        o.refused.push([seq, error]);
      },
    };
    return o;
  };

  it('refused(meta, error) tells the meta (the origin) which seq was refused, in order', () => {
    const durability = new Durability();
    const first = origin();
    const second = origin();
    durability.appended = 4;
    const error = new Error('no');

    durability.committed(1);
    durability.refused(first, error);
    durability.committed(1);
    durability.refused(second, error);

    expect(first.refused).toEqual([[2, error]]);
    expect(second.refused).toEqual([[4, error]]);
    expect(durability.settled).toBe(4);
  });

  it('whenSettled resolves at once for a settled seq and otherwise once settled reaches it', async () => {
    const durability = new Durability();
    durability.appended = 3;
    const resolved: number[] = [];
    void durability.whenSettled(0).then(() => resolved.push(0));
    void durability.whenSettled(1).then(() => resolved.push(1));
    void durability.whenSettled(3).then(() => resolved.push(3));
    await flush();
    expect(resolved).toEqual([0]);

    durability.committed(1);
    await flush();
    expect(resolved).toEqual([0, 1]);

    durability.refused(origin(), new Error('refused'));
    await flush();
    expect(resolved).toEqual([0, 1]); // settled 2 < 3

    durability.committed(1);
    await flush();
    expect(resolved).toEqual([0, 1, 3]);
  });

  it('tells each waiter once per advance; a waiter that still waits registers again', () => {
    const durability = new Durability();
    const waiter = { durabilityAdvanced: vi.fn() };
    durability.wait(waiter);
    durability.wait(waiter); // a set: once

    durability.committed(1);
    durability.committed(1);

    expect(waiter.durabilityAdvanced).toHaveBeenCalledTimes(1);
  });
});
