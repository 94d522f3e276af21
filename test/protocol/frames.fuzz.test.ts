/**
 * Fuzzing the wire: mutated frames of every kind (sync, awareness, auth, stateless,
 * close, garbage) from a hostile client, over both protocols, interleaved with real
 * edits from an honest one. Whatever the server refuses, it must stay up, never relay
 * what it refused, and every replica must converge to the same document.
 *
 * Every mutated frame is followed by a barrier (a SyncStep1 the server answers in order, on a
 * second document for Hocuspocus), so its fate is known before the next frame is sent: refused
 * (the server closed the socket, or answered SyncStatus 0), accepted as an update (SyncStatus 1;
 * on y-websocket, the socket is still open after a Yjs update), or taken as something else.
 * Two well-behaved observers on the same document, one per protocol, then run a barrier of
 * their own, and the test checks, only through the wire:
 *
 * - after refused input (and input addressed to another document), the observers received
 *   nothing derived from it — no update, no awareness state they did not already hold, no
 *   stateless message, no frame carrying its payload (removals of a closed socket's awareness
 *   states are fine) — and their documents did not change;
 * - an accepted update reached both observers (relayed with the same bytes, or already held);
 * - always: the barrier's SyncStep2 brings an observer nothing that the relayed updates had not
 *   already brought (the server's document holds no change the others were not told about),
 *   and everything the server sends applies cleanly to the observer's Yjs. An update that
 *   breaks the room's Y.Doc halfway makes the server reload the document and greet its members
 *   with the full state again; that state, too, must bring them nothing new.
 *
 * Fixed seed, fixed Yjs client ids and one frame at a time: the run is deterministic. Short in
 * CI; FUZZ_ITERATIONS=20000 FUZZ_SEED=… for a long one.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import {
  awarenessFrame,
  authFrame,
  decodeAwareness,
  decodeFrame,
  encodeAwareness,
  label,
  step1Frame,
  step2Frame,
  Sync,
  T,
  updateFrame,
  type Frame,
} from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';
import { seededRandom } from '../../bench/paper-fixture.js';

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 400);
const SEED = Number(process.env.FUZZ_SEED ?? 20261123);

const DOC = 'fuzz-doc';
/** The hostile Hocuspocus socket's barrier document: mutated frames for DOC never reach it. */
const BARRIER = 'fuzz-barrier';
const EMPTY_STATE_VECTOR = Y.encodeStateVector(new Y.Doc());

function mutate(frame: Uint8Array, random: () => number): Uint8Array {
  const bytes = Array.from(frame);
  const edits = 1 + Math.floor(random() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(random() * (bytes.length + 1));
    switch (Math.floor(random() * 4)) {
      case 0: // flip a byte
        if (bytes.length > 0) bytes[at % bytes.length] = Math.floor(random() * 256);
        break;
      case 1: // truncate
        bytes.length = at;
        break;
      case 2: // insert random bytes
        bytes.splice(at, 0, ...Array.from({ length: 1 + Math.floor(random() * 8) }, () => Math.floor(random() * 256)));
        break;
      default: // duplicate a slice
        bytes.splice(at, 0, ...bytes.slice(at, at + 1 + Math.floor(random() * 16)));
    }
  }
  return new Uint8Array(bytes);
}

/** A client frame as the test's own lib0 decoding reads it (the server reads it the same way). */
interface Parsed {
  name: string | null;
  type: number;
  sub?: number;
  payload?: Uint8Array;
}

function parse(frame: Uint8Array, prefixed: boolean): Parsed | null {
  try {
    const decoder = decoding.createDecoder(frame);
    const name = prefixed ? decoding.readVarString(decoder) : null;
    const type = decoding.readVarUint(decoder);
    if (type === T.Sync) {
      const sub = decoding.readVarUint(decoder);
      return { name, type, sub, payload: decoding.readVarUint8Array(decoder).slice() };
    }
    if (type === T.Awareness) return { name, type, payload: decoding.readVarUint8Array(decoder).slice() };
    return { name, type };
  } catch {
    return null;
  }
}

const isUpdate = (parsed: Parsed | null): parsed is Parsed & { payload: Uint8Array } =>
  parsed?.type === T.Sync && (parsed.sub === Sync.Step2 || parsed.sub === Sync.Update) && parsed.payload !== undefined;

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((byte, i) => byte === b[i]);

