/**
 * Simulated clients. All of them speak the wire protocol directly (no providers), over the
 * raw-socket link in links.ts (`ws` for wss:// URLs, and for the bulk readers with --ws-readers):
 *
 * - Reader: the bulk of the load. Peeks at frame headers to count deliveries; never decodes Yjs
 *   (timing observers, it finds the writers' edits and their send times by their bytes).
 * - Writer: sends genuine Yjs updates, hand-encoded (unique keys `w.seq` in the map `e`, value =
 *   monotonic send time); ignores what it receives apart from counting and acks.
 * - Probe: a few per document. Applies everything with Yjs, measures edit-sent → edit-applied
 *   latency from the embedded timestamps, and at the end proves it holds every edit (loss);
 *   in presence scenarios also the delivery and loss of the others' presence.
 *
 * Any client can announce a timestamped presence (presence.ts).
 */
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import * as syncProtocol from 'y-protocols/sync';
import { AuthType, MessageType, SyncType } from '../server/codec/message-types.js';
import {
  type Protocol,
  PONG_FRAME,
  encodeAuth,
  encodeAwareness,
  encodeAwarenessUpdate,
  EDITS_MAP,
  MapSetFrameEncoder,
  encodeSync,
  forEachEdit,
  peekHeader,
  urlFor,
} from './frames.js';
import { Histogram, nowMs } from './stats.js';
import { PresenceLedger, presenceUpdate, readPresence } from './presence.js';
import { type Link, type LinkHandlers, type RawLinkOptions, openRawLink, openWsLink } from './links.js';

/** Cumulative counters of one worker; the coordinator diffs snapshots of them. */
export interface Counters {
  framesIn: number;
  bytesIn: number;
  updateFramesIn: number;
  awarenessFramesIn: number;
  updatesSent: number;
  awarenessSent: number;
  acks: number;
  nacks: number;
  disconnects: number;
  authDenied: number;
}

export function emptyCounters(): Counters {
  return {
    framesIn: 0,
    bytesIn: 0,
    updateFramesIn: 0,
    awarenessFramesIn: 0,
    updatesSent: 0,
    awarenessSent: 0,
    acks: 0,
    nacks: 0,
    disconnects: 0,
    authDenied: 0,
  };
}

/** What clients share within one worker: counters and the measurement window. */
export interface ClientContext {
  protocol: Protocol;
  token: string;
  /** y-websocket: append `?token=` to the document URL (token-mode servers). */
  tokenInUrl?: boolean;
  counters: Counters;
  /** Samples are kept only for edits sent inside [windowStart, windowEnd] (monotonic ms). */
  windowStart: number;
  windowEnd: number;
  latency: Histogram;
  /**
   * The same samples split by where the edit's writer is connected: to the probe's own server
   * (same instance) or to another one (cross instance, relayed between servers).
   */
  sameLatency: Histogram;
  crossLatency: Histogram;
  ack: Histogram;
  /**
   * When set, readers time every edit they receive from the send time the writer put in it
   * (observers: the latency at every observer, not only at the probes).
   */
  observerLatency?: Histogram;
  /** When set, probes record here the delivery of the timestamped presence states they receive. */
  presenceLatency?: Histogram;
  /** Set once the run is over so expected closes are not counted as disconnects. */
  closing: boolean;
  /** Bulk readers use the minimal raw-socket WebSocket client instead of `ws` (writers and probes always do). */
  rawReaders: boolean;
}

/** A context for clients driven by a scenario itself rather than a loader worker (every sample kept). */
export function standaloneContext(protocol: Protocol, token: string, tokenInUrl: boolean): ClientContext {
  return {
    protocol,
    token,
    tokenInUrl,
    counters: emptyCounters(),
    windowStart: 0,
    windowEnd: Infinity,
    latency: new Histogram(),
    sameLatency: new Histogram(),
    crossLatency: new Histogram(),
    ack: new Histogram(),
    closing: false,
    rawReaders: true,
  };
}

/** SyncStep2 carrying an empty document: what a fresh provider answers to the server's SyncStep1. */
const EMPTY_UPDATE = Y.encodeStateAsUpdate(new Y.Doc());
const EMPTY_STATE_VECTOR = Y.encodeStateVector(new Y.Doc());

export abstract class BenchClient {
  protected link: Link | null = null;
  synced = false;
  /** Awareness client id of this client's presence (presenceUpdate), and its last clock. */
  readonly presenceId = Math.floor(Math.random() * 0xffffffff) >>> 0;
  presenceClock = 0;
  constructor(
    protected readonly ctx: ClientContext,
    readonly docName: string,
    readonly baseUrl: string,
  ) {}

