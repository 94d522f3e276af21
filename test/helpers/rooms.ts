/**
 * In-process doubles for the unit tests: a transport hub with sockets that record
 * frames (same publish semantics as the real transports: a socket's publish reaches
 * every subscriber of the topic except that socket), a manual clock, Yjs editors, and
 * a protocol context wired like server.ts over a real RoomRegistry and a storage.
 * No sockets, no database, no timers.
 */
import { InProcessAccessEvents, type AccessEvents } from '../../server/auth/access-events.js';
import { LiveSessions } from '../../server/protocol/live-sessions.js';
import pino from 'pino';
import * as Y from 'yjs';
import type { DocumentStorage } from '../../server/persistence/storage.js';
import { openAuthorizer, type Authorizer } from '../../server/auth/authorizer.js';
import type { Clock } from '../../server/clock.js';
import { encodeAddress } from '../../server/codec/frames.js';
import { createMetrics, type ServerMetrics } from '../../server/metrics.js';
import type { ProtocolContext, ProtocolLimits } from '../../server/protocol/context.js';
import { Keepalive } from '../../server/protocol/keepalive.js';
import type { Publisher } from '../../server/rooms/local-fan-out.js';
import { RoomRegistry } from '../../server/rooms/room-registry.js';
import type { RoomMember } from '../../server/rooms/room.js';
import type { TransportSocket } from '../../server/transport/transport.js';
import { decodeFrame, type Frame } from './frames.js';

export const silentLogger = pino({ level: 'silent' });

export function metricsFor(storage: DocumentStorage): ServerMetrics {
  return createMetrics({ storageHealthy: () => storage.healthy, storageStats: () => storage.stats });
}

/** Lets every pending promise callback run (MemoryStorage is promise-based, no timers). */
export const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

// ---- transport ----------------------------------------------------------------

/** Topic fan-out with the transports' semantics; also the app-level Publisher. */
export class Hub implements Publisher {
  readonly sockets: FakeSocket[] = [];
  /** Calls of the app-level publish (Publisher), in order. */
  readonly published: Array<{ topic: string; frame: Uint8Array }> = [];

  socket(): FakeSocket {
    const socket = new FakeSocket(this);
    this.sockets.push(socket);
    return socket;
  }

  publish(topic: string, frame: Uint8Array): void {
    this.published.push({ topic, frame });
    this.deliver(topic, frame, null);
  }

  deliver(topic: string, frame: Uint8Array, except: FakeSocket | null): void {
    for (const socket of this.sockets)
      if (socket !== except && !socket.closed && socket.subscriptions.has(topic)) socket.frames.push(frame);
  }
}

export class FakeSocket implements TransportSocket {
  closed = false;
  /** What the test says the kernel has not taken yet. */
  bufferedBytes = 0;
  /** Everything this socket's client received, in order: direct sends and topic deliveries. */
  readonly frames: Uint8Array[] = [];
  /** Direct sends only. */
  readonly sent: Uint8Array[] = [];
  /** Publishes made through this socket (which exclude the socket itself). */
  readonly published: Array<{ topic: string; frame: Uint8Array }> = [];
  readonly subscriptions = new Set<string>();
  readonly closes: Array<{ code: number; reason: string }> = [];
  corkDepth = 0;

  constructor(private readonly hub: Hub) {}

  send(frame: Uint8Array): void {
    if (this.closed) return;
    this.sent.push(frame);
    this.frames.push(frame);
  }
  publish(topic: string, frame: Uint8Array): void {
    this.published.push({ topic, frame });
    this.hub.deliver(topic, frame, this);
  }
  subscribe(topic: string): void {
    if (!this.closed) this.subscriptions.add(topic);
  }
  unsubscribe(topic: string): void {
    this.subscriptions.delete(topic);
  }
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closes.push({ code, reason });
  }
  cork(fn: () => void): void {
    this.corkDepth++;
    try {
      fn();
    } finally {
      this.corkDepth--;
    }
  }

  /** Received frames decoded (Hocuspocus: prefixed with the address). */
  decoded(prefixed = true): Frame[] {
    return this.frames.map((frame) => decodeFrame(frame, prefixed));
  }

  /** The SyncStatus values received, in order, optionally for one document address. */
  syncStatuses(address?: string): number[] {
    return this.decoded()
      .filter((f): f is Extract<Frame, { kind: 'syncStatus' }> => f.kind === 'syncStatus' && (address === undefined || f.name === address))
      .map((f) => f.applied);
  }
}

// ---- room members -----------------------------------------------------------------

export interface FakeMember extends RoomMember {
  readonly socket: FakeSocket;
  evictions: number;
  readonly refusedSeqs: number[];
}

/** A room member as a protocol connection would be: Hocuspocus address, or null for y-websocket. */
let memberCount = 0;

export function fakeMember(socket: FakeSocket, address: string | null, sessionId = `session-${++memberCount}`): FakeMember {
  const member: FakeMember = {
    kind: 'local',
    socket,
    address,
    prefix: address === null ? new Uint8Array(0) : encodeAddress(address),
    userId: null,
    sessionId,
    awarenessClients: null,
    evictions: 0,
    refusedSeqs: [],
    roomEvicted() {
      member.evictions++;
    },
    updateRefused(seq: number) {
      member.refusedSeqs.push(seq);
    },
  };
  return member;
}

