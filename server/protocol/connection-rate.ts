import type { Clock } from '../clock.js';

/**
 * Per-connection rate limit on incoming frames, checked once per frame before it is decoded:
 * two token buckets, messages per second and bytes per second, each with a burst. A socket
 * over either limit is closed for 'rate-limited' (close-codes.ts: 4429 on Hocuspocus, 4529 on
 * y-websocket, which its 3.x clients retry); the refused frame is never applied, so no edit
 * that was acknowledged is lost: the provider reconnects, resyncs and resends what the
 * server has not acknowledged.
 */

/** Steady frames per second one socket may send. */
export const MAX_MESSAGES_PER_SECOND = 500;
/** Frames one socket may send at once after a quiet spell (a reconnect's resync of many documents). */
export const MAX_MESSAGES_BURST = 1_000;
/** Steady bytes per second one socket may send (4 MiB). */
export const MAX_BYTES_PER_SECOND = 4 * 1024 * 1024;
/** Bytes one socket may send at once after a quiet spell (16 MiB). */
export const MAX_BYTES_BURST = 16 * 1024 * 1024;

export interface ConnectionRateLimits {
  readonly messagesPerSecond: number;
  readonly messageBurst: number;
  readonly bytesPerSecond: number;
  readonly byteBurst: number;
}

export const DEFAULT_CONNECTION_RATE_LIMITS: ConnectionRateLimits = Object.freeze({
  messagesPerSecond: MAX_MESSAGES_PER_SECOND,
  messageBurst: MAX_MESSAGES_BURST,
  bytesPerSecond: MAX_BYTES_PER_SECOND,
  byteBurst: MAX_BYTES_BURST,
});

/**
 * Milliseconds from a monotonic source: the wall clock (Clock.now) can step backwards or
 * forwards under NTP, which would starve or flood the buckets.
 */
export const monotonicClock: Pick<Clock, 'now'> = { now: () => performance.now() };

/**
 * The two buckets of one socket. They refill lazily: each `admit` reads the clock once and
 * adds what accrued since the previous frame, so there is no timer and no allocation, only
 * a few arithmetic operations per frame. The limits object is shared by every connection.
 */
export class ConnectionRate {
  // `declare`: no class-field emit, whose `undefined` first value would make V8 keep these
  // fields tagged and allocate a fresh HeapNumber on every store (measured: one per admit).
  // Assigned a number first, in the constructor, they are double fields written in place.
  private declare messageTokens: number;
  private declare byteTokens: number;
  private declare updatedAt: number;

  constructor(
    private readonly limits: ConnectionRateLimits = DEFAULT_CONNECTION_RATE_LIMITS,
    private readonly clock: Pick<Clock, 'now'> = monotonicClock,
  ) {
    this.messageTokens = limits.messageBurst;
    this.byteTokens = limits.byteBurst;
    this.updatedAt = clock.now();
  }

  /**
   * Takes one message and `bytes` bytes; false when the socket is over a limit. Once it has
   * answered false it answers false for good: the socket is being closed, and a frame that
   * follows a refused one must not be applied without it.
   */
  admit(bytes: number): boolean {
    const limits = this.limits;
    const now = this.clock.now();
    const seconds = (now - this.updatedAt) * 0.001;
    this.updatedAt = now;
    let messages = this.messageTokens;
    let budget = this.byteTokens;
    if (seconds > 0) {
      messages = Math.min(limits.messageBurst, messages + seconds * limits.messagesPerSecond);
      budget = Math.min(limits.byteBurst, budget + seconds * limits.bytesPerSecond);
    }
    // A frame larger than the whole byte burst (MAX_MESSAGE_BYTES may exceed it) is taken
    // on a full bucket and leaves it in debt, so the long-run byte rate still holds.
    if (messages < 1 || budget < (bytes < limits.byteBurst ? bytes : limits.byteBurst)) {
      // -Infinity stays -Infinity whatever is added to it: the refusal latches.
      this.messageTokens = -Infinity;
      return false;
    }
    this.messageTokens = messages - 1;
    this.byteTokens = budget - bytes;
    return true;
  }
}
