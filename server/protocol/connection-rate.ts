import type { Clock } from '../clock.js';
import { TokenBucket } from './token-bucket.js';

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
 * The two buckets of one socket, refilled from one reading of the clock per frame. The
 * limits object is shared by every connection.
 */
export class ConnectionRate {
  private readonly messages: TokenBucket;
  private readonly bytes: TokenBucket;

  constructor(
    limits: ConnectionRateLimits = DEFAULT_CONNECTION_RATE_LIMITS,
    private readonly clock: Pick<Clock, 'now'> = monotonicClock,
  ) {
    this.messages = new TokenBucket(limits.messagesPerSecond, limits.messageBurst, clock);
    this.bytes = new TokenBucket(limits.bytesPerSecond, limits.byteBurst, clock);
  }

  /**
   * Takes one message and `bytes` bytes; false when the socket is over a limit. Once it has
   * answered false it answers false for good: the socket is being closed, and a frame that
   * follows a refused one must not be applied without it.
   */
  admit(bytes: number): boolean {
    const now = this.clock.now();
    const byteBurst = this.bytes.burst;
    // A frame larger than the whole byte burst (MAX_MESSAGE_BYTES may exceed it) is taken
    // on a full bucket and leaves it in debt, so the long-run byte rate still holds.
    if (this.messages.available(now) < 1 || this.bytes.available(now) < (bytes < byteBurst ? bytes : byteBurst)) {
      // A debt no refill pays back: the refusal latches.
      this.messages.spend(Infinity);
      return false;
    }
    this.messages.spend(1);
    this.bytes.spend(bytes);
    return true;
  }
}
