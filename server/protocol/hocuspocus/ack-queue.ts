import type { DurabilityWaiter, Room } from '../../rooms/room.js';
import { stats, type ServerMetrics } from '../../metrics.js';
import type { TransportSocket } from '../../transport/transport.js';
import type { DocumentSession } from './document-session.js';

interface PendingAck {
  readonly session: DocumentSession;
  readonly room: Room;
  /** The room's appliedSeq when the message was handled: everything up to it must be durable. */
  readonly seq: number;
  readonly applied: boolean;
  readonly since: number;
}

/**
 * SyncStatus acknowledgements for one socket, sent in the order the messages arrived.
 * An ack waits until every update applied to its document before it (from any client)
 * is durable, so "saved" on the client means saved in the database.
 */
export class AckQueue implements DurabilityWaiter {
  private readonly pending: PendingAck[] = [];

  constructor(
    private readonly socket: TransportSocket,
    private readonly metrics: ServerMetrics,
  ) {}

  /** Queues (or, when nothing is outstanding, sends at once) the ack for one message. */
  push(session: DocumentSession, applied: boolean): void {
    const room = session.room!;
    const seq = room.appliedSeq;
    if (this.pending.length === 0 && room.durableSeq >= seq) {
      send(session, applied);
      this.metrics.ackSeconds.observe(0);
      return;
    }
    this.pending.push({ session, room, seq, applied, since: performance.now() });
    if (this.pending.length === 1) room.waitForDurability(this);
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
      if (head.room.durableSeq < head.seq) {
        head.room.waitForDurability(this);
        return;
      }
      pending.shift();
      if (head.session.state === 'open') {
        send(head.session, head.applied);
        this.metrics.ackSeconds.observe((now - head.since) / 1000);
      }
    }
  }

  /** Forget acks of a socket that is gone. */
  clear(): void {
    this.pending.length = 0;
  }
}

function send(session: DocumentSession, applied: boolean): void {
  const frame = session.syncStatus(applied);
  session.socket.send(frame);
  stats.messagesOut++;
  stats.bytesOut += frame.length;
}
