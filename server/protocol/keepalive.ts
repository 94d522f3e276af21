import type { Transport } from '../transport/transport.js';
import type { Clock } from '../clock.js';
import { PING_FRAME } from '../codec/frames.js';
import { closeFor, type ProtocolSocketHolder } from './close-codes.js';
import type { SessionHolder } from './live-sessions.js';

/** A connection the keepalive watches (it is also the server's list of live connections). */
export interface Watched extends SessionHolder, ProtocolSocketHolder {
  /** Keepalive tick of the last frame received; written on every message. */
  lastSeen: number;
  /** Which ping group the connection belongs to (set by `watch`). */
  keepaliveGroup: number;
}

/** Ping groups: every connection is pinged once per round, one group per tick. */
const GROUPS = 16;
/** One ping topic per group; v4 providers (which answer pings) subscribe to theirs. */
const PING_TOPICS = Array.from({ length: GROUPS }, (_, i) => `ping:${i}`);

/**
 * Keeps healthy connections alive and closes dead ones, with one timer for the whole
 * server. A round (at most 15 s: half the provider's 30 s patience) is split into
 * ticks; each tick pings one group of v4 providers through a single topic publish
 * and closes, for 'idle' (4408 on Hocuspocus, 4508 on y-websocket: close-codes.ts), the
 * connections of that group from which nothing arrived within the idle timeout.
 * Spreading the groups over the round avoids a burst of thousands of pings and pongs
 * at once, which would stall both ends for tens of milliseconds. Per message the cost
 * is one integer store (`lastSeen = tick`).
 */
export class Keepalive {
  tick = 0;
  private readonly groups = Array.from({ length: GROUPS }, () => new Set<Watched>());
  private readonly cancel: () => void;
  private readonly idleTicks: number;
  /** Milliseconds per tick. */
  readonly tickMs: number;
  private nextGroup = 0;

  constructor(
    private readonly transport: Pick<Transport, 'publish'>,
    idleTimeoutMs: number,
    clock: Clock,
  ) {
    const roundMs = Math.min(15_000, Math.max(GROUPS * 10, Math.floor(idleTimeoutMs / 4)));
    const tickMs = roundMs / GROUPS;
    this.tickMs = tickMs;
    this.idleTicks = Math.ceil(idleTimeoutMs / tickMs);
    this.cancel = clock.every(tickMs, () => this.sweep());
  }

  /**
   * A coarse clock (milliseconds, advancing once per tick) that costs a field read: the
   * per-message rate limit reads it on every frame, where performance.now() would cost
   * several times more and allocate (`node dist/bench/connection-rate-bench.js`).
   */
  now(): number {
    return this.tick * this.tickMs;
  }

  watch(connection: Watched): void {
    connection.lastSeen = this.tick;
    connection.keepaliveGroup = this.nextGroup;
    this.nextGroup = (this.nextGroup + 1) % GROUPS;
    this.groups[connection.keepaliveGroup]!.add(connection);
  }

  unwatch(connection: Watched): void {
    this.groups[connection.keepaliveGroup]?.delete(connection);
  }

  /** The topic a v4 provider subscribes to in order to receive pings. */
  pingTopic(connection: Watched): string {
    return PING_TOPICS[connection.keepaliveGroup]!;
  }

  /** Every watched connection, e.g. to close them all at shutdown. */
  *connections(): IterableIterator<Watched> {
    for (const group of this.groups) yield* group;
  }

  stop(): void {
    this.cancel();
  }

  /** One tick: ping the next group, close its idle connections (the clock calls this). */
  sweep(): void {
    this.tick++;
    const index = this.tick % GROUPS;
    this.transport.publish(PING_TOPICS[index]!, PING_FRAME);
    for (const connection of this.groups[index]!) {
      // More than idleTicks ticks since its last frame: at least the idle timeout.
      if (this.tick - connection.lastSeen > this.idleTicks) {
        closeFor(connection, 'idle');
      }
    }
  }
}
