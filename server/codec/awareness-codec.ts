/**
 * Awareness updates. The wire format (y-protocols/awareness) is
 * `varUint count · (varUint clientID · varUint clock · varString stateJSON)*`. The server
 * only relays states, so it keeps each state's JSON as the raw UTF-8 bytes it received
 * and re-encodes nothing. It does check that each state is JSON: every client
 * JSON.parses every state it receives, so one malformed state relayed would throw in
 * all of them. (≈1 µs for a cursor-sized state.)
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

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** True when the state JSON is `null` (a removal); throws MalformedFrameError if it is not JSON. */
function isRemoval(json: Uint8Array): boolean {
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(json));
  } catch {
    throw new MalformedFrameError('awareness state is not valid JSON');
  }
  return value === null;
}

/** Decodes an awareness update. Throws on malformed input (truncated or trailing bytes). */
export function decodeAwarenessUpdate(update: Uint8Array): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  // Each entry takes at least three bytes: reject absurd counts before allocating.
  if (count * 3 > update.length) throw new MalformedFrameError('awareness update: entry count exceeds its length');
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    const json = decoding.readVarUint8Array(decoder);
    entries.push({ clientId, clock, state: isRemoval(json) ? null : json.slice() });
  }
  if (decoding.hasContent(decoder)) throw new MalformedFrameError('awareness update: trailing bytes');
  return entries;
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
