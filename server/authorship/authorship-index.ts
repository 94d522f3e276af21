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
 * "Earliest" is by stored time, then position, whatever order rows are folded in (clock-runs.ts
 * keeps the earlier value): the log is read in pages by position, a compaction rewrites old rows
 * as new ones, and a row read twice changes nothing.
 *
 * Characters are UTF-16 code units of text (Y.Text and Y.XmlText content) and, where the
 * document's kind says so, of string values set under some map keys (a research tree's
 * titles); elements, embeds, formatting, attributes and other values count none. Deleted
 * characters can only be counted for content some row still holds: for content whose rows were
 * pruned, the deletion is known but not its size.
 */
import * as Y from 'yjs';
import type { DocumentKind } from '../persistence/documents.js';
import { ClockRuns, type ClockRun, type ClockRunRules } from './clock-runs.js';
import type { AuthorshipLogRow } from './authorship-log.js';

/** The operation type of the room's own formatting cleanup (rooms/room.ts): made by no one. */
const SERVER_CLEANUP = 'normalize';

/** Who sent rows of the log: a user (or nobody) in one session. */
export interface Sender {
  readonly userId: string | null;
  readonly sessionId: string;
  /** The room's own cleanup, not an author's edit. */
  readonly byServer: boolean;
  /** Stored time (ms) of its first update and of its last. */
  firstAt: number;
  lastAt: number;
}

/** A row's place in "earliest": stored time, then position. */
interface RowKey {
  readonly at: number;
  readonly position: number;
}

const before = (a: RowKey, b: RowKey): boolean => a.at < b.at || (a.at === b.at && a.position < b.position);

/** `chars` of a run of text: one character per clock. */
const TEXT_RUN = -1;

/** A struct's id, for following a map value back to the key it was first set under. */
interface StructId {
  readonly client: number;
  readonly clock: number;
}

interface StructInfo extends RowKey {
  /** TEXT_RUN, or 0. */
  readonly chars: number;
  /** A string map value's characters, counted when its key is one of the counted keys. */
  readonly valueChars: number;
  /**
   * The map key the struct is a value of: known when it was first set (`parentSub`), otherwise
   * that of the value it overwrote (`origin`), resolved when asked; null: not a map value.
   */
  key: string | null | undefined;
  readonly origin: StructId | null;
}

export interface Deletion extends RowKey {
  readonly sender: number;
}

interface ClientRecord {
  /** Sender index and row of the earliest row made of this client's structs only; owner -1 while none. */
  owner: number;
  ownerRow: RowKey;
  /** Sender index and row of the earliest row that carried any of its structs. */
  firstSender: number;
  firstRow: RowKey;
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
   * (an overwrite points at the value it replaces instead), so keys are followed back from
   * value to value; with none, nothing about keys is kept.
   */
  readonly countedKeys: ReadonlySet<string>;
}

/** What counts for each kind: a paper's text; a research tree's titles, and the times its blame compares. */
export const INDEX_OPTIONS: Readonly<Record<DocumentKind, IndexOptions>> = {
  paper: { keepTimes: false, countedKeys: new Set() },
  research_tree: { keepTimes: true, countedKeys: new Set(['title']) },
};

/** Rough bytes per run and per sender, for the cache's bound. */
const RUN_BYTES = 96;
const SENDER_BYTES = 200;
/** The longest chain of overwrites followed to find a value's key. */
const MAX_KEY_CHAIN = 100_000;

export class AuthorshipIndex {
  readonly senders: Sender[] = [];
  private readonly senderIndex = new Map<string, number>();
  private readonly clients = new Map<number, ClientRecord>();
  private readonly deletions = new Map<number, ClockRuns<Deletion>>();
  private readonly structRules: ClockRunRules<StructInfo>;
  private readonly deletionRules: ClockRunRules<Deletion>;
  private readonly countedKeys: ReadonlySet<string>;
  /** Rows Yjs could not decode (left out; the room refused them too). */
  unreadableRows = 0;

  constructor(options: IndexOptions) {
    this.countedKeys = options.countedKeys;
    const textRuns = (a: StructInfo, b: StructInfo): boolean => a.chars === TEXT_RUN && b.chars === TEXT_RUN;
    this.structRules = options.keepTimes
      ? // Times matter: a run keeps one row's time, and an earlier row's copy of a struct wins.
        { joins: (a, b) => textRuns(a, b) && a.at === b.at && a.position === b.position, precedes: before }
      : // Any row's copy of a struct says the same: the first stays, and one editor's text runs merge.
        { joins: (a, b) => textRuns(a, b) || (a.chars === 0 && b.chars === 0 && a.key === null && b.key === null) };
    // One row's deletions merge; runs of different rows stay apart, so an earlier row can still take part of one.
    this.deletionRules = { joins: (a, b) => a.sender === b.sender && a.at === b.at && a.position === b.position, precedes: before };
  }

  /** Folds rows, in any order; a row folded again changes nothing. */
  add(rows: readonly AuthorshipLogRow[]): void {
    for (const row of rows) this.fold(row);
  }

  /** The sender that owns `client`, or -1 when no row carried any of its structs. */
  ownerOf(client: number): number {
    const record = this.clients.get(client);
    if (record === undefined) return -1;
    return record.owner >= 0 ? record.owner : record.firstSender;
  }

