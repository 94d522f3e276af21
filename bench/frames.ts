/**
 * Raw wire codecs for the two protocols the bench speaks (see /work/shared/PROTOCOL.md).
 *
 * The loader encodes frames itself instead of running real providers: a provider per simulated
 * client would cost the loader more CPU than the server spends on it, and the whole point of the
 * bench is to measure the server.
 */
import * as encoding from 'lib0/encoding';

export type Protocol = 'hocuspocus' | 'y-websocket';

export const MSG_SYNC = 0;
export const MSG_AWARENESS = 1;
export const MSG_AUTH = 2;
export const MSG_SYNC_STATUS = 8;
export const SYNC_STEP1 = 0;
export const SYNC_STEP2 = 1;
export const SYNC_UPDATE = 2;
/** Hocuspocus v4 application-level ping: one bare byte, answered by one bare byte 0x0A. */
export const HP_PING = 0x09;
export const HP_PONG = new Uint8Array([0x0a]);
/** The provider version we claim; v4 makes the server ping us, which we must answer. */
export const PROVIDER_VERSION = '4.8.0';

/** Frame prefix: the document name for Hocuspocus, nothing for y-websocket (one doc per socket). */
function begin(protocol: Protocol, docName: string): encoding.Encoder {
  const enc = encoding.createEncoder();
  if (protocol === 'hocuspocus') encoding.writeVarString(enc, docName);
  return enc;
}

export function encodeAuth(docName: string, token: string): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarString(enc, docName);
  encoding.writeVarUint(enc, MSG_AUTH);
  encoding.writeVarUint(enc, 0);
  encoding.writeVarString(enc, token);
  encoding.writeVarString(enc, PROVIDER_VERSION);
  return encoding.toUint8Array(enc);
}

export function encodeSync(
  protocol: Protocol,
  docName: string,
  subType: number,
  payload: Uint8Array,
): Uint8Array {
  const enc = begin(protocol, docName);
  encoding.writeVarUint(enc, MSG_SYNC);
  encoding.writeVarUint(enc, subType);
  encoding.writeVarUint8Array(enc, payload);
  return encoding.toUint8Array(enc);
}

export function encodeAwareness(protocol: Protocol, docName: string, update: Uint8Array): Uint8Array {
  const enc = begin(protocol, docName);
  encoding.writeVarUint(enc, MSG_AWARENESS);
  encoding.writeVarUint8Array(enc, update);
  return encoding.toUint8Array(enc);
}

/**
 * A y-protocols awareness update for one client, built by hand so writers need no Awareness
 * instance: varUint count · (varUint clientID · varUint clock · varString JSON state).
 */
export function encodeAwarenessUpdate(clientId: number, clock: number, stateJson: string): Uint8Array {
  const enc = encoding.createEncoder();
  encoding.writeVarUint(enc, 1);
  encoding.writeVarUint(enc, clientId);
  encoding.writeVarUint(enc, clock);
  encoding.writeVarString(enc, stateJson);
  return encoding.toUint8Array(enc);
}

/** Header of an incoming frame, read without decoding strings or Yjs content. */
export interface FrameHeader {
  /** Message type (0 sync, 1 awareness, 8 sync status, ...); -1 for the bare Hocuspocus ping. */
  type: number;
  /** Sync sub-type or SyncStatus value when present, else -1. */
  sub: number;
  /** Offset of the byte after `sub` (sync) or after `type` (others). */
  offset: number;
}

function readVarUint(buf: Uint8Array, pos: number): [number, number] {
  let num = 0;
  let mult = 1;
  for (;;) {
    const b = buf[pos++];
    if (b === undefined) return [-1, pos];
    num += (b & 0x7f) * mult;
    if (b < 0x80) return [num, pos];
    mult *= 128;
  }
}

/**
 * Peek at a frame: skip the document name (Hocuspocus) by its length, read type and sub-type.
 * Bulk readers call this for every frame, so it allocates nothing but the result.
 */
export function peekHeader(protocol: Protocol, buf: Uint8Array): FrameHeader {
  if (protocol === 'hocuspocus' && buf.length === 1 && buf[0] === HP_PING) {
    return { type: -1, sub: -1, offset: 1 };
  }
  let pos = 0;
  if (protocol === 'hocuspocus') {
    const [len, p] = readVarUint(buf, 0);
    pos = p + len;
  }
  const [type, p2] = readVarUint(buf, pos);
  if (type === MSG_SYNC || type === MSG_SYNC_STATUS || type === MSG_AUTH) {
    const [sub, p3] = readVarUint(buf, p2);
    return { type, sub, offset: p3 };
  }
  return { type, sub: -1, offset: p2 };
}

/** The bytes of a y-websocket URL or the Hocuspocus URL for one document. */
export function urlFor(protocol: Protocol, baseUrl: string, docName: string): string {
  if (protocol === 'hocuspocus') return baseUrl;
  return baseUrl.replace(/\/?$/, '/') + encodeURIComponent(docName);
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
