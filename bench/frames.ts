/**
 * The wire codecs of the two protocols the bench speaks (see docs/protocol.md). The frames a
 * server writes too come from the server's own codec (server/codec/frames.ts, message-types.ts);
 * what is here only a client needs: the Auth message carrying a token, the Pong, a header
 * peek that allocates nothing, and hand-encoded map-set updates.
 *
 * The loader encodes frames itself instead of running real providers: a provider per simulated
 * client would cost the loader more CPU than the server spends on it, and the whole point of the
 * bench is to measure the server.
 */
import * as encoding from 'lib0/encoding';
import { encodeAwarenessUpdate as encodeAwarenessEntries } from '../server/codec/awareness-codec.js';
import { awarenessFrame, encodeAddress, syncStep1Frame, syncStep2Frame, updateFrame, writeVarUint } from '../server/codec/frames.js';
import { AuthType, MessageType, SyncType } from '../server/codec/message-types.js';

export type Protocol = 'hocuspocus' | 'y-websocket';
export type SyncSubType = (typeof SyncType)[keyof typeof SyncType];

/** Hocuspocus v4's answer to the server's bare Ping: one bare byte. */
export const PONG_FRAME = new Uint8Array([MessageType.Pong]);
/** The provider version we claim; v4 makes the server ping us, which we must answer. */
export const PROVIDER_VERSION = '4.8.0';

const NO_PREFIX = new Uint8Array(0);
const textEncoder = new TextEncoder();

/** Frame prefix: the document name for Hocuspocus, nothing for y-websocket (one doc per socket). */
function framePrefix(protocol: Protocol, docName: string): Uint8Array {
  return protocol === 'hocuspocus' ? encodeAddress(docName) : NO_PREFIX;
}

/** Auth (type Token) with the token and the provider version, as a Hocuspocus provider sends it. */
export function encodeAuth(docName: string, token: string): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarString(enc, docName);
  encoding.writeVarUint(enc, MessageType.Auth);
  encoding.writeVarUint(enc, AuthType.Token);
  encoding.writeVarString(enc, token);
  encoding.writeVarString(enc, PROVIDER_VERSION);
  return encoding.toUint8Array(enc);
}

const SYNC_FRAMES: Record<SyncSubType, (prefix: Uint8Array, payload: Uint8Array) => Uint8Array> = {
  [SyncType.Step1]: syncStep1Frame,
  [SyncType.Step2]: syncStep2Frame,
  [SyncType.Update]: updateFrame,
};

export function encodeSync(protocol: Protocol, docName: string, subType: SyncSubType, payload: Uint8Array): Uint8Array {
  return SYNC_FRAMES[subType](framePrefix(protocol, docName), payload);
}

export function encodeAwareness(protocol: Protocol, docName: string, update: Uint8Array): Uint8Array {
  return awarenessFrame(framePrefix(protocol, docName), update);
}

/** A y-protocols awareness update for one client, so writers need no Awareness instance. */
export function encodeAwarenessUpdate(clientId: number, clock: number, stateJson: string): Uint8Array {
  return encodeAwarenessEntries([{ clientId, clock, state: textEncoder.encode(stateJson) }]);
}

/** Header of an incoming frame, read without decoding strings or Yjs content. */
export interface FrameHeader {
  /** MessageType (Sync, Awareness, SyncStatus, ...); -1 for the bare Hocuspocus ping. */
  type: number;
  /** Sync sub-type or SyncStatus value when present, else -1. */
  sub: number;
  /** Offset of the byte after `sub` (sync) or after `type` (others). */
  offset: number;
}

/** Position after the last readVarUint (module state instead of a [value, pos] tuple per call). */
let readPos = 0;

/** Reads a varUint at `pos`, sets readPos after it; -1 when the buffer ends first. */
function readVarUint(buf: Uint8Array, pos: number): number {
  let num = 0;
  let mult = 1;
  for (;;) {
    const b = buf[pos++];
    if (b === undefined) {
      readPos = pos;
      return -1;
    }
    num += (b & 0x7f) * mult;
    if (b < 0x80) {
      readPos = pos;
      return num;
    }
    mult *= 128;
  }
}

/**
 * Peek at a frame: skip the document name (Hocuspocus) by its length, read type and sub-type.
 * Every client calls this for every frame, so it allocates nothing but the result.
 */
