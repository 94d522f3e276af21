/**
 * Who made what, folded from the update log: for every Yjs client id, which sender (user and
 * session of a log row) owns it, which clocks its structs cover and how many characters they
 * hold; for every deleted clock range, which sender deleted it first.
 *
 * A row is one sender's update(s), of any size (one keystroke, or a session's minute of
 * updates merged by a compaction): nothing here assumes one edit per row. What a row says:
 * - its structs carry client ids. A client id belongs to one Y.Doc, that is one editor: the
 *   *owner* of a client is the sender of the earliest row made of that client's structs
 *   only (an editor's own updates are). A row that also carries other clients' structs (a
 *   client's catch-up after a reconnect, a copy stored again) names the owner only when no
 *   such row exists (the fallback: the earliest row with any of its structs).
 * - its delete set lists clock ranges. A delete set has no author of its own, and a catch-up
 *   update repeats every deletion its sender knows of, so a range is charged to the sender of
 *   the earliest row that deleted it.
 * "Earliest" is by stored time, then position: rows are folded in that order, and what is
 * filled first stays (clock-runs.ts), so folding a row again changes nothing.
 *
 * Characters are UTF-16 code units of text (Y.Text and Y.XmlText content) and, where the
 * document's kind says so, of string values set under some map keys (a research tree's
 * titles); elements, embeds, formatting, attributes and other values count none. Deleted
 * characters can only be counted for content some row still holds: for content whose rows were
 * pruned, the deletion is known but not its size.
 */
import * as Y from 'yjs';
import type { DocumentKind } from '../persistence/documents.js';
import { ClockRuns } from './clock-runs.js';
import type { AuthorshipLogRow } from './authorship-log.js';

/** The operation type of the room's own formatting cleanup (rooms/room.ts): made by no one. */
const SERVER_CLEANUP = 'normalize';

/** Who sent rows of the log: a user (or nobody) in one session. */
export interface Sender {
  readonly userId: string | null;
  readonly sessionId: string;
  /** The room's own cleanup, not an author's edit. */
  readonly byServer: boolean;
  /** Stored time (ms) of its first and last row. */
  firstAt: number;
  lastAt: number;
}

/** `chars` of a run of text: one character per clock. */
const TEXT_RUN = -1;

interface StructInfo {
  /** Stored time (ms) of the first row that carried it. */
  readonly at: number;
  /** TEXT_RUN, or the characters of the whole run (a run of one string value, or 0). */
  readonly chars: number;
}

export interface Deletion {
  readonly sender: number;
  readonly at: number;
}

interface ClientRecord {
  /** Sender index of the earliest row made of this client's structs only; -1 while none. */
  owner: number;
  /** Sender index of the earliest row that carried any of its structs. */
  firstSender: number;
  readonly structs: ClockRuns<StructInfo>;
}

export interface IndexOptions {
  /**
   * Keep the time of every row's structs (a research tree's "last edited by" compares them). A
   * paper does not need them, and without them one editor's runs of text merge into one
   * whatever rows they came in.
   */
  readonly keepTimes: boolean;
  /**
   * Map keys whose string values count as characters. Only a value's first write names its key
   * (an overwrite points at the value it replaces instead), so keys are followed from item to
   * item; with none, no key is tracked.
   */
  readonly countedKeys: ReadonlySet<string>;
}

/** What counts for each kind: a paper's text; a research tree's titles, and the times its blame compares. */
export const INDEX_OPTIONS: Readonly<Record<DocumentKind, IndexOptions>> = {
  paper: { keepTimes: false, countedKeys: new Set() },
  research_tree: { keepTimes: true, countedKeys: new Set(['title']) },
};

const sameCharKind = (a: StructInfo, b: StructInfo): boolean => (a.chars === TEXT_RUN && b.chars === TEXT_RUN) || (a.chars === 0 && b.chars === 0);

