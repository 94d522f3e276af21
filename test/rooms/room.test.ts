import * as Y from 'yjs';
import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_PROJECT_ID } from '../../server/persistence/documents.js';
import { MemoryStorage } from '../../server/persistence/memory-storage.js';
import type { CommitListener, StoredDocument } from '../../server/persistence/storage.js';
import { encodeAwarenessUpdate } from '../../server/codec/awareness-codec.js';
import { InvalidUpdateError, Room, RoomEvictedError, type RoomStorage } from '../../server/rooms/room.js';
import { RoomExtensions, type RoomExtension } from '../../server/rooms/room-extension.js';
import { remoteOrigin, type ServerOrigin, type UpdateOrigin } from '../../server/rooms/update-origin.js';
import { awarenessFrame, decodeAwareness, updateFrame } from '../helpers/frames.js';
import { Editor, fakeMember, Hub, metricsFor, textOf, textOfState, UNINTEGRABLE_UPDATE, undecodableUpdate } from '../helpers/rooms.js';

const NAME = 'room-doc';

function serverOrigin(): ServerOrigin & { refused: number[] } {
  const origin = {
    kind: 'server' as const,
    userId: null,
    sessionId: 'server:restore',
    refused: [] as number[],
    updateRefused(seq: number) {
      origin.refused.push(seq);
    },
  };
  return origin;
}

function stored(overrides: Partial<StoredDocument> = {}): StoredDocument {
  return { id: 'doc-id', name: NAME, kind: 'paper', projectId: DEFAULT_PROJECT_ID, state: null, ...overrides };
}

interface Call {
  readonly who: string;
  readonly room: Room;
  readonly update: Uint8Array;
  readonly origin: UpdateOrigin;
  readonly frame: Uint8Array | null;
  /** The room's `durability.appended` when the extension was called. */
  readonly appended: number;
}

/** An extension that records its calls into a shared log. */
function recorder(who: string, log: Array<Call | string>, admits?: (update: Uint8Array, origin: UpdateOrigin) => boolean): RoomExtension {
  const extension: RoomExtension = {
    updateApplied(room, update, origin, frame) {
      log.push({ who, room, update, origin, frame, appended: room.durability.appended });
    },
  };
  if (admits) extension.admits = admits;
  return extension;
}

/** Storage that admits everything and commits each append at once. */
class InstantStorage implements RoomStorage {
  readonly appended: Uint8Array[] = [];

  admits(): boolean {
    return true;
  }

  append(_documentId: string, update: Uint8Array, _meta: unknown, listener: CommitListener): void {
    this.appended.push(update);
    listener.committed(1);
  }
}

function setup(extensions: RoomExtension[] = [], state: Uint8Array | null = null) {
  const hub = new Hub();
  const storage = new InstantStorage();
  const metrics = metricsFor(new MemoryStorage());
  const poisoned = vi.fn<(room: Room) => void>();
  const room = new Room(stored({ state }), { storage, extensions: new RoomExtensions(extensions), publisher: hub, metrics, poisoned });
  return { hub, metrics, poisoned, room, storage };
}

const calls = (log: Array<Call | string>) => log.filter((entry): entry is Call => typeof entry !== 'string');