  /** Connect, authenticate, sync. Resolves with the connect time (socket creation → SyncStep2). */
  open(timeoutMs: number): Promise<number> {
    const started = nowMs();
    const { protocol } = this.ctx;
    return new Promise<number>((resolve, reject) => {
      let link: Link | null = null;
      const timer = setTimeout(() => {
        link?.close();
        reject(new Error(`sync timeout after ${timeoutMs} ms`));
      }, timeoutMs);
      this.onSynced = () => {
        clearTimeout(timer);
        resolve(nowMs() - started);
      };
      const url = urlFor(protocol, this.baseUrl, this.docName, this.ctx.tokenInUrl ? this.ctx.token : undefined);
      // The raw link speaks plain ws:// only; `--ws-readers` keeps the readers on `ws` for A/B runs.
      const raw = url.startsWith('ws:') && (this.ctx.rawReaders || !this.isBulk());
      const handlers: LinkHandlers = {
        onOpen: () => {
          if (protocol === 'hocuspocus') link!.send(encodeAuth(this.docName, this.ctx.token));
          link!.send(encodeSync(protocol, this.docName, SyncType.Step1, this.stateVector()));
        },
        onMessage: (data, length) => this.handle(data, length),
        onError: (err) => {
          clearTimeout(timer);
          reject(err);
        },
        onClose: () => {
          clearTimeout(timer);
          if (!this.synced) reject(new Error('closed before sync'));
          else if (!this.ctx.closing) this.ctx.counters.disconnects++;
        },
      };
      link = raw ? openRawLink(url, handlers, this.linkOptions()) : openWsLink(url, handlers);
      this.link = link;
    });
  }

  /** Bulk readers: on `ws` instead of the raw link when the context says so (A/B runs). */
  protected isBulk(): boolean {
    return false;
  }

  /** How the raw link treats long messages (default: assembles every one whole). */
  protected linkOptions(): RawLinkOptions {
    return {};
  }

  private onSynced: () => void = () => {};

  protected markSynced(): void {
    if (this.synced) return;
    this.synced = true;
    this.onSynced();
  }

  protected send(frame: Uint8Array): void {
    this.link?.send(frame);
  }

  close(): void {
    this.link?.close();
  }

  /** Sends this client's presence state, stamped with the send time; `index` names its user. */
  announcePresence(index: number): void {
    this.send(encodeAwareness(this.ctx.protocol, this.docName, presenceUpdate(this.presenceId, ++this.presenceClock, index, nowMs())));
    this.ctx.counters.awarenessSent++;
  }

  protected stateVector(): Uint8Array {
    return EMPTY_STATE_VECTOR;
  }

  /**
   * Header-only handling shared by readers and writers. `length`: the message's bytes, of
   * which `buf` may hold only the first (RawLinkOptions.keepFramesUpTo).
   */
  protected handle(buf: Buffer, length = buf.length): void {
    const c = this.ctx.counters;
    c.framesIn++;
    c.bytesIn += length;
    const h = peekHeader(this.ctx.protocol, buf);
    switch (h.type) {
      case -1:
        this.send(PONG_FRAME);
        return;
      case MessageType.Sync:
        if (h.sub === SyncType.Update) c.updateFramesIn++;
        // Connect time ends when SyncStep2 arrives, before a probe applies it: the client's own
        // Yjs work on a large document is not the server's load time (cold-load reports both).
        if (h.sub === SyncType.Step2) this.markSynced();
        this.onSync(h.sub, buf, h.offset, length);
        return;
      case MessageType.Awareness:
        c.awarenessFramesIn++;
        this.onAwareness(buf, h.offset);
        return;
      case MessageType.SyncStatus:
        this.onSyncStatus(h.sub === 1);
        return;
      case MessageType.Auth:
        // Count it; the open() timeout reports the failure.
        if (h.sub === AuthType.PermissionDenied) c.authDenied++;
        return;
      default:
        return;
    }
  }

  /**
   * SyncStatus frames owed for our SyncStep2 replies (Hocuspocus acks every SyncStep2 too, in
   * order with the updates): consumed first so they are never matched to an update.
   */
  protected step2AcksOwed = 0;

  /**
   * Answer the server's SyncStep1 like a provider with an empty document would. `length`:
   * the whole message's bytes (`buf` may hold only its first).
   */
  protected onSync(sub: number, _buf: Buffer, _offset: number, _length: number): void {
    if (sub === SyncType.Step1) {
      this.send(encodeSync(this.ctx.protocol, this.docName, SyncType.Step2, EMPTY_UPDATE));
      if (this.ctx.protocol === 'hocuspocus') this.step2AcksOwed++;
    }
  }

  protected onSyncStatus(_applied: boolean): void {}

  /** An awareness message; its update starts at `offset` (a varUint8Array). */
  protected onAwareness(_buf: Buffer, _offset: number): void {}
}