/** Rough bytes per run (or recorded key) and per sender, for the cache's bound. */
const RUN_BYTES = 80;
const SENDER_BYTES = 200;

export class AuthorshipIndex {
  readonly senders: Sender[] = [];
  private readonly senderIndex = new Map<string, number>();
  private readonly clients = new Map<number, ClientRecord>();
  private readonly deletions = new Map<number, ClockRuns<Deletion>>();
  private readonly joinStructs: (a: StructInfo, b: StructInfo) => boolean;
  private readonly joinDeletions: (a: Deletion, b: Deletion) => boolean;
  private readonly countedKeys: ReadonlySet<string>;
  /** The map key of each map value's last clock (client → clock → key), while countedKeys is not empty. */
  private readonly keys = new Map<number, Map<number, string>>();
  /** Rows Yjs could not decode (left out; the room refused them too). */
  unreadableRows = 0;

  constructor(options: IndexOptions) {
    this.joinStructs = options.keepTimes ? (a, b) => a.at === b.at && sameCharKind(a, b) : sameCharKind;
    this.joinDeletions = options.keepTimes ? (a, b) => a.sender === b.sender && a.at === b.at : (a, b) => a.sender === b.sender;
    this.countedKeys = options.countedKeys;
  }

  /** Folds rows in (stored time, position) order; rows already folded change nothing. */
  add(rows: readonly AuthorshipLogRow[]): void {
    const ordered = [...rows].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.position - b.position);
    for (const row of ordered) this.fold(row);
  }

  /** The sender that owns `client`, or -1 when no row carried any of its structs. */
  ownerOf(client: number): number {
    const record = this.clients.get(client);
    if (record === undefined) return -1;
    return record.owner >= 0 ? record.owner : record.firstSender;
  }

  /** Stored time (ms) of the first row that carried struct `client:clock`, or null. */
  storedAt(client: number, clock: number): number | null {
    return this.clients.get(client)?.structs.at(clock)?.value.at ?? null;
  }

  /** Who deleted `client:clock` first, or null. */
  deletionOf(client: number, clock: number): Deletion | null {
    return this.deletions.get(client)?.at(clock)?.value ?? null;
  }

  /** Characters each client inserted (each clock counted once). */
  insertedChars(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const [client, record] of this.clients) {
      let chars = 0;
      for (const run of record.structs.all()) chars += run.value.chars === TEXT_RUN ? run.end - run.start : run.value.chars;
      counts.set(client, chars);
    }
    return counts;
  }

  /** Characters each sender deleted (sender index → count), as far as the deleted content is known. */
  deletedChars(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const [client, runs] of this.deletions) {
      const structs = this.clients.get(client)?.structs;
      if (structs === undefined) continue;
      for (const deletion of runs.all()) {
        let chars = 0;
        structs.forEachIn(deletion.start, deletion.end, (from, to, run) => {
          const value = run.value;
          // A string value is deleted whole (its run is one clock): count it when its clock is in.
          chars += value.chars === TEXT_RUN ? to - from : value.chars;
        });
        if (chars > 0) counts.set(deletion.value.sender, (counts.get(deletion.value.sender) ?? 0) + chars);
      }
    }
    return counts;
  }

  /** Every client id with a structs record. */
  clientIds(): IterableIterator<number> {
    return this.clients.keys();
  }

  /** A rough size in bytes (runs and senders), for the cache's bound. */
  approximateBytes(): number {
    let runs = 0;
    for (const record of this.clients.values()) runs += record.structs.size;
    for (const deleted of this.deletions.values()) runs += deleted.size;
    for (const clocks of this.keys.values()) runs += clocks.size;
    return runs * RUN_BYTES + this.senders.length * SENDER_BYTES;
  }

  private fold(row: AuthorshipLogRow): void {
    let decoded: { structs: (Y.Item | Y.GC | Y.Skip)[]; ds: { clients: Map<number, { clock: number; len: number }[]> } };
    try {
      decoded = Y.decodeUpdate(row.update);
    } catch {
      this.unreadableRows++;
      return;
    }
    const at = row.createdAt.getTime();
    const sender = this.senderOf(row, at);
    const { structs, ds } = decoded;
    let onlyClient: number | null = null;
    let pure = true;
    for (const struct of structs) {
      if (struct instanceof Y.Skip) continue;
      const client = struct.id.client;
      if (onlyClient === null) onlyClient = client;
      else if (client !== onlyClient) pure = false;
      const record = this.clientRecord(client, sender);
      if (struct instanceof Y.Item) this.fillStruct(record.structs, struct, at);
    }
    if (pure && onlyClient !== null) {
      const record = this.clients.get(onlyClient)!;
      if (record.owner < 0) record.owner = sender;
    }
    for (const [client, ranges] of ds.clients) {
      let runs = this.deletions.get(client);
      if (runs === undefined) {
        runs = new ClockRuns(this.joinDeletions);
        this.deletions.set(client, runs);
      }
      for (const { clock, len } of ranges) runs.fill(clock, clock + len, { sender, at });
    }
  }

  /** Records what the item holds; deleted content (ContentDeleted) says nothing and is left for the row that still has it. */
  private fillStruct(runs: ClockRuns<StructInfo>, item: Y.Item, at: number): void {
    const { content } = item;
    const clock = item.id.clock;
    if (content instanceof Y.ContentDeleted) return;
    if (content instanceof Y.ContentString) {
      runs.fill(clock, clock + item.length, { at, chars: TEXT_RUN });
      return;
    }
    const key = this.countedKeys.size > 0 ? this.keyOf(item) : undefined;
    if (content instanceof Y.ContentAny && key !== undefined && this.countedKeys.has(key)) {
      // One clock per value: each counted string is a run of its own, so its size stays exact.
      const values = content.getContent();
      for (let i = 0; i < values.length; i++) {
        const value = values[i];
        runs.fill(clock + i, clock + i + 1, { at, chars: typeof value === 'string' ? value.length : 0 });
      }
      return;
    }
    runs.fill(clock, clock + item.length, { at, chars: 0 });
  }

  /** The map key `item` is a value of (its own, or that of the value it overwrites), recorded for the next overwrite; undefined for list content. */
  private keyOf(item: Y.Item): string | undefined {
    const origin = item.origin;
    const key = item.parentSub ?? (origin === null ? undefined : this.keys.get(origin.client)?.get(origin.clock));
    if (key === undefined) return undefined;
    let clocks = this.keys.get(item.id.client);
    if (clocks === undefined) {
      clocks = new Map();
      this.keys.set(item.id.client, clocks);
    }
    // An overwrite's origin is the last clock of the value it replaces.
    clocks.set(item.id.clock + item.length - 1, key);
    return key;
  }

  private clientRecord(client: number, sender: number): ClientRecord {
    let record = this.clients.get(client);
    if (record === undefined) {
      record = { owner: -1, firstSender: sender, structs: new ClockRuns(this.joinStructs) };
      this.clients.set(client, record);
    }
    return record;
  }

  private senderOf(row: AuthorshipLogRow, at: number): number {
    const byServer = row.operationType === SERVER_CLEANUP;
    const key = `${row.userId ?? ''}\u0000${row.sessionId}\u0000${byServer ? 1 : 0}`;
    let index = this.senderIndex.get(key);
    if (index === undefined) {
      index = this.senders.length;
      this.senders.push({ userId: row.userId, sessionId: row.sessionId, byServer, firstAt: at, lastAt: at });
      this.senderIndex.set(key, index);
      return index;
    }
    const sender = this.senders[index]!;
    if (at < sender.firstAt) sender.firstAt = at;
    if (at > sender.lastAt) sender.lastAt = at;
    return index;
  }
}