describe('Room.apply', () => {
  it('applies a local update once, stores it, runs the extensions in order, then the local fan-out', () => {
    const log: Array<Call | string> = [];
    const { hub, room, metrics } = setup([recorder('first', log), recorder('second', log)]);
    const sender = fakeMember(hub.socket(), NAME);
    const other = fakeMember(hub.socket(), NAME);
    room.join(sender);
    room.join(other);
    // The fan-out publishes through the sender's socket: note when it does.
    const publish = sender.socket.publish.bind(sender.socket);
    sender.socket.publish = (topic, frame) => {
      log.push('fan-out');
      publish(topic, frame);
    };
    const update = new Editor(100).insert('hello');
    const frame = updateFrame(NAME, update);

    expect(room.apply(update, sender, frame)).toBe('changed');

    expect(textOf(room.doc)).toBe('hello');
    expect(log.map((entry) => (typeof entry === 'string' ? entry : entry.who))).toEqual(['first', 'second', 'fan-out']);
    for (const call of calls(log)) {
      expect(call.room).toBe(room);
      expect(call.update).toBe(update);
      expect(call.origin).toBe(sender);
      expect(call.frame).toBe(frame);
      // Stored before any extension runs: the update is the room's latest appended one.
      expect(call.appended).toBe(1);
    }
    expect(other.socket.frames).toEqual([frame]);
    expect(metrics.counters.updatesApplied).toBe(1);
    expect(metrics.counters.updatesRejected).toBe(0);
  });

  it.each([
    ['remote', () => remoteOrigin('other-instance')],
    ['server', () => serverOrigin()],
  ] as const)('applies a %s update through the same path and the same extensions', (_kind, makeOrigin) => {
    const log: Array<Call | string> = [];
    const { hub, room } = setup([recorder('extension', log)]);
    const member = fakeMember(hub.socket(), NAME);
    room.join(member);
    const origin = makeOrigin();
    const update = new Editor(100).insert('from elsewhere');

    expect(room.apply(update, origin)).toBe('changed');

    expect(textOf(room.doc)).toBe('from elsewhere');
    expect(calls(log)).toHaveLength(1);
    expect(calls(log)[0]!.origin).toBe(origin);
    expect(calls(log)[0]!.frame).toBeNull();
    expect(member.socket.frames).toHaveLength(1);
  });

  it('reports a duplicate update as unchanged: no extension, no relay', () => {
    const log: Array<Call | string> = [];
    const { hub, room, metrics } = setup([recorder('extension', log)]);
    const sender = fakeMember(hub.socket(), NAME);
    const other = fakeMember(hub.socket(), NAME);
    room.join(sender);
    room.join(other);
    const update = new Editor(100).insert('once');

    expect(room.apply(update, sender)).toBe('changed');
    expect(room.apply(update, sender)).toBe('unchanged');
    expect(room.apply(update, remoteOrigin('x'))).toBe('unchanged');

    expect(textOf(room.doc)).toBe('once');
    expect(calls(log)).toHaveLength(1);
    expect(other.socket.frames).toHaveLength(1);
    expect(metrics.counters.updatesApplied).toBe(3);
  });

  it('an edit into formatted text is a change, though Yjs ends the apply with an empty cleanup transaction', () => {
    // y-prosemirror's shape: a paragraph holding "Hello " + bold "world".
    const writer = new Y.Doc();
    const text = new Y.XmlText();
    const block = new Y.XmlElement('paragraph');
    block.insert(0, [text]);
    writer.getXmlFragment('default').insert(0, [block]);
    text.insert(0, 'Hello ');
    text.insert(6, 'world', { bold: {} });
    const log: Array<Call | string> = [];
    const { hub, room } = setup([recorder('extension', log)], Y.encodeStateAsUpdate(writer));
    const sender = fakeMember(hub.socket(), NAME);
    room.join(sender);
    const transactions: boolean[] = [];
    room.doc.on('afterTransaction', (transaction: Y.Transaction) => transactions.push(transaction.origin === sender));

    const before = Y.encodeStateVector(writer);
    text.insert(8, 'X');
    const update = Y.encodeStateAsUpdate(writer, before);

    expect(room.apply(update, sender)).toBe('changed');
    // The sender's transaction, then Yjs's own (formatting cleanup, nothing to clean here).
    expect(transactions).toEqual([true, false]);
    expect(calls(log).map((call) => call.update)).toEqual([update]);
    expect(room.doc.getXmlFragment('default').toString()).toBe('<paragraph>Hello <bold>woXrld</bold></paragraph>');
  });

  it("stores and relays, to every member and the sender too, what Yjs's formatting cleanup changes during an apply", () => {
    // "abcdef": A deletes "cde" while B makes "cd" bold. Applied B first, A's deletion leaves two
    // bold markers around nothing; Yjs removes them on the server, in a transaction of its own.
    const base = new Y.Doc();
    const paragraph = new Y.XmlElement('paragraph');
    paragraph.insert(0, [new Y.XmlText('abcdef')]);
    base.getXmlFragment('default').insert(0, [paragraph]);
    const state = Y.encodeStateAsUpdate(base);
    const [docA, docB] = [new Y.Doc(), new Y.Doc()];
    Y.applyUpdate(docA, state);
    Y.applyUpdate(docB, state);
    const textOfDoc = (doc: Y.Doc) => (doc.getXmlFragment('default').get(0) as Y.XmlElement).get(0) as Y.XmlText;
    const deletion = changeOf(docA, () => textOfDoc(docA).delete(2, 3));
    const mark = changeOf(docB, () => textOfDoc(docB).format(2, 2, { bold: {} }));

    const log: Array<Call | string> = [];
    const { hub, room } = setup([recorder('extension', log)], state);
    const a = fakeMember(hub.socket(), NAME);
    const b = fakeMember(hub.socket(), 'other-address');
    room.join(a);
    room.join(b);
    expect(room.apply(mark, b)).toBe('changed');
    expect(room.apply(deletion, a)).toBe('changed');

    const [, ofDeletion, own] = calls(log);
    expect(calls(log)).toHaveLength(3);
    expect(ofDeletion!.origin).toBe(a);
    expect(own!.origin).toMatchObject({ kind: 'server', userId: null, operationType: 'normalize' });
    expect(own!.frame).toBeNull();
    // The sender gets the cleanup like everyone else (published to its audience, not through its socket).
    const ownFrameForA = updateFrame(NAME, own!.update);
    expect(hub.published.some((entry) => sameFrame(entry.frame, ownFrameForA))).toBe(true);
    // A, given everything the room relayed, holds exactly the room's state: markers included.
    Y.applyUpdate(docA, mark);
    Y.applyUpdate(docA, own!.update);
    expect(Y.equalSnapshots(Y.snapshot(docA), Y.snapshot(room.doc))).toBe(true);
  });

  it('stores again, without relaying, a local duplicate of what another instance relayed but has not yet confirmed stored', async () => {
    const storage = new MemoryStorage();
    const ref = await storage.create(NAME, { kind: 'paper', projectId: DEFAULT_PROJECT_ID });
    const hub = new Hub();
    const room = new Room(await storage.load(ref), {
      storage,
      extensions: new RoomExtensions([]),
      publisher: hub,
      metrics: metricsFor(storage),
      poisoned: () => {},
    });
    const member = fakeMember(hub.socket(), NAME);
    const other = fakeMember(hub.socket(), NAME);
    room.join(member);
    room.join(other);
    const update = new Editor(100).insert('relayed, not yet stored by its instance');
    expect(room.apply(update, remoteOrigin('other-instance'))).toBe('changed');
    expect(room.durability.appended).toBe(0);

    // The bus relay counts it as unconfirmed (UnconfirmedUpdates.retain) until its sender says it is stored.
    room.durability.unconfirmedRemote = 1;
    const framesBefore = other.socket.frames.length;
    expect(room.apply(update, member)).toBe('stored-again');
    expect(room.durability.appended).toBe(1);
    expect(other.socket.frames).toHaveLength(framesBefore);
    await waitUntil(() => room.durability.settled === 1);
    expect(textOfState((await storage.load(ref)).state!)).toBe('relayed, not yet stored by its instance');

    // Confirmed: a duplicate is a plain duplicate again.
    room.durability.unconfirmedRemote = 0;
    expect(room.apply(update, member)).toBe('unchanged');
    expect(room.durability.appended).toBe(1);
  });

  it('an update already contained in the loaded state is unchanged', () => {
    const editor = new Editor(100);
    const update = editor.insert('stored');
    const log: Array<Call | string> = [];
    const { room } = setup([recorder('extension', log)], Y.encodeStateAsUpdate(editor.doc));

    expect(textOf(room.doc)).toBe('stored');
    expect(room.apply(update, serverOrigin())).toBe('unchanged');
    expect(calls(log)).toHaveLength(0);
  });

  it('keeps and relays an update that waits for missing dependencies (changed), then integrates it', () => {
    const log: Array<Call | string> = [];
    const { room } = setup([recorder('extension', log)]);
    const editor = new Editor(100);
    const first = editor.insert('a');
    const second = editor.insert('b');

    expect(room.apply(second, serverOrigin())).toBe('changed');
    expect(textOf(room.doc)).toBe('');
    expect(room.apply(first, serverOrigin())).toBe('changed');

    expect(textOf(room.doc)).toBe('ab');
    expect(calls(log).map((call) => call.update)).toEqual([second, first]);
  });

  it('reports a duplicate as unchanged even while another update waits for missing dependencies', () => {
    const log: Array<Call | string> = [];
    const { room } = setup([recorder('extension', log)]);
    const known = new Editor(200).insert('known');
    const gapped = new Editor(100);
    gapped.insert('missing');
    const waiting = gapped.insert('waiting');
    expect(room.apply(known, serverOrigin())).toBe('changed');
    expect(room.apply(waiting, serverOrigin())).toBe('changed'); // pending: kept

    // Already integrated: nothing to store or relay again, whatever else is pending.
    expect(room.apply(known, serverOrigin())).toBe('unchanged');
    expect(calls(log)).toHaveLength(2);
  });

  it('refuses an undecodable update with InvalidUpdateError: document untouched, no extension asked or told', () => {
    const admits = vi.fn(() => true);
    const log: Array<Call | string> = [];
    const { hub, room, metrics, poisoned } = setup([recorder('extension', log, admits)]);
    const sender = fakeMember(hub.socket(), NAME);
    const other = fakeMember(hub.socket(), NAME);
    room.join(sender);
    room.join(other);
    room.apply(new Editor(100).insert('before'), sender);
    const stateBefore = Y.encodeStateAsUpdate(room.doc);
    admits.mockClear();
    log.length = 0;
    other.socket.frames.length = 0;

    expect(() => room.apply(undecodableUpdate(), sender)).toThrow(InvalidUpdateError);

    expect(Y.encodeStateAsUpdate(room.doc)).toEqual(stateBefore);
    expect(admits).not.toHaveBeenCalled();
    expect(log).toEqual([]);
    expect(other.socket.frames).toEqual([]);
    expect(metrics.counters.updatesRejected).toBe(1);
    // Not the room's fault: it stays usable.
    expect(room.poisoned).toBe(false);
    expect(poisoned).not.toHaveBeenCalled();
    expect(room.apply(new Editor(300).insert(' after'), sender)).toBe('changed');
  });

  it("returns 'full' without applying when an extension's admits vetoes the update", () => {
    const log: Array<Call | string> = [];
    const veto = vi.fn((_update: Uint8Array, _origin: UpdateOrigin) => false);
    const { hub, room, metrics, storage } = setup([recorder('gate', log, veto), recorder('later', log)]);
    const sender = fakeMember(hub.socket(), NAME);
    const other = fakeMember(hub.socket(), NAME);
    room.join(sender);
    room.join(other);
    const update = new Editor(100).insert('no room');

    expect(room.apply(update, sender)).toBe('full');

    expect(veto).toHaveBeenCalledWith(update, sender);
    expect(textOf(room.doc)).toBe('');
    expect(Y.encodeStateVector(room.doc)).toEqual(Y.encodeStateVector(new Y.Doc()));
    expect(log).toEqual([]);
    expect(storage.appended).toEqual([]);
    expect(other.socket.frames).toEqual([]);
    expect(metrics.counters.updatesRejected).toBe(1);
    // Once there is room again, the same update goes through.
    veto.mockReturnValue(true);
    expect(room.apply(update, sender)).toBe('changed');
    expect(textOf(room.doc)).toBe('no room');
  });

  it('an update that decodes but fails to integrate poisons the room once; later applies throw RoomEvictedError', () => {
    const log: Array<Call | string> = [];
    const { hub, room, metrics, poisoned } = setup([recorder('extension', log)]);
    const sender = fakeMember(hub.socket(), NAME);
    const other = fakeMember(hub.socket(), NAME);
    room.join(sender);
    room.join(other);
    expect(() => Y.decodeUpdate(UNINTEGRABLE_UPDATE)).not.toThrow();

    expect(() => room.apply(UNINTEGRABLE_UPDATE, sender)).toThrow(InvalidUpdateError);

    expect(room.poisoned).toBe(true);
    expect(poisoned).toHaveBeenCalledTimes(1);
    expect(poisoned).toHaveBeenCalledWith(room);
    expect(log).toEqual([]);
    expect(other.socket.frames).toEqual([]);
    expect(metrics.counters.updatesRejected).toBe(1);

    const valid = new Editor(100).insert('too late');
    expect(() => room.apply(valid, sender)).toThrow(RoomEvictedError);
    expect(() => room.apply(valid, remoteOrigin('x'))).toThrow(RoomEvictedError);
    expect(() => room.apply(UNINTEGRABLE_UPDATE, sender)).toThrow(RoomEvictedError);
    expect(poisoned).toHaveBeenCalledTimes(1);
    expect(log).toEqual([]);
  });
});

