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

/**
 * SyncStatus acknowledgements for one socket, sent in the order the messages arrived.
 * An ack waits until every update applied to its document before it (from any client)
 * has settled, so "saved" on the client means saved in the database. An update the
 * database refused for good is answered with SyncStatus 0; the acks behind it carry on.
 */
export class AckQueue implements DurabilityWaiter {
  private readonly pending: PendingAck[] = [];

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
      send(session, applied && !(stored && wasRefused(session, seq)));
      this.metrics.ackSeconds.observe(0);
      return;
    }
    this.pending.push({ session, durability, seq, stored, applied, since: performance.now() });
    if (this.pending.length === 1) durability.wait(this);
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
        send(head.session, head.applied && !(head.stored && wasRefused(head.session, head.seq)));
        this.metrics.ackSeconds.observe((now - head.since) / 1000);
      }
    }
  }

  /** Forget acks of a socket that is gone. */
  clear(): void {
    this.pending.length = 0;
  }
}

function wasRefused(session: DocumentSession, seq: number): boolean {
  const refused = session.refusedSeqs;
  if (refused === null || !refused.delete(seq)) return false;
  if (refused.size === 0) session.refusedSeqs = null;
  return true;
}

function send(session: DocumentSession, applied: boolean): void {
  session.send(session.syncStatus(applied));
}
