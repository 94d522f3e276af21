import type { Logger } from 'pino';
import type { AppendMeta, CommitListener, DocumentStorage } from '../persistence/storage.js';
import type { Durability } from '../rooms/durability.js';

/**
 * Why this exists: an instance relays an edit as soon as it applies it, before its own
 * commit. If it dies in between, the edit lives on only in the other instances' memory
 * (and their clients'): they hold it, advertise it in their state vectors — so no client
 * uploads it again — and later edits build on it, yet no one stores it. So every
 * instance announces, about once a second and with a short expiry, how far the updates
 * it published are stored (PublishedUpdates, Bus.announce); every instance keeps what
 * others relayed until the sender's announcement covers it, and stores itself what a
 * sender whose announcement lapsed left unconfirmed (UnconfirmedUpdates). A duplicate
 * in the log is harmless: Yjs applies an update idempotently.
 */

/** The sender's side: counts the updates it published, and how many of them are durable. */
export class PublishedUpdates {
  private count = 0;
  /** Published, not yet known to be settled, in publish order (a queue with a moving head). */
  private readonly pending: Array<{ readonly durability: Durability; readonly roomSeq: number; readonly seq: number }> = [];
  private head = 0;

  /** How many updates this instance published so far. */
  get published(): number {
    return this.count;
  }

  /**
   * An update the room just appended to storage (its number there is
   * `durability.appended`) is being published; returns its number among published ones.
   */
  record(durability: Durability): number {
    this.count++;
    this.pending.push({ durability, roomSeq: durability.appended, seq: this.count });
    return this.count;
  }

  /** Every published update numbered up to the result is durable (or was refused: then its sender was told). */
  durableThrough(): number {
    const pending = this.pending;
    while (this.head < pending.length && pending[this.head]!.durability.settled >= pending[this.head]!.roomSeq) this.head++;
    const through = this.head < pending.length ? pending[this.head]!.seq - 1 : this.count;
    // Bounded like the storage queue the entries wait on; drop the settled prefix now and then.
    if (this.head > 1024 && this.head * 2 > pending.length) {
      pending.splice(0, this.head);
      this.head = 0;
    }
    return through;
  }
}

/** The room a relayed update was applied to: its id, and its count of unconfirmed updates. */
export interface RetainingRoom {
  readonly id: string;
  readonly durability: Pick<Durability, 'unconfirmedRemote'>;
}

interface Retained {
  readonly seq: number;
  readonly room: RetainingRoom;
  readonly update: Uint8Array;
  /** When it was received. */
  readonly at: number;
}

/** Updates kept per sender at most; beyond it the oldest half is stored here at once. */
const MAX_RETAINED_PER_SENDER = 10_000;

/** The receivers' side: what others relayed and have not yet said is stored. */
export class UnconfirmedUpdates {
  private readonly senders = new Map<string, Retained[]>();
  private readonly listener: CommitListener;

  constructor(
    private readonly storage: Pick<DocumentStorage, 'append'>,
    private readonly logger: Logger,
  ) {
    this.listener = {
      committed: () => {},
      refused: (meta, error) =>
        logger.warn({ err: error, sessionId: meta.sessionId }, 'relay: a recovered update was refused by the database'),
    };
  }

  /** `update` of `documentId`, relayed by `sender`, is durable once the sender announces `seq` (or more). */
  retain(sender: string, seq: number, room: RetainingRoom, update: Uint8Array, now: number): void {
    let entries = this.senders.get(sender);
    if (!entries) this.senders.set(sender, (entries = []));
    entries.push({ seq, room, update, at: now });
    room.durability.unconfirmedRemote++;
    if (entries.length > MAX_RETAINED_PER_SENDER) {
      this.logger.warn(
        { sender, retained: entries.length },
        'relay: too many unconfirmed updates from one instance; storing the oldest here',
      );
      this.store(sender, entries.splice(0, entries.length >> 1));
    }
  }

  /** The senders with something unconfirmed (whose announcements to look up). */
  waitingOn(): IterableIterator<string> {
    return this.senders.keys();
  }

  /**
   * What `sender` announced: `through` — everything it published up to there is stored,
   * so forget it; null — its announcement lapsed (it died, or lost Redis): store here
   * what it left unconfirmed for `silentMs` or longer.
   */
  announced(sender: string, through: number | null, now: number, silentMs: number): void {
    const entries = this.senders.get(sender);
    if (!entries) return;
    let kept: Retained[];
    if (through !== null) {
      kept = entries.filter((entry) => entry.seq > through);
      for (const entry of entries) if (entry.seq <= through) entry.room.durability.unconfirmedRemote--;
    } else {
      const orphaned = entries.filter((entry) => now - entry.at >= silentMs);
      kept = entries.filter((entry) => now - entry.at < silentMs);
      if (orphaned.length > 0) {
        this.logger.warn(
          { sender, updates: orphaned.length },
          'relay: an instance fell silent with updates it had not announced as stored; storing them here',
        );
        this.store(sender, orphaned);
      }
    }
    if (kept.length > 0) this.senders.set(sender, kept);
    else this.senders.delete(sender);
  }

  private store(sender: string, entries: readonly Retained[]): void {
    const meta: AppendMeta = { userId: null, sessionId: `recovered:${sender}` };
    for (const entry of entries) {
      // Handed to storage here: from now on this instance's own acks wait on it like on any append.
      entry.room.durability.unconfirmedRemote--;
      this.storage.append(entry.room.id, entry.update, meta, this.listener);
    }
  }
}