export function peekHeader(protocol: Protocol, buf: Uint8Array): FrameHeader {
  if (protocol === 'hocuspocus' && buf.length === 1 && buf[0] === MessageType.Ping) {
    return { type: -1, sub: -1, offset: 1 };
  }
  let pos = 0;
  if (protocol === 'hocuspocus') {
    const len = readVarUint(buf, 0);
    pos = readPos + len;
  }
  const type = readVarUint(buf, pos);
  const afterType = readPos;
  if (type === MessageType.Sync || type === MessageType.SyncStatus || type === MessageType.Auth) {
    const sub = readVarUint(buf, afterType);
    return { type, sub, offset: readPos };
  }
  return { type, sub: -1, offset: afterType };
}

/** The bytes of a y-websocket URL or the Hocuspocus URL for one document. */
export function urlFor(protocol: Protocol, baseUrl: string, docName: string, token?: string): string {
  if (protocol === 'hocuspocus') return baseUrl;
  const url = baseUrl.replace(/\/?$/, '/') + encodeURIComponent(docName);
  return token === undefined ? url : `${url}?token=${encodeURIComponent(token)}`;
}

/**
 * The Yjs (v1) update that `doc.getMap(mapName).set(key, value)` produces for a key the map does
 * not hold yet, encoded by hand: one Item with ContentAny, no origins, parent = root type
 * `mapName`, parentSub = key, empty delete set. Writers use it instead of a Y.Doc transaction
 * per edit — byte-identical (test/bench/frames.test.ts checks it against Yjs), several times cheaper.
 */
export function encodeMapSetUpdate(clientId: number, clock: number, mapName: string, key: string, value: number): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, 1); // clients with structs
  encoding.writeVarUint(enc, 1); // structs of that client
  encoding.writeVarUint(enc, clientId);
  encoding.writeVarUint(enc, clock);
  encoding.writeUint8(enc, 8 | 0x20); // ContentAny ref (8) | has parentSub (BIT6)
  encoding.writeVarUint(enc, 1); // parent is a root type, by name
  encoding.writeVarString(enc, mapName);
  encoding.writeVarString(enc, key);
  encoding.writeVarUint(enc, 1); // one value
  encoding.writeAny(enc, value);
  encoding.writeVarUint(enc, 0); // empty delete set
  return encoding.toUint8Array(enc);
}

/**
 * A writer's Update frames (frame prefix · SyncUpdate · the map-set update of
 * encodeMapSetUpdate), written straight into one scratch buffer: the bytes are exactly
 * `encodeSync(protocol, docName, SyncType.Update, encodeMapSetUpdate(clientId, clock, mapName, key, value))`
 * (test/bench/frames.test.ts), without the two lib0 encoders, their growth arrays and copies
 * per edit that made encoding a visible share of the loader's CPU at 16,000 updates/s.
 */
export class MapSetFrameEncoder {
  /** Frame prefix up to the update's length: doc name (Hocuspocus), Sync, Update. */
  private readonly head: Uint8Array;
  /** Update bytes before the clock: 1 client, 1 struct, varUint clientId. */
  private readonly structHead: Uint8Array;
  /** Update bytes between clock and key: info byte, root-parent flag, varString mapName. */
  private readonly parent: Uint8Array;

  constructor(
    private readonly protocol: Protocol,
    private readonly docName: string,
    private readonly clientId: number,
    private readonly mapName: string,
  ) {
    const prefix = framePrefix(protocol, docName);
    this.head = new Uint8Array(prefix.length + 2);
    this.head.set(prefix);
    this.head.set([MessageType.Sync, SyncType.Update], prefix.length);
    const sh = encoding.createEncoder();
    encoding.writeVarUint(sh, 1);
    encoding.writeVarUint(sh, 1);
    encoding.writeVarUint(sh, clientId);
    this.structHead = encoding.toUint8Array(sh);
    const p = encoding.createEncoder();
    encoding.writeUint8(p, 8 | 0x20);
    encoding.writeVarUint(p, 1);
    encoding.writeVarString(p, mapName);
    this.parent = encoding.toUint8Array(p);
  }

