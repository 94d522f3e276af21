/**
 * Test-side encoders/decoders for the Hocuspocus and y-websocket wire formats (lib0),
 * written independently of the server's codec so the tests check the server against the
 * protocol, not against its own encoder. The message-type numbers are the server's
 * (server/codec/message-types.ts), under the short names these tests use.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { AuthType, MessageType as T, SyncType as Sync } from '../../server/codec/message-types.js';

export { Sync, T };

export type Frame =
  | { kind: 'ping' }
  | { kind: 'sync'; name: string | null; sub: number; payload: Uint8Array }
  | { kind: 'awareness'; name: string | null; payload: Uint8Array }
  | { kind: 'auth'; name: string | null; authType: number; text: string | null }
  | { kind: 'close'; name: string | null; reason: string }
  | { kind: 'syncStatus'; name: string | null; applied: number }
  | { kind: 'stateless'; name: string | null; payload: string }
  | { kind: 'queryAwareness'; name: string | null }
  | { kind: 'other'; name: string | null; type: number; raw: Uint8Array };

function build(name: string | null, write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  if (name !== null) encoding.writeVarString(encoder, name);
  write(encoder);
  return encoding.toUint8Array(encoder);
}

// ---- client → server (name === null: y-websocket, unprefixed) ----

export const authFrame = (name: string, token = 'token', version?: string) =>
  build(name, (e) => {
    encoding.writeVarUint(e, T.Auth);
    encoding.writeVarUint(e, AuthType.Token);
    encoding.writeVarString(e, token);
    if (version !== undefined) encoding.writeVarString(e, version);
  });

const syncFrame = (name: string | null, sub: number, payload: Uint8Array) =>
  build(name, (e) => {
    encoding.writeVarUint(e, T.Sync);
    encoding.writeVarUint(e, sub);
    encoding.writeVarUint8Array(e, payload);
  });

export const step1Frame = (name: string | null, stateVector: Uint8Array) => syncFrame(name, Sync.Step1, stateVector);
export const step2Frame = (name: string | null, update: Uint8Array) => syncFrame(name, Sync.Step2, update);
export const updateFrame = (name: string | null, update: Uint8Array) => syncFrame(name, Sync.Update, update);

export const awarenessFrame = (name: string | null, update: Uint8Array) =>
  build(name, (e) => {
    encoding.writeVarUint(e, T.Awareness);
    encoding.writeVarUint8Array(e, update);
  });

export const queryAwarenessFrame = (name: string | null) => build(name, (e) => encoding.writeVarUint(e, T.QueryAwareness));

export const closeDocFrame = (name: string) => build(name, (e) => encoding.writeVarUint(e, T.Close));

export const statelessFrame = (name: string, payload: string) =>
  build(name, (e) => {
    encoding.writeVarUint(e, T.Stateless);
    encoding.writeVarString(e, payload);
  });

export const typeOnlyFrame = (name: string | null, type: number, extra: readonly number[] = []) =>
  build(name, (e) => {
    encoding.writeVarUint(e, type);
    for (const byte of extra) encoding.writeUint8(e, byte);
  });

/** Awareness update in y-protocols format: count · (clientID · clock · JSON)*; state null = removal. */
export function encodeAwareness(entries: ReadonlyArray<{ clientId: number; clock: number; state: unknown }>): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, entries.length);
  for (const entry of entries) {
    encoding.writeVarUint(encoder, entry.clientId);
    encoding.writeVarUint(encoder, entry.clock);
    encoding.writeVarString(encoder, JSON.stringify(entry.state));
  }
  return encoding.toUint8Array(encoder);
}

export function decodeAwareness(update: Uint8Array): Array<{ clientId: number; clock: number; state: unknown }> {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  const out: Array<{ clientId: number; clock: number; state: unknown }> = [];
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    out.push({ clientId, clock, state: JSON.parse(decoding.readVarString(decoder)) as unknown });
  }
  return out;
}

// ---- server → client ----

/** Decodes one server frame; `prefixed` = Hocuspocus (document name first). */
export function decodeFrame(data: Uint8Array, prefixed: boolean): Frame {
  if (prefixed && data.length === 1 && data[0] === T.Ping) return { kind: 'ping' };
  const decoder = decoding.createDecoder(data);
  const name = prefixed ? decoding.readVarString(decoder) : null;
  const type = decoding.readVarUint(decoder);
  switch (type) {
    case T.Sync: {
      const sub = decoding.readVarUint(decoder);
      return { kind: 'sync', name, sub, payload: decoding.readVarUint8Array(decoder).slice() };
    }
    case T.Awareness:
      return { kind: 'awareness', name, payload: decoding.readVarUint8Array(decoder).slice() };
    case T.Auth: {
      const authType = decoding.readVarUint(decoder);
      return { kind: 'auth', name, authType, text: decoding.hasContent(decoder) ? decoding.readVarString(decoder) : null };
    }
    case T.Close:
      return { kind: 'close', name, reason: decoding.hasContent(decoder) ? decoding.readVarString(decoder) : '' };
    case T.SyncStatus:
      return { kind: 'syncStatus', name, applied: decoding.readVarUint(decoder) };
    case T.Stateless:
      return { kind: 'stateless', name, payload: decoding.readVarString(decoder) };
    case T.QueryAwareness:
      return { kind: 'queryAwareness', name };
    default:
      return { kind: 'other', name, type, raw: data.slice() };
  }
}

/** Human-readable label of a frame, for order assertions. */
export function label(frame: Frame): string {
  switch (frame.kind) {
    case 'sync':
      return ['SyncStep1', 'SyncStep2', 'Update'][frame.sub] ?? `Sync${frame.sub}`;
    case 'auth':
      return ['AuthToken', 'PermissionDenied', 'Authenticated'][frame.authType] ?? `Auth${frame.authType}`;
    case 'syncStatus':
      return `SyncStatus(${frame.applied})`;
    case 'awareness':
      return 'Awareness';
    case 'close':
      return 'Close';
    case 'ping':
      return 'Ping';
    case 'stateless':
      return 'Stateless';
    case 'queryAwareness':
      return 'QueryAwareness';
    default:
      return `Type${frame.type}`;
  }
}