describe('Room.fullState', () => {
  it('is the loaded bytes themselves until a change, then a fresh encoding kept until the next', () => {
    const editor = new Editor(100);
    editor.insert('stored');
    const loaded = Y.encodeStateAsUpdate(editor.doc);
    const { room } = setup([], loaded);

    expect(room.fullState()).toBe(loaded); // no encoding for the first client after a load
    expect(room.apply(editor.insert(' and more'), serverOrigin())).toBe('changed');
    const after = room.fullState();
    expect(after).not.toBe(loaded);
    expect(textOfState(after)).toBe('stored and more');
    expect(room.fullState()).toBe(after); // shared until the next change
  });

  it('includes an update that waits for missing dependencies, and what it becomes once they arrive', () => {
    const { room } = setup();
    const editor = new Editor(100);
    const first = editor.insert('a');
    const second = editor.insert('b');
    const empty = room.fullState();

    room.apply(second, serverOrigin()); // pending: the state vector does not move
    const withPending = room.fullState();
    expect(withPending).not.toBe(empty);
    const replica = new Y.Doc();
    Y.applyUpdate(replica, withPending);
    Y.applyUpdate(replica, first);
    expect(textOf(replica)).toBe('ab'); // the pending part was in the full state

    room.apply(first, serverOrigin());
    expect(textOfState(room.fullState())).toBe('ab');
  });
});