export class Reader extends BenchClient {
  /** Writers' edits received (counted when the context times observers). */
  editsIn = 0;

  protected override isBulk(): boolean {
    return true;
  }

  /** With observerLatency: counts and times the writers' edits in each update (forEachEdit). */
  protected override onSync(sub: number, buf: Buffer, offset: number, length: number): void {
    const latency = this.ctx.observerLatency;
    if (sub !== SyncType.Update || latency === undefined) return super.onSync(sub, buf, offset, length);
    // A message the link passed over (keepFramesUpTo) is no writer's edit.
    if (buf.length !== length) return;
    const now = nowMs();
    const { windowStart, windowEnd } = this.ctx;
    this.editsIn += forEachEdit(buf, offset, (sentAt) => {
      if (sentAt >= windowStart && sentAt <= windowEnd) latency.record(now - sentAt);
    });
  }
}

export class Writer extends BenchClient {
  /** Random 32-bit Yjs client id, as Y.Doc picks one. */
  readonly clientId = Math.floor(Math.random() * 0xffffffff) >>> 0;
  /** Send times of updates still waiting for their SyncStatus, in order (the server acks in order). */
  private readonly pendingAcks: number[] = [];
  private ackHead = 0;
  private awarenessClock = 0;
  /** Number of edits sent so far; edit `seq` has key `${index}.${seq}` and Yjs clock `seq`. */
  seq = 0;
  /** Next scheduled send time (monotonic ms), driven by the worker's ticker. */
  nextAt = 0;
  nextAwarenessAt = 0;
  private readonly frames: MapSetFrameEncoder;

  constructor(
    ctx: ClientContext,
    docName: string,
    baseUrl: string,
    readonly index: number,
  ) {
    super(ctx, docName, baseUrl);
    this.frames = new MapSetFrameEncoder(ctx.protocol, docName, this.clientId, EDITS_MAP);
  }

  protected override stateVector(): Uint8Array {
    return EMPTY_STATE_VECTOR;
  }

  // The server's SyncStep1 arrives on connect, before any edit: the default empty SyncStep2
  // is the right answer. (Writers never reconnect, so they never owe the server old edits.)

  /**
   * Make one edit and send it as an Update frame; the value is the send time. The update is
   * hand-encoded (see encodeMapSetUpdate / MapSetFrameEncoder): a Y.Doc transaction per edit
   * made the writers a large part of the loader's CPU.
   */
  edit(): void {
    const t = nowMs();
    // A view of a scratch buffer: the link copies it into the masked frame before returning.
    const frame = this.frames.encode(this.seq, `${this.index}.${this.seq}`, t);
    this.seq++;
    this.send(frame);
    this.ctx.counters.updatesSent++;
    if (this.ctx.protocol === 'hocuspocus') this.pendingAcks.push(t);
  }

  /** Sends a prepared update (an agent's flush, a chunk of a paper), acknowledged like an edit. */
  sendUpdate(update: Uint8Array): void {
    const t = nowMs();
    this.send(encodeSync(this.ctx.protocol, this.docName, SyncType.Update, update));
    this.ctx.counters.updatesSent++;
    if (this.ctx.protocol === 'hocuspocus') this.pendingAcks.push(t);
  }

  /** Told of each acknowledgement of this writer's updates: when the update was sent, and whether it was applied. */
  onAck: ((sentAt: number, applied: boolean) => void) | null = null;

  private typist: { text: Y.Text; last: Uint8Array } | null = null;

  /**
   * Types one character at the end of the Y.Text "default" (a paper's keystroke) and sends
   * the update. Uses a real Y.Doc: cold-load ingest is not loader-bound, and typed text is
   * the realistic document shape (it compacts to a small state, unlike unique map keys).
   */
  typeCharacter(): void {
    if (!this.typist) {
      const doc = new Y.Doc();
      doc.clientID = this.clientId;
      const typist: { text: Y.Text; last: Uint8Array } = { text: doc.getText('default'), last: new Uint8Array(0) };
      doc.on('update', (update: Uint8Array) => (typist.last = update));
      this.typist = typist;
    }
    const t = nowMs();
    this.typist.text.insert(this.typist.text.length, 'x');
    this.seq++;
    this.send(encodeSync(this.ctx.protocol, this.docName, SyncType.Update, this.typist.last));
    this.ctx.counters.updatesSent++;
    if (this.ctx.protocol === 'hocuspocus') this.pendingAcks.push(t);
  }

  /** A cursor move: awareness state with a moving selection. */
  moveCursor(): void {
    const pos = this.awarenessClock % 1000;
    const state = `{"user":{"name":"bench-${this.index}"},"cursor":{"anchor":${pos},"head":${pos}}}`;
    const update = encodeAwarenessUpdate(this.clientId, ++this.awarenessClock, state);
    this.send(encodeAwareness(this.ctx.protocol, this.docName, update));
    this.ctx.counters.awarenessSent++;
  }