  /** Stored time (ms) of the earliest row that carried struct `client:clock`, or null. */
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
      for (const run of record.structs.all()) chars += this.charsOf(run, run.start, run.end);
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
        structs.forEachIn(deletion.start, deletion.end, (from, to, run) => (chars += this.charsOf(run, from, to)));
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
    return runs * RUN_BYTES + this.senders.length * SENDER_BYTES;
  }

  /** Characters of [from, to) of a run: text runs by the clock, a counted string value whole. */
  private charsOf(run: ClockRun<StructInfo>, from: number, to: number): number {
    const value = run.value;
    if (value.chars === TEXT_RUN) return to - from;
    if (value.valueChars === 0) return 0;
    const key = this.keyOf(run);
    return key !== null && this.countedKeys.has(key) ? value.valueChars : 0;
  }

  /**
   * The map key of a value: its own, or found by following overwrites back to the first write.
   * A key found is kept on the way; an unknown one (a value whose rows are gone) is not, as a
   * later read may bring it.
   */
  private keyOf(run: ClockRun<StructInfo>): string | null {
    const chain: StructInfo[] = [];
    let current: StructInfo | undefined = run.value;
    while (current !== undefined && current.key === undefined && chain.length < MAX_KEY_CHAIN) {
      chain.push(current);
      const origin: StructId | null = current.origin;
      if (origin === null) {
        current.key = null;
        break;
      }
      current = this.clients.get(origin.client)?.structs.at(origin.clock)?.value;
    }
    const key = current?.key;
    if (key === undefined) return null;
    for (const info of chain) info.key = key;
    return key;
  }

  private fold(row: AuthorshipLogRow): void {
    let decoded: { structs: (Y.Item | Y.GC | Y.Skip)[]; ds: { clients: Map<number, { clock: number; len: number }[]> } };
    try {
      decoded = Y.decodeUpdate(row.update);
    } catch {
      this.unreadableRows++;
      return;
    }
    const key: RowKey = { at: row.createdAt.getTime(), position: row.position };
    const sender = this.senderOf(row, key.at, row.lastAt.getTime());
    const { structs, ds } = decoded;
    let onlyClient: number | null = null;
    let pure = true;
    for (const struct of structs) {
      if (struct instanceof Y.Skip) continue;
      const client = struct.id.client;
      if (onlyClient === null) onlyClient = client;
      else if (client !== onlyClient) pure = false;
      const record = this.clientRecord(client, sender, key);
      if (struct instanceof Y.Item) this.fillStruct(record.structs, struct, key);
    }
    if (pure && onlyClient !== null) {
      const record = this.clients.get(onlyClient)!;
      if (record.owner < 0 || before(key, record.ownerRow)) {
        record.owner = sender;
        record.ownerRow = key;
      }
    }
    for (const [client, ranges] of ds.clients) {
      let runs = this.deletions.get(client);
      if (runs === undefined) {
        runs = new ClockRuns(this.deletionRules);
        this.deletions.set(client, runs);
      }
      const deletion: Deletion = { sender, at: key.at, position: key.position };
      for (const { clock, len } of ranges) runs.fill(clock, clock + len, deletion);
    }
  }

  /** Records what the item holds; deleted content (ContentDeleted) says nothing and is left for a row that still has it. */
  private fillStruct(runs: ClockRuns<StructInfo>, item: Y.Item, row: RowKey): void {
    const { content } = item;
    const clock = item.id.clock;
    if (content instanceof Y.ContentDeleted) return;
    if (content instanceof Y.ContentString) {
      runs.fill(clock, clock + item.length, { ...row, chars: TEXT_RUN, valueChars: 0, key: null, origin: null });
      return;
    }
    const tracksKeys = this.countedKeys.size > 0;
    if (tracksKeys && item.length === 1) {
      // Possibly a map value: what names its key is kept (one run per value).
      const value: unknown = content instanceof Y.ContentAny ? content.getContent()[0] : undefined;
      runs.fill(clock, clock + 1, {
        ...row,
        chars: 0,
        valueChars: typeof value === 'string' ? value.length : 0,
        key: item.parentSub ?? (item.origin === null ? null : undefined),
        origin: item.origin === null ? null : { client: item.origin.client, clock: item.origin.clock },
      });
      return;
    }
    // List content (array values, elements, embeds, formatting): no characters, no key.
    runs.fill(clock, clock + item.length, { ...row, chars: 0, valueChars: 0, key: null, origin: null });
  }

  private clientRecord(client: number, sender: number, row: RowKey): ClientRecord {
    let record = this.clients.get(client);
    if (record === undefined) {
      record = { owner: -1, ownerRow: row, firstSender: sender, firstRow: row, structs: new ClockRuns(this.structRules) };
      this.clients.set(client, record);
    } else if (before(row, record.firstRow)) {
      record.firstSender = sender;
      record.firstRow = row;
    }
    return record;
  }

  /** The row's sender, its first and last times widened to the row's. */
  private senderOf(row: AuthorshipLogRow, firstAt: number, lastAt: number): number {
    const byServer = row.operationType === SERVER_CLEANUP;
    const key = `${row.userId ?? ''}\u0000${row.sessionId}\u0000${byServer ? 1 : 0}`;
    let index = this.senderIndex.get(key);
    if (index === undefined) {
      index = this.senders.length;
      this.senders.push({ userId: row.userId, sessionId: row.sessionId, byServer, firstAt, lastAt });
      this.senderIndex.set(key, index);
      return index;
    }
    const sender = this.senders[index]!;
    if (firstAt < sender.firstAt) sender.firstAt = firstAt;
    if (lastAt > sender.lastAt) sender.lastAt = lastAt;
    return index;
  }
}