describe('Room.missingFrom', () => {
  it('answers an empty state vector with fullState, any other with what it lacks', () => {
    const editor = new Editor(100);
    editor.insert('known');
    const known = Y.encodeStateVector(editor.doc);
    editor.insert(' and new');
    const { room } = setup([], Y.encodeStateAsUpdate(editor.doc));

    expect(room.missingFrom(Y.encodeStateVector(new Y.Doc()))).toBe(room.fullState());
    const lacked = room.missingFrom(known);
    expect(lacked.byteLength).toBeLessThan(room.fullState().byteLength);
    const partial = new Editor(100);
    partial.insert('known');
    Y.applyUpdate(partial.doc, lacked);
    expect(textOf(partial.doc)).toBe('known and new');
  });
});

describe('Room.syncStep2For', () => {
  it('frames the whole state once per audience until the next change; a partial state vector gets its own frame', () => {
    const editor = new Editor(100);
    editor.insert('known');
    const known = Y.encodeStateVector(editor.doc);
    const { hub, room } = setup([], Y.encodeStateAsUpdate(editor.doc));
    const first = fakeMember(hub.socket(), NAME);
    const second = fakeMember(hub.socket(), NAME);
    const other = fakeMember(hub.socket(), null);
    const [a1, a2, b] = [room.join(first), room.join(second), room.join(other)];
    const empty = Y.encodeStateVector(new Y.Doc());

    const frame = room.syncStep2For(a1, empty);
    expect(a2).toBe(a1);
    expect(room.syncStep2For(a2, empty)).toBe(frame);
    expect(other.socket.frames).toEqual([]);
    const unprefixed = room.syncStep2For(b, empty);
    expect(unprefixed).not.toBe(frame);
    expect(frame.subarray(frame.length - unprefixed.length)).toEqual(unprefixed);
    expect(room.syncStep2For(a1, known)).not.toBe(frame);

    // A joiner's empty SyncStep2 (a transaction that changes nothing) keeps the frame.
    room.apply(Y.encodeStateAsUpdate(new Y.Doc()), first);
    expect(room.syncStep2For(a1, empty)).toBe(frame);
    // An update that only parks (its dependency is missing) changes the encoding: pending structs are in it.
    const writer = new Editor(300);
    writer.insert('first');
    const base = Y.encodeStateVector(writer.doc);
    writer.insert(' second');
    room.apply(Y.encodeStateAsUpdate(writer.doc, base), first);
    expect(room.syncStep2For(a1, empty)).not.toBe(frame);

    room.apply(new Editor(200).insert('more'), first);
    const after = room.syncStep2For(a1, empty);
    expect(after).not.toBe(frame);
    const reader = new Y.Doc();
    Y.applyUpdate(reader, after.subarray(after.length - room.fullState().length));
    expect(textOf(reader)).toContain('known');
    expect(textOf(reader)).toContain('more');
  });
});

