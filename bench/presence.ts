/**
 * Timestamped presence: the awareness states the presence and observers scenarios send, and
 * the reading of awareness updates at the receiving end. A state carries its send time
 * (monotonic ms, comparable across the loader's processes), so a receiver measures delivery
 * without a table of send times; each sender's clock says which of its updates a receiver
 * holds (a later clock supersedes an earlier one: a relay may coalesce, never lose the last).
 */
import * as decoding from 'lib0/decoding';
import { encodeAwarenessUpdate } from './frames.js';

/**
 * A collaboration caret's state as Tiptap sends it (user name and colour, anchor and head as
 * relative positions), with the send time `t` last.
 */
export function presenceUpdate(clientId: number, clock: number, index: number, sentAt: number): Uint8Array {
  const at = (clock * 7) % 5000;
  const state =
    `{"user":{"name":"Bench user ${index}","color":"#ffb61e","colorLight":"#ffb61e33"},` +
    `"cursor":{"anchor":{"type":null,"tname":"default","item":{"client":${clientId},"clock":${at}},"assoc":0},` +
    `"head":{"type":null,"tname":"default","item":{"client":${clientId},"clock":${at + 3}},"assoc":0}},"t":${sentAt}}`;
  return encodeAwarenessUpdate(clientId, clock, state);
}

const SENT_AT = /"t":(-?[0-9.e+-]+)\}$/;

/**
 * Calls `entry` for each state in an awareness update (varUint count · (varUint clientID ·
 * varUint clock · varString JSON)): `sentAt` is the state's send time, null for a removal or
 * a state without one (a writer's cursor). A malformed update stops the reading.
 */
export function readPresence(update: Uint8Array, entry: (clientId: number, clock: number, sentAt: number | null) => void): void {
  try {
    const decoder = decoding.createDecoder(update);
    const count = decoding.readVarUint(decoder);
    for (let i = 0; i < count; i++) {
      const clientId = decoding.readVarUint(decoder);
      const clock = decoding.readVarUint(decoder);
      const state = decoding.readVarString(decoder);
      const match = SENT_AT.exec(state);
      entry(clientId, clock, match ? Number(match[1]) : null);
    }
  } catch {
    // what was read counts; the rest shows as loss
  }
}

/**
 * What one receiver holds of the others' presence: the highest clock seen per sender. An
 * update not received counts as lost only if no later update of its sender arrived either.
 */
export class PresenceLedger {
  private readonly seen = new Map<number, number>();

  record(clientId: number, clock: number): void {
    if ((this.seen.get(clientId) ?? 0) < clock) this.seen.set(clientId, clock);
  }

  /** Updates of a sender that sent clocks 1…`lastClock` that this receiver never caught up with. */
  missing(clientId: number, lastClock: number): number {
    return Math.max(0, lastClock - (this.seen.get(clientId) ?? 0));
  }
}