  protected override onSyncStatus(applied: boolean): void {
    const c = this.ctx.counters;
    if (applied) c.acks++;
    else c.nacks++;
    if (this.step2AcksOwed > 0) {
      this.step2AcksOwed--;
      return;
    }
    if (this.ackHead >= this.pendingAcks.length) return;
    const t = this.pendingAcks[this.ackHead++]!;
    if (this.ackHead > 1024) {
      this.pendingAcks.splice(0, this.ackHead);
      this.ackHead = 0;
    }
    if (t >= this.ctx.windowStart && t <= this.ctx.windowEnd) this.ctx.ack.record(nowMs() - t);
    this.onAck?.(t, applied);
  }

  /** Updates sent but not acknowledged yet. */
  get unacked(): number {
    return this.pendingAcks.length - this.ackHead;
  }
}

export class Probe extends BenchClient {
  readonly doc = new Y.Doc();
  private readonly map = this.doc.getMap<number>(EDITS_MAP);
  /** The others' presence this probe holds (with ClientContext.presenceLatency). */
  readonly presence = new PresenceLedger();

  /**
   * `remoteWriters[i]`: writer i of the document is connected to another server than this
   * probe (its edits reach the probe through the servers' relay).
   */
  constructor(ctx: ClientContext, docName: string, baseUrl: string, remoteWriters: readonly boolean[] = []) {
    super(ctx, docName, baseUrl);
    this.map.observe((event) => {
      const now = nowMs();
      const { windowStart, windowEnd } = this.ctx;
      for (const key of event.keysChanged) {
        const t = this.map.get(key);
        if (t === undefined || t < windowStart || t > windowEnd) continue;
        const ms = now - t;
        this.ctx.latency.record(ms);
        // Keys are `<writer index>.<seq>`: parseInt stops at the dot.
        (remoteWriters[parseInt(key, 10)] ? this.ctx.crossLatency : this.ctx.sameLatency).record(ms);
      }
    });
  }

  protected override stateVector(): Uint8Array {
    return Y.encodeStateVector(this.doc);
  }

  protected override onSync(sub: number, buf: Buffer, offset: number): void {
    // `buf` may view the link's reused receive buffer: Yjs is given a copy, since a document can
    // keep views of an update (binary content).
    if (sub === SyncType.Update) {
      // What y-protocols' readSyncMessage does for an update, without its reply encoder per frame.
      try {
        Y.applyUpdate(this.doc, decoding.readVarUint8Array(decoding.createDecoder(buf.subarray(offset))).slice(), this);
      } catch {
        // a malformed update would show up as loss
      }
      return;
    }
    // Re-read from the sub-type with y-protocols, which applies step 2 and answers step 1.
    const dec = decoding.createDecoder(new Uint8Array(buf.subarray(offset - 1)));
    const enc = encoding.createEncoder();
    if (this.ctx.protocol === 'hocuspocus') encoding.writeVarString(enc, this.docName);
    encoding.writeVarUint(enc, MessageType.Sync);
    const prefix = encoding.length(enc);
    try {
      syncProtocol.readSyncMessage(dec, enc, this.doc, this);
    } catch {
      return; // a malformed update would show up as loss
    }
    if (sub === SyncType.Step1 && encoding.length(enc) > prefix) this.send(encoding.toUint8Array(enc));
  }

  protected override onAwareness(buf: Buffer, offset: number): void {
    const latency = this.ctx.presenceLatency;
    if (latency === undefined) return;
    let update: Uint8Array;
    try {
      update = decoding.readVarUint8Array(decoding.createDecoder(buf.subarray(offset)));
    } catch {
      return; // a malformed update would show up as loss
    }
    const now = nowMs();
    const { windowStart, windowEnd } = this.ctx;
    readPresence(update, (clientId, clock, sentAt) => {
      // Its own echo (a server may send the sender its own state back) is no delivery.
      if (clientId === this.presenceId) return;
      this.presence.record(clientId, clock);
      if (sentAt !== null && sentAt >= windowStart && sentAt <= windowEnd) latency.record(now - sentAt);
    });
  }

  /** Characters of the Y.Text "default" (cold-load's text shape: one per edit). */
  textLength(): number {
    return this.doc.getText('default').length;
  }

  /** How many of the expected edits (writer index → edits sent) this probe does not hold. */
  missing(expected: ReadonlyArray<number>): number {
    let missing = 0;
    expected.forEach((count, w) => {
      for (let s = 0; s < count; s++) if (!this.map.has(`${w}.${s}`)) missing++;
    });
    return missing;
  }
}
