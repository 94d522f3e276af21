/**
 * Display names of open-mode editors, learned from awareness. An open-mode editor has no user
 * row: the only name the server ever sees is the `user.name` its editor puts in its awareness
 * state, keyed by the awareness client id, which is its Y.Doc's client id, the same id its
 * edits carry. So a name seen once in a document's awareness names that client's edits.
 *
 * What is known: the states this instance's own connections sent (recorded as they arrive, and
 * kept after their editor left), plus, at the time of a request, every state the room holds
 * (also those relayed from other instances). Not known: an editor who left while connected to
 * another instance, or before this instance last started; their edits are "name unknown".
 *
 * Bounded: at most MAX_NAMES_PER_DOCUMENT per document and MAX_NAMES in all. When full, the
 * document whose names were learned least recently is forgotten whole; a document over its own
 * bound forgets its oldest name. Only a client id seen for the first time costs a JSON parse: a
 * name is not re-read when the same editor changes it later.
 */
import { isRemovalLiteral, readAwarenessEntries } from '../codec/awareness-codec.js';
import type { RoomExtension } from '../rooms/room-extension.js';
import type { Room } from '../rooms/room.js';

export const MAX_NAMES = 100_000;
export const MAX_NAMES_PER_DOCUMENT = 10_000;
/** Longest name kept, in characters (a longer one is cut). */
const MAX_NAME_LENGTH = 200;
/** Entries read from one awareness update (the room's own bound on a document is 1,000 clients). */
const MAX_ENTRIES = 10_000;

const utf8 = new TextDecoder();

/** The `user.name` of an awareness state (UTF-8 JSON), or null. */
export function nameInState(json: Uint8Array): string | null {
  let state: unknown;
  try {
    state = JSON.parse(utf8.decode(json));
  } catch {
    return null;
  }
  if (typeof state !== 'object' || state === null) return null;
  const user = (state as { user?: unknown }).user;
  if (typeof user !== 'object' || user === null) return null;
  const name = (user as { name?: unknown }).name;
  if (typeof name !== 'string') return null;
  const trimmed = name.trim();
  return trimmed === '' ? null : trimmed.slice(0, MAX_NAME_LENGTH);
}

/** Client id → name in an awareness update (removals and states without a name left out). */
export function namesInUpdate(update: Uint8Array, skip?: (clientId: number) => boolean): Map<number, string> {
  const names = new Map<number, string>();
  let entries;
  try {
    entries = readAwarenessEntries(update, MAX_ENTRIES).entries;
  } catch {
    return names; // the room checked what it relays; nothing else is worth failing a request for
  }
  for (const entry of entries) {
    if (isRemovalLiteral(entry.json) || skip?.(entry.clientId) === true) continue;
    const name = nameInState(entry.json);
    if (name !== null) names.set(entry.clientId, name);
  }
  return names;
}

export class AwarenessNames implements RoomExtension {
  /** Document id → (client id → name); both maps in the order names were learned. */
  private readonly documents = new Map<string, Map<number, string>>();
  private total = 0;

  /** A local client's awareness was applied: learn the names of client ids not seen yet in this document. */
  awarenessApplied(room: Room, update: Uint8Array): void {
    const known = this.documents.get(room.id);
    const learned = namesInUpdate(update, (clientId) => known?.has(clientId) === true);
    for (const [clientId, name] of learned) this.learn(room.id, clientId, name);
  }

  /** Every name known for the document's clients: recorded ones, overridden by those in `live` (the room's current awareness). */
  namesOf(documentId: string, live: Uint8Array | null): Map<number, string> {
    const names = new Map(this.documents.get(documentId));
    if (live !== null) for (const [clientId, name] of namesInUpdate(live)) names.set(clientId, name);
    return names;
  }

  /** Names held, in all documents. */
  get size(): number {
    return this.total;
  }

  private learn(documentId: string, clientId: number, name: string): void {
    let names = this.documents.get(documentId);
    if (names === undefined) {
      names = new Map();
    } else {
      // Re-inserted last: the least recently learning document comes first.
      this.documents.delete(documentId);
    }
    this.documents.set(documentId, names);
    if (!names.has(clientId)) this.total++;
    names.set(clientId, name);
    if (names.size > MAX_NAMES_PER_DOCUMENT) {
      names.delete(names.keys().next().value!);
      this.total--;
    }
    while (this.total > MAX_NAMES) {
      const [oldest, oldestNames] = this.documents.entries().next().value!;
      this.documents.delete(oldest);
      this.total -= oldestNames.size;
    }
  }
}
