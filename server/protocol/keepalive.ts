import { CloseCode, type Transport, type TransportSocket } from '../transport/transport.js';
import { PING_FRAME } from './frames.js';

/** A connection the keepalive watches. */
export interface Watched {
  readonly socket: TransportSocket;
  /** Keepalive tick of the last frame received; written on every message. */
  lastSeen: number;
}

/** Topic that every provider speaking protocol v4 (which answers pings) subscribes to. */
export const PING_TOPIC = 'ping';

/**
 * Keeps healthy connections alive and closes dead ones, with one timer for the whole
 * server: each tick pings v4 providers through a single topic publish (the
 * provider drops a socket after 30 s of silence) and closes, with 4408, connections
 * from which no frame arrived within the idle timeout. Per message the cost is one
 * integer store (`lastSeen = tick`), not a timer.
 */
export class Keepalive {
  tick = 0;
  private readonly watched = new Set<Watched>();
  private readonly timer: NodeJS.Timeout;
  private readonly idleTicks: number;

  constructor(
    private readonly transport: Pick<Transport, 'publish'>,
    idleTimeoutMs: number,
  ) {
    // Ping at most every 15 s (half the provider's 30 s patience), and often enough to
    // resolve the idle timeout to a quarter of its length.
    const intervalMs = Math.min(15_000, Math.max(50, Math.floor(idleTimeoutMs / 4)));
    this.idleTicks = Math.ceil(idleTimeoutMs / intervalMs);
    this.timer = setInterval(() => this.sweep(), intervalMs);
    this.timer.unref();
  }

  get size(): number {
    return this.watched.size;
  }

  watch(connection: Watched): void {
    connection.lastSeen = this.tick;
    this.watched.add(connection);
  }

  unwatch(connection: Watched): void {
    this.watched.delete(connection);
  }

  /** Every watched connection, e.g. to close them all at shutdown. */
  connections(): IterableIterator<Watched> {
    return this.watched.values();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sweep(): void {
    this.tick++;
    this.transport.publish(PING_TOPIC, PING_FRAME);
    for (const connection of this.watched) {
      // More than idleTicks full intervals since its last frame: at least the idle timeout.
      if (this.tick - connection.lastSeen > this.idleTicks) {
        connection.socket.close(CloseCode.ConnectionTimeout, 'Connection Timeout');
      }
    }
  }
}