describe('Room members', () => {
  it('join subscribes each member to its audience topic; one audience per address', () => {
    const { hub, room } = setup();
    const a = fakeMember(hub.socket(), NAME);
    const b = fakeMember(hub.socket(), NAME);
    const c = fakeMember(hub.socket(), `${NAME}\0s2`);
    const y = fakeMember(hub.socket(), null);

    const audienceA = room.join(a);
    const audienceB = room.join(b);
    const audienceC = room.join(c);
    const audienceY = room.join(y);

    expect(audienceB).toBe(audienceA);
    expect(audienceA.members).toBe(2);
    expect(audienceC).not.toBe(audienceA);
    expect([...a.socket.subscriptions]).toEqual([`h:${NAME}`]);
    expect([...b.socket.subscriptions]).toEqual([`h:${NAME}`]);
    expect([...c.socket.subscriptions]).toEqual([`h:${NAME}\0s2`]);
    expect([...y.socket.subscriptions]).toEqual([`y:${NAME}`]);
    expect(audienceY.prefix).toEqual(new Uint8Array(0));
    expect(room.members).toEqual(new Set([a, b, c, y]));
  });

  it('leave unsubscribes the member and tells the others its awareness states are gone', () => {
    const { hub, room, metrics } = setup();
    const leaver = fakeMember(hub.socket(), NAME);
    const hocuspocus = fakeMember(hub.socket(), NAME);
    const ywebsocket = fakeMember(hub.socket(), null);
    room.join(leaver);
    room.join(hocuspocus);
    room.join(ywebsocket);
    const state = (text: string) => new TextEncoder().encode(JSON.stringify({ user: text }));
    room.awareness.receive(
      encodeAwarenessUpdate([
        { clientId: 11, clock: 3, state: state('a') },
        { clientId: 12, clock: 7, state: state('b') },
      ]),
      leaver,
      1_000,
    );
    room.awareness.receive(encodeAwarenessUpdate([{ clientId: 21, clock: 1, state: state('c') }]), hocuspocus, 1_000);

    room.leave(leaver, 0);

    expect(room.members.has(leaver)).toBe(false);
    expect(leaver.socket.subscriptions.size).toBe(0);
    expect(leaver.socket.frames).toEqual([]);
    const removal = [
      { clientId: 11, clock: 4, state: null },
      { clientId: 12, clock: 8, state: null },
    ];
    const hocuspocusFrames = hocuspocus.socket.decoded(true);
    expect(hocuspocusFrames).toHaveLength(1);
    expect(hocuspocusFrames[0]).toMatchObject({ kind: 'awareness', name: NAME });
    expect(decodeAwareness((hocuspocusFrames[0] as { payload: Uint8Array }).payload)).toEqual(removal);
    const yFrames = ywebsocket.socket.decoded(false);
    expect(yFrames).toHaveLength(1);
    expect(decodeAwareness((yFrames[0] as { payload: Uint8Array }).payload)).toEqual(removal);
    // Only the leaver's states went; the others' remain.
    expect(decodeAwareness(room.awareness.snapshot()!).map((entry) => entry.clientId)).toEqual([21]);
    expect(metrics.counters.messagesOut).toBe(2);

    // Leaving twice changes nothing.
    room.leave(leaver, 0);
    expect(hocuspocus.socket.frames).toHaveLength(1);
  });

  it('leave without awareness states sends nothing', () => {
    const { hub, room } = setup();
    const leaver = fakeMember(hub.socket(), NAME);
    const other = fakeMember(hub.socket(), NAME);
    room.join(leaver);
    room.join(other);

    room.leave(leaver, 0);

    expect(hub.published).toEqual([]);
    expect(other.socket.frames).toEqual([]);
    expect([...other.socket.subscriptions]).toEqual([`h:${NAME}`]);
  });

  it('detachAll removes and unsubscribes every member at once and returns them', () => {
    const { hub, room } = setup();
    const members = [fakeMember(hub.socket(), NAME), fakeMember(hub.socket(), `${NAME}\0x`), fakeMember(hub.socket(), null)];
    for (const member of members) room.join(member);

    const detached = room.detachAll();

    expect(new Set(detached)).toEqual(new Set(members));
    expect(room.members.size).toBe(0);
    for (const member of members) expect(member.socket.subscriptions.size).toBe(0);
    // A later update reaches nobody.
    room.apply(new Editor(100).insert('x'), serverOrigin());
    for (const member of members) expect(member.socket.frames).toEqual([]);
  });
});

