/**
 * Awareness updates. The wire format (y-protocols/awareness) is
 * `varUint count · (varUint clientID · varUint clock · varString stateJSON)*`. The server
 * only relays states, so it keeps each state's JSON as the raw UTF-8 bytes it received
 * and re-encodes nothing. Reading an update parses no JSON: the entries are views into
 * the update, so their sizes (and whom they belong to) are checked before anything is
 * parsed or copied. A state that is kept is checked to be JSON (`isJsonRemoval`): every
 * client JSON.parses every state it receives, so one malformed state relayed would throw
 * in all of them (cheap for a cursor-sized state: BENCHMARKS.md "In process"; a renewal with
 * the same bytes is not parsed again).
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { MalformedFrameError } from './malformed-frame-error.js';

export interface AwarenessEntry {
  readonly clientId: number;
  readonly clock: number;
  /** UTF-8 JSON text of the state, undecoded; `null` for a removal. */
  readonly state: Uint8Array | null;
}

/** One entry as read: `json` is a view into the update (copy it to keep it). */
export interface RawAwarenessEntry {
  readonly clientId: number;
  readonly clock: number;
  readonly json: Uint8Array;
}

export interface ReadAwareness {
  readonly entries: RawAwarenessEntry[];
  /** False when the update had more than `maxEntries` entries: the rest was not read. */
  readonly complete: boolean;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** True for `null` as JSON.stringify writes a removal, without parsing; false for any other text. */
export function isRemovalLiteral(json: Uint8Array): boolean {
  return json.length === 4 && json[0] === 0x6e && json[1] === 0x75 && json[2] === 0x6c && json[3] === 0x6c;
}

/**
 * Checks that a state is UTF-8 JSON; true when it is `null` (a removal, however spaced).
 * Throws MalformedFrameError otherwise.
 */
export function isJsonRemoval(json: Uint8Array): boolean {
  if (isRemovalLiteral(json)) return true;
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(json));
  } catch {
    throw new MalformedFrameError('awareness state is not valid JSON');
  }
  return value === null;
}

/**
 * Reads at most `maxEntries` entries of an awareness update, without parsing their JSON.
 * Throws MalformedFrameError (or lib0's errors) on malformed input: truncated within
 * what is read, or trailing bytes after a complete update. Entries beyond `maxEntries`
 * are neither read nor checked.
 */
export function readAwarenessEntries(update: Uint8Array, maxEntries: number): ReadAwareness {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  // Each entry takes at least three bytes: reject absurd counts before reading.
  if (count * 3 > update.length) throw new MalformedFrameError('awareness update: entry count exceeds its length');
  const read = Math.min(count, maxEntries);
  const entries: RawAwarenessEntry[] = [];
  for (let i = 0; i < read; i++) {
    const clientId = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    entries.push({ clientId, clock, json: decoding.readVarUint8Array(decoder) });
  }
  const complete = read === count;
  if (complete && decoding.hasContent(decoder)) throw new MalformedFrameError('awareness update: trailing bytes');
  return { entries, complete };
}

/** Decodes a whole awareness update, checking every state is JSON (tests, tools). */
export function decodeAwarenessUpdate(update: Uint8Array): AwarenessEntry[] {
  return readAwarenessEntries(update, Number.MAX_SAFE_INTEGER).entries.map(({ clientId, clock, json }) => ({
    clientId,
    clock,
    state: isJsonRemoval(json) ? null : json.slice(),
  }));
}

export function encodeAwarenessUpdate(entries: Iterable<AwarenessEntry>): Uint8Array {
  const list = Array.from(entries);
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, list.length);
  for (const entry of list) {
    encoding.writeVarUint(encoder, entry.clientId);
    encoding.writeVarUint(encoder, entry.clock);
    if (entry.state) encoding.writeVarUint8Array(encoder, entry.state);
    else encoding.writeVarString(encoder, 'null');
  }
  return encoding.toUint8Array(encoder);
}

/**
 * One awareness update holding the entries of `updates` in their order (a receiver applies
 * them as if they came one by one: the clock rule makes a later entry for a client win).
 * Each update must be well-formed (the room's table already read it); nothing is re-encoded.
 */
export function concatAwarenessUpdates(updates: readonly Uint8Array[]): Uint8Array {
  if (updates.length === 1) return updates[0]!;
  let count = 0;
  let bodyBytes = 0;
  const bodies: Uint8Array[] = [];
  for (const update of updates) {
    const decoder = decoding.createDecoder(update);
    count += decoding.readVarUint(decoder);
    const body = update.subarray(decoder.pos);
    bodies.push(body);
    bodyBytes += body.length;
  }
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, count);
  const head = encoding.toUint8Array(encoder);
  const out = new Uint8Array(head.length + bodyBytes);
  out.set(head, 0);
  let offset = head.length;
  for (const body of bodies) {
    out.set(body, offset);
    offset += body.length;
  }
  return out;
}