// ---- clock ------------------------------------------------------------------------

/** A clock whose time and timers move only when the test says so. */
export class ManualClock implements Clock {
  time = 1_000_000;
  readonly timers: Array<{ ms: number; fn: () => void; cancelled: boolean }> = [];
  /** One-shot timers (`after`) not fired or cancelled yet, in the order they were set. */
  private readonly oneShots: Array<{ at: number; fn: () => void }> = [];

  now(): number {
    return this.time;
  }

  every(ms: number, fn: () => void): () => void {
    const timer = { ms, fn, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.time + Math.max(0, ms), fn };
    this.oneShots.push(timer);
    return () => {
      const index = this.oneShots.indexOf(timer);
      if (index !== -1) this.oneShots.splice(index, 1);
    };
  }

  /** One-shot timers waiting to fire. */
  get pendingTimers(): number {
    return this.oneShots.length;
  }

  /**
   * Moves time on by `ms`, firing the one-shot timers that fall due on the way, earliest
   * first (set in the same order at the same time: in that order), each at its own time;
   * a timer set by one that fires runs too when it falls within `ms`. Repeating timers are
   * left to `fire`.
   */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      let next: { at: number; fn: () => void } | undefined;
      for (const timer of this.oneShots) if (timer.at <= until && (next === undefined || timer.at < next.at)) next = timer;
      if (next === undefined) break;
      this.oneShots.splice(this.oneShots.indexOf(next), 1);
      this.time = Math.max(this.time, next.at);
      next.fn();
    }
    this.time = until;
  }

  /** Runs every live repeating timer once (and moves time by its period). */
  fire(): void {
    for (const timer of this.timers) {
      if (timer.cancelled) continue;
      this.time += timer.ms;
      timer.fn();
    }
  }
}

// ---- Yjs ----------------------------------------------------------------------------

/** One client's copy of a document; each edit returns the incremental update. */
export class Editor {
  readonly doc = new Y.Doc();

  constructor(clientId: number) {
    this.doc.clientID = clientId;
  }

  insert(text: string): Uint8Array {
    const before = Y.encodeStateVector(this.doc);
    const ytext = this.doc.getText('t');
    ytext.insert(ytext.length, text);
    return Y.encodeStateAsUpdate(this.doc, before);
  }
}

export const textOf = (doc: Y.Doc): string => doc.getText('t').toString();

/** A stored document's text (state is one merged update, or null). */
export function textOfState(state: Uint8Array | null): string {
  const doc = new Y.Doc();
  if (state) Y.applyUpdate(doc, state);
  return textOf(doc);
}

/**
 * A well-formed V1 update that Y.decodeUpdate accepts but Y.applyUpdate throws on:
 * one string item of client 1 at clock 0 whose left origin is (client 1, clock 5),
 * a struct that cannot exist yet, so integrating it dereferences a missing struct list.
 */
export const UNINTEGRABLE_UPDATE = new Uint8Array([1, 1, 1, 0, 0x84, 1, 5, 1, 0x78, 0]);

/** Truncated: Y.decodeUpdate fails on it. */
export function undecodableUpdate(): Uint8Array {
  const editor = new Editor(4242);
  return editor.insert('hello').slice(0, -3);
}

// ---- protocol context --------------------------------------------------------------

export const DEFAULT_LIMITS: ProtocolLimits = {
  maxPendingDocuments: 100,
  maxDocumentsPerSocket: 1000,
  maxQueuedFrames: 1000,
  maxQueuedBytes: 5 << 20,
  maxStatelessBytes: 1024,
  statelessPerSecond: 10,
};

export interface ProtocolEnv {
  readonly hub: Hub;
  readonly clock: ManualClock;
  readonly metrics: ServerMetrics;
  readonly rooms: RoomRegistry;
  readonly keepalive: Keepalive;
  readonly context: ProtocolContext;
}

/** The protocol layer's dependencies, wired as server.ts does, over `storage`. */
export function protocolEnv(
  storage: DocumentStorage,
  options: { authorizer?: Authorizer; limits?: Partial<ProtocolLimits>; idleTimeoutMs?: number; accessEvents?: AccessEvents } = {},
): ProtocolEnv {
  const hub = new Hub();
  const clock = new ManualClock();
  const metrics = metricsFor(storage);
  const rooms = new RoomRegistry({ storage, publisher: hub, extensions: [], metrics, logger: silentLogger, clock });
  const keepalive = new Keepalive(hub, options.idleTimeoutMs ?? 60_000, clock);
  const context: ProtocolContext = {
    rooms,
    authorizer: options.authorizer ?? openAuthorizer,
    keepalive,
    liveSessions: new LiveSessions(options.accessEvents ?? new InProcessAccessEvents(), () => keepalive.connections(), clock),
    metrics,
    clock,
    logger: silentLogger,
    presence: { opened: () => {}, closed: () => {} },
    denied: () => {},
    limits: { ...DEFAULT_LIMITS, ...options.limits },
  };
  return { hub, clock, metrics, rooms, keepalive, context };
}
