/**
 * Encoders for outgoing frames. A frame is `prefix · type · payload`, where the prefix is
 * the varString-encoded document address for Hocuspocus and empty for y-websocket, so
 * every encoder serves both protocols. Each frame is written into one exactly-sized
 * buffer: no intermediate encoders on the hot path.
 */
import { AuthType, MessageType, SyncType, type Scope } from './message-types.js';

const textEncoder = new TextEncoder();

function varUintLength(n: number): number {
  let length = 1;
  while (n > 0x7f) {
    n = Math.floor(n / 128);
    length++;
  }
  return length;
}

/** lib0's varUint of `n` written into `target` at `offset`; returns the offset after it. */
export function writeVarUint(target: Uint8Array, offset: number, n: number): number {
  while (n > 0x7f) {
    target[offset++] = 0x80 | (n & 0x7f);
    n = Math.floor(n / 128);
  }
  target[offset++] = n;
  return offset;
}

/** varString(address): the prefix of every Hocuspocus frame for that document address. */
export function encodeAddress(address: string): Uint8Array {
  const bytes = textEncoder.encode(address);
  const out = new Uint8Array(varUintLength(bytes.length) + bytes.length);
  out.set(bytes, writeVarUint(out, 0, bytes.length));
  return out;
}

/** `prefix · head… · varUint8Array(payload)` */
function frameWithPayload(prefix: Uint8Array, head: readonly number[], payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(prefix.length + head.length + varUintLength(payload.length) + payload.length);
  out.set(prefix, 0);
  let offset = prefix.length;
  for (const byte of head) out[offset++] = byte;
  offset = writeVarUint(out, offset, payload.length);
  out.set(payload, offset);
  return out;
}

function frameWithString(prefix: Uint8Array, head: readonly number[], text: string): Uint8Array {
  return frameWithPayload(prefix, head, textEncoder.encode(text));
}

function frameWithHead(prefix: Uint8Array, head: readonly number[]): Uint8Array {
  const out = new Uint8Array(prefix.length + head.length);
  out.set(prefix, 0);
  out.set(head, prefix.length);
  return out;
}

const SYNC_STEP1 = [MessageType.Sync, SyncType.Step1];
const SYNC_STEP2 = [MessageType.Sync, SyncType.Step2];
const SYNC_UPDATE = [MessageType.Sync, SyncType.Update];
const AWARENESS = [MessageType.Awareness];

const NO_PREFIX = new Uint8Array(0);

/**
 * A frame's body (`type · payload`, no address), shared by every address it goes to: an
 * update or awareness change is encoded once per change, then each address only costs
 * `withPrefix` (a y-websocket frame is the body itself).
 */
export const updateBody = (update: Uint8Array) => frameWithPayload(NO_PREFIX, SYNC_UPDATE, update);
export const awarenessBody = (awarenessUpdate: Uint8Array) => frameWithPayload(NO_PREFIX, AWARENESS, awarenessUpdate);

/** `prefix · body`; the body itself when the prefix is empty (y-websocket). */
export function withPrefix(prefix: Uint8Array, body: Uint8Array): Uint8Array {
  if (prefix.length === 0) return body;
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix, 0);
  out.set(body, prefix.length);
  return out;
}

export const syncStep1Frame = (prefix: Uint8Array, stateVector: Uint8Array) => frameWithPayload(prefix, SYNC_STEP1, stateVector);
export const syncStep2Frame = (prefix: Uint8Array, update: Uint8Array) => frameWithPayload(prefix, SYNC_STEP2, update);
export const updateFrame = (prefix: Uint8Array, update: Uint8Array) => frameWithPayload(prefix, SYNC_UPDATE, update);
export const awarenessFrame = (prefix: Uint8Array, awarenessUpdate: Uint8Array) => frameWithPayload(prefix, AWARENESS, awarenessUpdate);

/** SyncStatus: 1 = the update is applied (and durable), 0 = refused. */
export const syncStatusFrame = (prefix: Uint8Array, applied: boolean) => frameWithHead(prefix, [MessageType.SyncStatus, applied ? 1 : 0]);

export const authenticatedFrame = (prefix: Uint8Array, scope: Scope) =>
  frameWithString(prefix, [MessageType.Auth, AuthType.Authenticated], scope);

export const permissionDeniedFrame = (prefix: Uint8Array, reason: string) =>
  frameWithString(prefix, [MessageType.Auth, AuthType.PermissionDenied], reason);

/**
 * A token request (Auth type Token, no token): Hocuspocus providers v3 and later answer with
 * an Auth message carrying `getToken()`'s current token (their `sendToken()`), as they do for
 * the Hocuspocus server's `requestToken()`. v2 providers ignore it.
 */
export const tokenRequestFrame = (prefix: Uint8Array) => frameWithHead(prefix, [MessageType.Auth, AuthType.Token]);

export const closeFrame = (prefix: Uint8Array, reason: string) => frameWithString(prefix, [MessageType.Close], reason);

export const statelessFrame = (prefix: Uint8Array, payload: string) => frameWithString(prefix, [MessageType.Stateless], payload);

/** Connection-level ping: a bare type byte without a document name (providers ≥ 4). */
export const PING_FRAME = new Uint8Array([MessageType.Ping]);
