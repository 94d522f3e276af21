import type { ServerMetrics } from '../../metrics.js';
import type { Durability, DurabilityWaiter } from '../../rooms/durability.js';
import type { TransportSocket } from '../../transport/transport.js';
import type { DocumentSession } from '../document-session.js';

interface PendingAck {
  readonly session: DocumentSession;
  readonly durability: Durability;
  /** The room's `appended` when the message was handled: everything up to it must settle first. */
  readonly seq: number;
  /** The message's own update is `seq` (it was stored): if the database refused it, the ack says so. */
  readonly stored: boolean;
  readonly applied: boolean;
  readonly since: number;
}

/** An update of `session` the database refused for good, numbered `seq` in its room. */
interface Refusal {
  readonly session: DocumentSession;
  readonly seq: number;
}

/**
 * SyncStatus acknowledgements for one socket, sent in the order the messages arrived.
 * An ack waits until every update applied to its document before it (from any client)
 * has settled, so "saved" on the client means saved in the database. An update the
 * database refused for good is answered with SyncStatus 0; the acks behind it carry on.
 *
 * A refusal comes straight here (Durability → the session, its origin → the connection →
 * `refused`) and waits for its ack: it settles the update, so it always arrives before the
 * ack can go out, and before the ack is even queued when storage refuses at once.
 */
export class AckQueue implements DurabilityWaiter {
  private readonly pending: PendingAck[] = [];
  /**
   * Refusals whose ack has not gone out yet (rare). Each is taken by its ack, or forgotten
   * with its session or the socket: at most one per ack still to send.
   */
  private refusals: Refusal[] | null = null;

  constructor(
    private readonly socket: TransportSocket,
    private readonly metrics: ServerMetrics,
  ) {}

  /**
   * Queues (or, when nothing is outstanding, sends at once) the ack for one message.
   * `stored`: the message's update was handed to storage (apply returned 'changed').
   */
  push(session: DocumentSession, applied: boolean, stored: boolean): void {
    const durability = session.room!.durability;
    const seq = durability.appended;
    if (this.pending.length === 0 && durability.settled >= seq) {
      this.send(session, seq, applied, stored);
      this.metrics.ackSeconds.observe(0);
      return;
    }
    this.pending.push({ session, durability, seq, stored, applied, since: performance.now() });
    if (this.pending.length === 1) durability.wait(this);
  }

  /** The database refused `session`'s update numbered `seq`: its ack becomes SyncStatus 0. */
  refused(session: DocumentSession, seq: number): void {
    (this.refusals ??= []).push({ session, seq });
  }

  /** The session closed: its acks are not sent, so its refusals are not needed. */
  forget(session: DocumentSession): void {
    const refusals = this.refusals;
    if (refusals === null) return;
    const kept = refusals.filter((refusal) => refusal.session !== session);
    this.refusals = kept.length > 0 ? kept : null;
  }

  durabilityAdvanced(): void {
    // Called from a commit callback, outside any socket event: cork so all the acks
    // this commit releases leave in one write instead of one syscall each.
    this.socket.cork(() => this.drain());
  }

  private drain(): void {
    const pending = this.pending;
    const now = performance.now();
    while (pending.length > 0) {
      const head = pending[0]!;
      if (head.durability.settled < head.seq) {
        head.durability.wait(this);
        return;
      }
      pending.shift();
      // A session that is reopening (eviction) still gets its acks: its updates were stored.
      if (head.session.state !== 'closed') {
        this.send(head.session, head.seq, head.applied, head.stored);
        this.metrics.ackSeconds.observe((now - head.since) / 1000);
      }
    }
  }

  /** Forget acks of a socket that is gone. */
  clear(): void {
    this.pending.length = 0;
    this.refusals = null;
  }

  private send(session: DocumentSession, seq: number, applied: boolean, stored: boolean): void {
    session.send(session.syncStatus(applied && !(stored && this.takeRefusal(session, seq))));
  }

  private takeRefusal(session: DocumentSession, seq: number): boolean {
    const refusals = this.refusals;
    if (refusals === null) return false;
    const index = refusals.findIndex((refusal) => refusal.session === session && refusal.seq === seq);
    if (index === -1) return false;
    refusals.splice(index, 1);
    if (refusals.length === 0) this.refusals = null;
    return true;
  }
}
