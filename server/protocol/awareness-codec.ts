/**
 * Awareness updates without JSON. The wire format (y-protocols/awareness) is
 * `varUint count · (varUint clientID · varUint clock · varString stateJSON)*`. The server
 * only relays states, so it keeps each state's JSON as raw UTF-8 bytes and never parses
 * it; the one thing it must recognise is the literal `null` (a removed state).
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

export interface AwarenessEntry {
  readonly clientId: number;
  readonly clock: number;
  /** UTF-8 JSON text of the state, undecoded; `null` for a removal. */
  readonly state: Uint8Array | null;
}

const NULL_JSON = [0x6e, 0x75, 0x6c, 0x6c]; // "null"

function isNullJson(bytes: Uint8Array): boolean {
  return bytes.length === 4 && bytes[0] === NULL_JSON[0] && bytes[1] === NULL_JSON[1] && bytes[2] === NULL_JSON[2] && bytes[3] === NULL_JSON[3];
}

/** Decodes an awareness update. Throws on malformed input (truncated or trailing bytes). */
export function decodeAwarenessUpdate(update: Uint8Array): AwarenessEntry[] {
  const decoder = decoding.createDecoder(update);
  const count = decoding.readVarUint(decoder);
  // Each entry takes at least three bytes: reject absurd counts before allocating.
  if (count * 3 > update.length) throw new Error('awareness update: entry count exceeds its length');
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(decoder);
    const clock = decoding.readVarUint(decoder);
    const json = decoding.readVarUint8Array(decoder);
    entries.push({ clientId, clock, state: isNullJson(json) ? null : json.slice() });
  }
  if (decoding.hasContent(decoder)) throw new Error('awareness update: trailing bytes');
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