/** A socket whose decoded server frames are recorded (RawClient, Listener). */
interface Wire {
  readonly ws: WebSocket;
  readonly frames: Frame[];
  readonly isOpen: boolean;
}

/** Resolves once `done()` holds, checking again on every message and on close; rejects after the timeout. */
function until(client: Wire, done: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!done()) return;
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      client.ws.off('message', check);
      client.ws.off('close', check);
    };
    // Registered after the client's own handler, so the frame is already recorded.
    client.ws.on('message', check);
    client.ws.on('close', check);
  });
}

/** Counts a client's frames matching `match`, scanning only the new ones on each call. */
function tally(client: Wire, match: (frame: Frame) => boolean): { count(): number; last(): Frame | undefined } {
  let scanned = 0;
  let n = 0;
  let latest: Frame | undefined;
  const count = () => {
    for (; scanned < client.frames.length; scanned++) {
      const frame = client.frames[scanned]!;
      if (match(frame)) {
        n++;
        latest = frame;
      }
    }
    return n;
  };
  return { count, last: () => (count(), latest) };
}

/**
 * Tells the SyncStep2 frames that answer the client's own SyncStep1s from the full state a
 * server greets with when it reopens a document after an eviction. Hocuspocus answers a
 * SyncStep1 with SyncStep1 + SyncStep2 and greets with a SyncStep2 alone; y-websocket answers
 * with a SyncStep2 alone and greets with its SyncStep1, followed by the full state on a reopen.
 * Feed it every frame, in order.
 */
class Step2Kinds {
  private previous: Frame | null = null;
  private serverStep1s = 0;
  private afterReopenStep1 = false;

  constructor(private readonly prefixed: boolean) {}

  /** 'answer' or 'greeting' for a SyncStep2, null for any other frame. */
  next(frame: Frame): 'answer' | 'greeting' | null {
    if (frame.kind === 'ping') return null;
    const previous = this.previous;
    const afterReopenStep1 = this.afterReopenStep1;
    this.previous = frame;
    this.afterReopenStep1 = false;
    if (frame.kind !== 'sync') return null;
    if (frame.sub === Sync.Step1) {
      // y-websocket: the first SyncStep1 opens the socket, a later one is a reopen.
      this.afterReopenStep1 = !this.prefixed && ++this.serverStep1s > 1;
      return null;
    }
    if (frame.sub !== Sync.Step2) return null;
    if (this.prefixed) return previous?.kind === 'sync' && previous.sub === Sync.Step1 ? 'answer' : 'greeting';
    return afterReopenStep1 ? 'greeting' : 'answer';
  }
}

/** Counts the answers to the client's SyncStep1s (for `name`, on Hocuspocus). */
function answers(client: Wire, prefixed: boolean, name: string | null): { count(): number } {
  const kinds = new Step2Kinds(prefixed);
  let scanned = 0;
  let n = 0;
  return {
    count() {
      for (; scanned < client.frames.length; scanned++) {
        const frame = client.frames[scanned]!;
        if (kinds.next(frame) === 'answer' && (frame as { name: string | null }).name === name) n++;
      }
      return n;
    },
  };
}

const listeners = new Set<Listener>();

/**
 * A socket that records the server's frames and applies none of them (unlike RawClient, whose
 * mirror would throw inside the socket's handler on an update Yjs cannot integrate): the
 * hostile sockets need no replica, and the observers apply what they receive themselves and
 * report such an update as a finding.
 */
class Listener implements Wire {
  readonly frames: Frame[] = [];
  readonly decodeErrors: string[] = [];