  /**
   * The frame for one edit. Returns a view of a scratch buffer shared by all encoders, valid
   * until the next call: links copy (mask) a frame before send() returns.
   */
  encode(clock: number, key: string, value: number): Uint8Array {
    const s = scratch;
    // Room for head, length, fixed parts, clock (≤ 8 bytes), key, any (≤ 9 bytes), delete set.
    if (this.head.length + this.structHead.length + this.parent.length + key.length * 3 + 32 > s.length) {
      return this.generic(clock, key, value);
    }
    s.set(this.head, 0);
    const lenPos = this.head.length;
    let pos = lenPos + 1; // the update is < 128 bytes, checked below: one length byte
    const updateStart = pos;
    s.set(this.structHead, pos);
    pos = writeVarUint(s, pos + this.structHead.length, clock);
    s.set(this.parent, pos);
    pos += this.parent.length;
    const keyLen = s.write(key, pos + 1, 'utf8');
    if (keyLen >= 128) return this.generic(clock, key, value);
    s[pos] = keyLen;
    pos += 1 + keyLen;
    s[pos++] = 1; // one value
    pos = writeAnyNumberAt(s, pos, value);
    s[pos++] = 0; // empty delete set
    const updateLen = pos - updateStart;
    if (updateLen >= 128) return this.generic(clock, key, value);
    s[lenPos] = updateLen;
    return s.subarray(0, pos);
  }

  private generic(clock: number, key: string, value: number): Uint8Array {
    return encodeSync(this.protocol, this.docName, SyncType.Update, encodeMapSetUpdate(this.clientId, clock, this.mapName, key, value));
  }
}

const scratch = Buffer.allocUnsafe(1024);

/** lib0's writeAny for a number (integer ≤ 2³¹−1 → 125 varInt, float32 → 124, else 123 float64, big-endian). */
function writeAnyNumberAt(buf: Buffer, pos: number, value: number): number {
  if (Number.isInteger(value) && Math.abs(value) <= 0x7fffffff) {
    buf[pos++] = 125;
    // lib0 writeVarInt: sign in bit 6 of the first byte (negative zero included), 6 value bits.
    const negative = value !== 0 ? value < 0 : 1 / value < 0;
    let num = negative ? -value : value;
    buf[pos++] = (num > 0x3f ? 0x80 : 0) | (negative ? 0x40 : 0) | (num & 0x3f);
    num = Math.floor(num / 64);
    while (num > 0) {
      buf[pos++] = (num > 0x7f ? 0x80 : 0) | (num & 0x7f);
      num = Math.floor(num / 128);
    }
    return pos;
  }
  if (Math.fround(value) === value) {
    buf[pos] = 124;
    buf.writeFloatBE(value, pos + 1);
    return pos + 5;
  }
  buf[pos] = 123;
  buf.writeDoubleBE(value, pos + 1);
  return pos + 9;
}

/** The root map the writers' edits go into (MapSetFrameEncoder), one key per edit. */
export const EDITS_MAP = 'e';

/**
 * How an edit Item of MapSetFrameEncoder begins: its info byte (ContentAny with a parentSub),
 * a root parent named by string, that name (EDITS_MAP as a varString).
 */
const EDIT_ITEM = Buffer.from([8 | 0x20, 1, 1, EDITS_MAP.charCodeAt(0)]);

/**
 * Finds the writers' edits in an update by their bytes, without decoding it: one edit as a
 * writer sent it, or several a server merged into one update (Y.mergeUpdates keeps each
 * item's encoding). Calls `sentAt` with each edit's value, the send time, when it is a float
 * (lib0 writeAny tag 123 or 124, big endian), and returns how many edits the update holds.
 */
export function forEachEdit(buf: Buffer, from: number, sentAt: (ms: number) => void): number {
  let edits = 0;
  let at = buf.indexOf(EDIT_ITEM, from);
  while (at >= 0) {
    const keyLength = readVarUint(buf, at + EDIT_ITEM.length);
    const content = readPos + keyLength;
    // One value (varUint 1), then the value.
    if (keyLength >= 0 && buf[content] === 1) {
      edits++;
      const tag = buf[content + 1];
      if (tag === 123 && content + 10 <= buf.length) sentAt(buf.readDoubleBE(content + 2));
      else if (tag === 124 && content + 6 <= buf.length) sentAt(buf.readFloatBE(content + 2));
    }
    at = buf.indexOf(EDIT_ITEM, at + EDIT_ITEM.length);
  }
  return edits;
}