describe('LocalFanOut (through Room.apply)', () => {
  function audiences() {
    const { hub, room, metrics } = setup();
    const sender = fakeMember(hub.socket(), NAME);
    const sameAddress = fakeMember(hub.socket(), NAME);
    const otherAddress = fakeMember(hub.socket(), `${NAME}\0s2`);
    const ywebsocket = fakeMember(hub.socket(), null);
    for (const member of [sender, sameAddress, otherAddress, ywebsocket]) room.join(member);
    return { hub, room, metrics, sender, sameAddress, otherAddress, ywebsocket };
  }

  it("local origin: one publish per audience, its own through the sender's socket reusing its frame, the others to everyone", () => {
    const { hub, room, metrics, sender, sameAddress, otherAddress, ywebsocket } = audiences();
    const update = new Editor(100).insert('local');
    const frame = updateFrame(NAME, update);

    room.apply(update, sender, frame);

    expect(sender.socket.published.map((p) => p.topic)).toEqual([`h:${NAME}`]);
    expect(sender.socket.published[0]!.frame).toBe(frame);
    expect(hub.published.map((p) => p.topic).sort()).toEqual([`h:${NAME}\0s2`, `y:${NAME}`].sort());
    const published = [...sender.socket.published, ...hub.published];
    // The sender is excluded; everyone else gets exactly one frame, encoded for its address.
    expect(sender.socket.frames).toEqual([]);
    expect(sameAddress.socket.frames).toEqual([frame]);
    expect(otherAddress.socket.decoded(true)).toEqual([{ kind: 'sync', name: `${NAME}\0s2`, sub: 2, payload: update }]);
    expect(ywebsocket.socket.decoded(false)).toEqual([{ kind: 'sync', name: null, sub: 2, payload: update }]);
    expect(metrics.counters.messagesOut).toBe(3);
    expect(metrics.counters.bytesOut).toBe(published.reduce((n, p) => n + p.frame.length, 0));
  });

  it('local origin without a reusable frame (SyncStep2): its own audience gets a freshly encoded Update', () => {
    const { room, sender, sameAddress } = audiences();
    const update = new Editor(100).insert('step2');

    room.apply(update, sender, null);

    expect(sameAddress.socket.decoded(true)).toEqual([{ kind: 'sync', name: NAME, sub: 2, payload: update }]);
    expect(sender.socket.frames).toEqual([]);
  });

  it.each([
    ['remote', () => remoteOrigin('other-instance')],
    ['server', () => serverOrigin()],
  ] as const)('%s origin: one publish per audience through the publisher, reaching every member', (_kind, makeOrigin) => {
    const { hub, room, metrics, sender, sameAddress, otherAddress, ywebsocket } = audiences();
    const update = new Editor(100).insert('elsewhere');

    room.apply(update, makeOrigin());

    expect(hub.published.map((p) => p.topic).sort()).toEqual([`h:${NAME}`, `h:${NAME}\0s2`, `y:${NAME}`].sort());
    for (const member of [sender, sameAddress, otherAddress, ywebsocket]) expect(member.socket.published).toEqual([]);
    for (const member of [sender, sameAddress])
      expect(member.socket.decoded(true)).toEqual([{ kind: 'sync', name: NAME, sub: 2, payload: update }]);
    // Same address, same frame object: encoded once per audience.
    expect(sender.socket.frames[0]).toBe(sameAddress.socket.frames[0]);
    expect(otherAddress.socket.decoded(true)).toEqual([{ kind: 'sync', name: `${NAME}\0s2`, sub: 2, payload: update }]);
    expect(ywebsocket.socket.decoded(false)).toEqual([{ kind: 'sync', name: null, sub: 2, payload: update }]);
    expect(metrics.counters.messagesOut).toBe(3);
  });

  it("a second session on the sender's own socket (same document, another address) receives the sender's update", () => {
    // Hocuspocus providers with sessionAwareness multiplex one document twice on one
    // socket as "name\0sessionA" and "name\0sessionB".
    const { hub, room } = setup();
    const socket = hub.socket();
    const first = fakeMember(socket, `${NAME}\0sessionA`);
    const second = fakeMember(socket, `${NAME}\0sessionB`);
    const elsewhere = fakeMember(hub.socket(), NAME);
    for (const member of [first, second, elsewhere]) room.join(member);
    const update = new Editor(100).insert('multiplexed');

    room.apply(update, first, updateFrame(`${NAME}\0sessionA`, update));

    expect(elsewhere.socket.decoded(true)).toEqual([{ kind: 'sync', name: NAME, sub: 2, payload: update }]);
    expect(socket.decoded(true)).toEqual([{ kind: 'sync', name: `${NAME}\0sessionB`, sub: 2, payload: update }]);
  });

  it('awareness goes to every audience, the sender included, reusing the sender frame for its address', () => {
    const { hub, room, sender, sameAddress, otherAddress, ywebsocket } = audiences();
    const update = encodeAwarenessUpdate([{ clientId: 5, clock: 1, state: new TextEncoder().encode('{"x":1}') }]);
    // The sender's raw Awareness frame (relayed as is to its own address).
    const frame = awarenessFrame(NAME, update);
    room.fanOut.awareness(update, NAME, frame);

    expect(hub.published).toHaveLength(3);
    expect(sender.socket.frames).toEqual([frame]);
    expect(sameAddress.socket.frames).toEqual([frame]);
    expect(otherAddress.socket.decoded(true)).toEqual([{ kind: 'awareness', name: `${NAME}\0s2`, payload: update }]);
    expect(ywebsocket.socket.decoded(false)).toEqual([{ kind: 'awareness', name: null, payload: update }]);
  });
});