  private constructor(
    readonly ws: WebSocket,
    prefixed: boolean,
  ) {
    listeners.add(this);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      try {
        if (!isBinary) throw new Error('text frame');
        this.frames.push(decodeFrame(new Uint8Array(data), prefixed));
      } catch (error) {
        this.decodeErrors.push((error as Error).message);
      }
    });
    ws.on('error', () => {
      // Seen through isOpen and the close event.
    });
    ws.on('close', () => listeners.delete(this));
  }

  static connect(port: number, path: string): Promise<Listener> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    const listener = new Listener(ws, !path.startsWith('/y/'));
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(listener));
      ws.once('error', reject);
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: Uint8Array): void {
    this.ws.send(frame, { binary: true });
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/** What an observer received between two of its barriers. */
interface Window {
  /** Payloads of relayed Update frames. */
  updates: Uint8Array[];
  /** Awareness states the observer did not hold yet (JSON). */
  awareness: string[];
  /** Labels of anything else (Stateless, …). */
  other: string[];
  /** Every payload received, for the "nothing carries the refused bytes" check. */
  payloads: Uint8Array[];
  /** What the barrier's SyncStep2 held that the relayed updates had not brought, if anything. */
  news: string | null;
  /** The observer's document differs from the one at the previous barrier. */
  changed: boolean;
  /** Updates from the server that the observer's Yjs could not apply. */
  errors: string[];
  /** The server reopened the document for this observer (after an eviction) and sent its full state. */
  reopened: boolean;
}

/** What `update` brings `doc` (content, deletions, pending structs), or null for nothing. */
function newsIn(doc: Y.Doc, update: Uint8Array): string | null {
  try {
    if (Y.snapshotContainsUpdate(Y.snapshot(doc), update)) return null;
    const copy = new Y.Doc();
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
    Y.applyUpdate(copy, update);
    if (!Y.equalSnapshots(Y.snapshot(doc), Y.snapshot(copy))) return 'content or deletions';
    if ((copy.store.pendingStructs !== null) !== (doc.store.pendingStructs !== null)) return 'pending structs';
    if ((copy.store.pendingDs !== null) !== (doc.store.pendingDs !== null)) return 'pending deletions';
    return null;
  } catch (error) {
    return `an update Yjs cannot apply (${(error as Error).message})`;
  }
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/**
 * A well-behaved client of DOC that only listens. `relayed` is its replica built from what the
 * server pushed to it: relayed Update frames, plus the full state it is greeted with when it joins
 * (and when the server reopens the document after an eviction). `mirror` applies every SyncStep2
 * as well, as a provider does. Its barrier is a SyncStep1 with the relayed replica's state
 * vector, whose answer must then bring nothing new.
 */
class Observer {
  readonly relayed = new Y.Doc();
  readonly mirror = new Y.Doc();
  private seen = 0;
  private readonly kinds: Step2Kinds;
  private step1s = 0;
  private readonly answers: { count(): number };
  private snapshot = Y.snapshot(new Y.Doc());
  /** Awareness states the observer holds: client id → JSON of [clock, state]. */
  private readonly presence = new Map<number, string>();

  private constructor(
    readonly label: string,
    readonly client: Listener,
    /** DOC (Hocuspocus) or null (y-websocket, unprefixed). */
    readonly name: string | null,
  ) {
    this.answers = answers(client, name !== null, name);
    this.kinds = new Step2Kinds(name !== null);
  }

  static async hocuspocus(port: number): Promise<Observer> {
    const observer = new Observer('Hocuspocus observer', await Listener.connect(port, '/'), DOC);
    observer.client.send(authFrame(DOC, 'token'));
    await observer.barrier(true);
    return observer;
  }

  static async yWebsocket(port: number): Promise<Observer> {
    const client = await Listener.connect(port, `/y/${DOC}`);
    // The server's SyncStep1 says the document is open.
    await until(
      client,
      () => client.frames.some((frame) => frame.kind === 'sync' && frame.sub === Sync.Step1),
      'y-websocket observer open',
    );
    const observer = new Observer('y-websocket observer', client, null);
    await observer.barrier(true);
    return observer;
  }

  /** SyncStep1 → SyncStep2 round trip: everything the server sent before it has arrived. */
  async barrier(initial = false): Promise<Window> {
    const target = ++this.step1s;
    this.client.send(step1Frame(this.name, Y.encodeStateVector(this.relayed)));
    await until(this.client, () => !this.client.isOpen || this.answers.count() >= target, `${this.label}'s SyncStep2`);
    expect(this.client.isOpen, `${this.label} still connected`).toBe(true);
    return this.collect(initial);
  }

  private collect(initial: boolean): Window {
    const window: Window = { updates: [], awareness: [], other: [], payloads: [], news: null, changed: false, errors: [], reopened: false };
    const apply = (doc: Y.Doc, update: Uint8Array, what: string) => {
      try {
        Y.applyUpdate(doc, update);
      } catch (error) {
        window.errors.push(`${what}: ${(error as Error).message}`);
      }
    };
    const frames = this.client.frames.slice(this.seen);
    this.seen = this.client.frames.length;
    for (const frame of frames) {
      const kind = this.kinds.next(frame);
      switch (frame.kind) {
        case 'ping':
          break;
        case 'sync':
          window.payloads.push(frame.payload);
          if (frame.sub === Sync.Update) {
            apply(this.relayed, frame.payload, 'Update');
            apply(this.mirror, frame.payload, 'Update');
            window.updates.push(frame.payload);
          } else if (frame.sub === Sync.Step2) {
            if (initial) {
              apply(this.relayed, frame.payload, 'first SyncStep2');
            } else {
              // An answer to our barrier, or the full state after a reopen: either way the
              // server's document must hold nothing the relays had not brought.
              window.news ??= newsIn(this.relayed, frame.payload);
              if (kind === 'greeting') {
                window.reopened = true;
                apply(this.relayed, frame.payload, 'SyncStep2 after a reopen');
              }
            }
            apply(this.mirror, frame.payload, 'SyncStep2');
          } else if (frame.sub !== Sync.Step1) {
            // The server's own SyncStep1 answers ours (Hocuspocus) or opens the document.
            window.other.push(label(frame));
          }
          break;
        case 'awareness': {
          window.payloads.push(frame.payload);
          const fresh = this.learn(frame.payload);
          if (fresh) window.awareness.push(fresh);
          break;
        }
        case 'auth':
          if (!initial) window.other.push(label(frame));
          break;
        default:
          window.other.push(label(frame));
      }
    }
    const snapshot = Y.snapshot(this.mirror);
    window.changed = !Y.equalSnapshots(this.snapshot, snapshot);
    this.snapshot = snapshot;
    return window;
  }

  /**
   * Takes in an awareness update; returns the states in it the observer did not hold yet, or
   * null. Removals (a leaving socket's states) and repeats of known states (the snapshot a
   * reopened document greets with) tell the observer nothing new.
   */
  private learn(payload: Uint8Array): string | null {
    let entries: ReturnType<typeof decodeAwareness>;
    try {
      entries = decodeAwareness(payload);
    } catch (error) {
      return `undecodable awareness ${hex(payload)} (${(error as Error).message})`;
    }
    const fresh = entries.filter(
      (entry) => entry.state !== null && this.presence.get(entry.clientId) !== JSON.stringify([entry.clock, entry.state]),
    );
    for (const entry of entries) {
      if (entry.state === null) this.presence.delete(entry.clientId);
      else this.presence.set(entry.clientId, JSON.stringify([entry.clock, entry.state]));
    }
    return fresh.length > 0 ? JSON.stringify(fresh) : null;
  }
}

type Fate = 'refused' | 'elsewhere' | 'update' | 'other';

afterAll(async () => {
  RawClient.terminateAll();
  for (const listener of listeners) listener.ws.terminate();
  await closeServers();
});

describe.each(TRANSPORTS)('fuzzed frames over %s', (transport) => {
  it(
    `survives ${ITERATIONS} mutated frames (seed ${SEED}), relays nothing it refused, and every replica converges`,
    async () => {
      const server = await startTestServer(transport);
      const random = seededRandom(SEED);
      const honest = await RawClient.connect(server.port);
      honest.doc(DOC).clientID = 1_000_001;
      await honest.join(DOC);
      const honestAcks = tally(honest, (frame) => frame.kind === 'syncStatus' && frame.name === DOC && frame.applied === 1);
      const observers = [await Observer.hocuspocus(server.port), await Observer.yWebsocket(server.port)];

      // Valid frames of each kind, the raw material for mutation.
      const source = new Y.Doc();
      source.clientID = 1_000_002;
      const samples = (): Uint8Array[] => [
        updateFrame(DOC, textUpdate(source, `s${Math.floor(random() * 1000)}`)),
        step2Frame(DOC, Y.encodeStateAsUpdate(source)),
        awarenessFrame(
          DOC,
          encodeAwareness([{ clientId: 1 + Math.floor(random() * 50), clock: Math.floor(random() * 9), state: { cursor: random() } }]),
        ),
        authFrame(DOC, 'token', '4.8.0'),
        (() => {
          const e = encoding.createEncoder();
          encoding.writeVarString(e, DOC);
          encoding.writeVarUint(e, T.Stateless);
          encoding.writeVarString(e, 'stateless payload');
          return encoding.toUint8Array(e);
        })(),
      ];

      const counts = { refused: 0, acceptedUpdates: 0, elsewhere: 0, other: 0 };

      /** Both observers' barriers, then the checks for input of the given fate. */
      const observe = async (fate: Fate, input: Parsed | null, what: string): Promise<void> => {
        const windows = await Promise.all(observers.map((observer) => observer.barrier()));
        for (const [k, observer] of observers.entries()) {
          const window = windows[k]!;
          const where = `${what}, ${observer.label}`;
          expect(window.errors, `${where}: the server sent an update the observer's Yjs cannot apply`).toEqual([]);
          expect(window.news, `${where}: the server's document holds a change that was not relayed`).toBeNull();
          if (fate === 'refused' || fate === 'elsewhere') {
            expect(
              { updates: window.updates.map(hex), awareness: window.awareness, other: window.other, changed: window.changed },
              `${where}: input reached the observer`,
            ).toEqual({ updates: [], awareness: [], other: [], changed: false });
            const payload = input?.payload;
            if (payload)
              expect(
                window.payloads.some((received) => sameBytes(received, payload)),
                `${where}: a frame carried the refused payload`,
              ).toBe(false);
          } else if (fate === 'update') {
            const payload = input!.payload!;
            const reached =
              window.updates.some((update) => sameBytes(update, payload)) ||
              Y.snapshotContainsUpdate(Y.snapshot(observer.relayed), payload);
            expect(
              reached,
              `${where}: an accepted update (${hex(payload)}) did not reach the observer (relayed: ${window.updates.map(hex).join(', ') || 'nothing'})`,
            ).toBe(true);
          }
        }
      };

      // The hostile Hocuspocus socket: joined to DOC, and to BARRIER for its own barriers.
      const openHostile = async () => {
        const client = await Listener.connect(server.port, '/');
        // As RawClient.join, for both documents at once and without polling.
        for (const name of [DOC, BARRIER]) {
          client.send(authFrame(name, 'token'));
          client.send(step1Frame(name, EMPTY_STATE_VECTOR));
        }
        const joined = (name: string) =>
          client.frames.some((frame) => frame.kind === 'sync' && frame.sub === Sync.Step2 && frame.name === name);
        await until(client, () => joined(DOC) && joined(BARRIER), 'hostile Hocuspocus socket joined');
        return {
          client,
          acks: tally(client, (frame) => frame.kind === 'syncStatus' && frame.name === DOC),
          barriers: answers(client, true, BARRIER),
          closedDoc: tally(client, (frame) => frame.kind === 'close' && frame.name === DOC),
        };
      };
      const openHostileY = async () => {
        const client = await Listener.connect(server.port, `/y/${DOC}`);
        await until(
          client,
          () => client.frames.some((frame) => frame.kind === 'sync' && frame.sub === Sync.Step1),
          'hostile y-websocket socket open',
        );
        return { client, step2s: answers(client, false, null) };
      };
      // A spare socket of each kind is opened in the background, ready when a refusal closes one
      // (joining sends the observers nothing, so this does not blur their windows).
      const spare = <C>(open: () => Promise<C>) => {
        const next = open();
        next.catch(() => {}); // awaited when needed; unused at the end
        return next;
      };
      let hostile = await openHostile();
      let hostileY = await openHostileY();
      let nextHostile = spare(openHostile);
      let nextHostileY = spare(openHostileY);
      let honestEdits = 0;

      for (let i = 0; i < ITERATIONS; i++) {
        const pick = samples();
        const frame = mutate(pick[Math.floor(random() * pick.length)]!, random);

        // Hocuspocus: the frame, then a SyncStep1 for BARRIER; an update must also be answered.
        {
          const parsed = parse(frame, true);
          const forDoc = parsed?.name === DOC;
          const expectAck = forDoc && isUpdate(parsed);
          const acks = hostile.acks.count();
          const barriers = hostile.barriers.count();
          const closedDoc = hostile.closedDoc.count();
          hostile.client.send(frame);
          hostile.client.send(step1Frame(BARRIER, EMPTY_STATE_VECTOR));
          const { client } = hostile;
          await until(
            client,
            () => !client.isOpen || (hostile.barriers.count() > barriers && (!expectAck || hostile.acks.count() > acks)),
            `the server's answer to Hocuspocus frame ${i}`,
          );
          const fate: Fate = !client.isOpen
            ? 'refused'
            : expectAck
              ? (hostile.acks.last() as { applied: number }).applied === 1
                ? 'update'
                : 'refused'
              : forDoc
                ? 'other'
                : 'elsewhere';
          counts[fate === 'update' ? 'acceptedUpdates' : fate]++;
          await observe(fate, parsed, `Hocuspocus frame ${i} (${fate})`);
          // Closed, or DOC closed on it by a (mutated) Close message: start over on a fresh socket.
          if (!client.isOpen || hostile.closedDoc.count() > closedDoc) {
            client.terminate();
            hostile = await nextHostile;
            if (!hostile.client.isOpen) hostile = await openHostile();
            nextHostile = spare(openHostile);
          }
        }

        // y-websocket: the same mutation without the name prefix, then a SyncStep1.
        if (frame.length > DOC.length + 1) {
          const yFrame = frame.subarray(DOC.length + 1);
          const parsed = parse(yFrame, false);
          // A SyncStep1 among the mutations is answered with a SyncStep2 of its own.
          const answers = parsed?.type === T.Sync && parsed.sub === Sync.Step1 ? 2 : 1;
          const step2s = hostileY.step2s.count();
          hostileY.client.send(yFrame);
          hostileY.client.send(step1Frame(null, EMPTY_STATE_VECTOR));
          const { client } = hostileY;
          await until(
            client,
            () => !client.isOpen || hostileY.step2s.count() >= step2s + answers,
            `the server's answer to y-websocket frame ${i}`,
          );
          const fate: Fate = !client.isOpen ? 'refused' : isUpdate(parsed) ? 'update' : 'other';
          counts[fate === 'update' ? 'acceptedUpdates' : fate]++;
          await observe(fate, parsed, `y-websocket frame ${i} (${fate})`);
          if (!client.isOpen) {
            client.terminate();
            hostileY = await nextHostileY;
            if (!hostileY.client.isOpen) hostileY = await openHostileY();
            nextHostileY = spare(openHostileY);
          }
        }

        if (i % 20 === 0) {
          const update = textUpdate(honest.doc(DOC), `<${honestEdits++}>`);
          const acked = honestAcks.count();
          honest.send(updateFrame(DOC, update));
          await until(honest, () => !honest.isOpen || honestAcks.count() > acked, `ack for honest edit ${honestEdits}`);
          expect(honest.isOpen).toBe(true);
          await observe('update', { name: DOC, type: T.Sync, sub: Sync.Update, payload: update }, `honest edit ${honestEdits}`);
        }
      }

      // A fresh client converges with the honest one and the observers: nothing refused was half-applied.
      const fresh = await RawClient.connect(server.port);
      await fresh.join(DOC);
      const honestText = honest.text(DOC);
      for (let k = 0; k < honestEdits; k++) expect(honestText).toContain(`<${k}>`);
      // The honest replica, after one more sync round, equals a fresh one exactly.
      const honestStep2s = tally(honest, (f) => f.kind === 'sync' && f.sub === Sync.Step2);
      const before = honestStep2s.count();
      honest.send(step1Frame(DOC, Y.encodeStateVector(honest.doc(DOC))));
      await until(honest, () => honestStep2s.count() > before, 'SyncStep2 for the honest client');
      expect(Y.encodeStateVector(honest.doc(DOC))).toEqual(Y.encodeStateVector(fresh.doc(DOC)));
      expect(honest.text(DOC)).toBe(fresh.text(DOC));
      for (let k = 0; k < honestEdits; k++) expect(fresh.text(DOC)).toContain(`<${k}>`);
      for (const observer of observers) {
        expect(Y.encodeStateVector(observer.relayed), `${observer.label}: relayed replica`).toEqual(Y.encodeStateVector(fresh.doc(DOC)));
        expect(observer.relayed.getText('text').toString()).toBe(fresh.text(DOC));
        expect(observer.client.decodeErrors).toEqual([]);
        expect(Y.encodeStateVector(observer.mirror)).toEqual(Y.encodeStateVector(fresh.doc(DOC)));
      }
      // The server is still healthy.
      expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
      // The fuzzer did hit the refusal paths, and some mutated updates were valid and accepted.
      expect(counts.refused).toBeGreaterThan(0);
      expect(counts.acceptedUpdates).toBeGreaterThan(0);
    },
    Math.max(120_000, ITERATIONS * 30),
  ); // one frame at a time: long runs take a while
});