describe('Storing (a fixed step of Room.apply)', () => {
  async function storedRoom(storage: MemoryStorage) {
    const hub = new Hub();
    const metrics = metricsFor(storage);
    const ref = await storage.create(NAME, { kind: 'paper' });
    const room = new Room(await storage.load(ref), {
      storage,
      extensions: new RoomExtensions([]),
      publisher: hub,
      metrics,
      poisoned: () => {},
    });
    return { hub, room, ref };
  }

  it('stores local and server updates with their origin as meta, but not remote ones', async () => {
    const storage = new MemoryStorage();
    const append = vi.spyOn(storage, 'append');
    const { hub, room, ref } = await storedRoom(storage);
    const local = fakeMember(hub.socket(), NAME);
    room.join(local);
    const server = serverOrigin();

    room.apply(new Editor(100).insert('local '), local);
    room.apply(new Editor(200).insert('server '), server);
    room.apply(new Editor(300).insert('remote'), remoteOrigin('other-instance'));

    expect(append).toHaveBeenCalledTimes(2);
    expect(append.mock.calls.map((call) => [call[0], call[2], call[3]])).toEqual([
      [ref.id, local, room.durability],
      [ref.id, server, room.durability],
    ]);
    expect(room.durability.appended).toBe(2);
    expect(room.durability.settled).toBe(2);
    const text = textOfState((await storage.load(ref)).state);
    expect(text).toContain('local ');
    expect(text).toContain('server ');
    expect(text).not.toContain('remote');
    expect(textOf(room.doc)).toContain('remote');
  });

  it('does not store an unchanged update', async () => {
    const storage = new MemoryStorage();
    const append = vi.spyOn(storage, 'append');
    const { room } = await storedRoom(storage);
    const update = new Editor(100).insert('once');

    room.apply(update, serverOrigin());
    room.apply(update, serverOrigin());

    expect(append).toHaveBeenCalledTimes(1);
    expect(room.durability.appended).toBe(1);
  });

  it('asks storage.admits with the byte length before applying a local or server update; a remote one is applied without asking', async () => {
    const storage = new MemoryStorage();
    const admits = vi.spyOn(storage, 'admits').mockReturnValue(false);
    const { hub, room } = await storedRoom(storage);
    const local = fakeMember(hub.socket(), NAME);
    room.join(local);
    const update = new Editor(100).insert('sized');

    expect(room.apply(update, local)).toBe('full');
    expect(admits).toHaveBeenLastCalledWith(update.byteLength);
    expect(room.apply(update, serverOrigin())).toBe('full');
    admits.mockClear();
    expect(room.apply(new Editor(200).insert('remote'), remoteOrigin('x'))).toBe('changed');
    expect(admits).not.toHaveBeenCalled();
    admits.mockReturnValue(true);
    expect(room.apply(update, local)).toBe('changed');
    expect(room.durability.appended).toBe(1);
  });

  it('a full write queue refuses local updates unapplied but still applies remote ones', async () => {
    const storage = new MemoryStorage();
    vi.spyOn(storage, 'admits').mockReturnValue(false);
    const { hub, room } = await storedRoom(storage);
    const local = fakeMember(hub.socket(), NAME);
    room.join(local);

    expect(room.apply(new Editor(100).insert('local'), local)).toBe('full');
    expect(room.apply(new Editor(200).insert('remote'), remoteOrigin('x'))).toBe('changed');

    expect(textOf(room.doc)).toBe('remote');
    expect(room.durability.appended).toBe(0);
  });
});

/** The update a local change makes. */
function changeOf(doc: Y.Doc, change: () => void): Uint8Array {
  const before = Y.encodeStateVector(doc);
  change();
  return Y.encodeStateAsUpdate(doc, before);
}

function sameFrame(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 2));
  expect(condition()).toBe(true);
}
