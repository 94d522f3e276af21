/**
 * ConnectionRate: the per-socket message and byte buckets, driven by a manual clock.
 */
import { describe, expect, it } from 'vitest';
import {
  ConnectionRate,
  DEFAULT_CONNECTION_RATE_LIMITS,
  MAX_BYTES_BURST,
  MAX_BYTES_PER_SECOND,
  MAX_MESSAGES_BURST,
  MAX_MESSAGES_PER_SECOND,
  type ConnectionRateLimits,
} from '../../server/protocol/connection-rate.js';
import { closeCode, closeReason } from '../../server/protocol/close-codes.js';
import { ManualClock } from '../helpers/rooms.js';

const small: ConnectionRateLimits = { messagesPerSecond: 10, messageBurst: 20, bytesPerSecond: 100, byteBurst: 400 };

/** How many `bytes`-sized frames are admitted in a row (at most `max`) before the first refusal. */
function admittedInARow(rate: ConnectionRate, bytes: number, max = 1_000_000): number {
  let n = 0;
  while (n < max && rate.admit(bytes)) n++;
  return n;
}

describe('ConnectionRate', () => {
  it('has the documented defaults and close code', () => {
    expect(DEFAULT_CONNECTION_RATE_LIMITS).toEqual({
      messagesPerSecond: MAX_MESSAGES_PER_SECOND,
      messageBurst: MAX_MESSAGES_BURST,
      bytesPerSecond: MAX_BYTES_PER_SECOND,
      byteBurst: MAX_BYTES_BURST,
    });
    expect([MAX_MESSAGES_PER_SECOND, MAX_MESSAGES_BURST, MAX_BYTES_PER_SECOND, MAX_BYTES_BURST]).toEqual([
      500,
      1000,
      4 * 1024 * 1024,
      16 * 1024 * 1024,
    ]);
    // Hocuspocus keeps 4429; y-websocket gets 4529, which its 3.x clients retry (they stop on 44xx).
    expect(closeCode('hocuspocus', 'rate-limited')).toBe(4429);
    expect(closeCode('y-websocket', 'rate-limited')).toBe(4529);
    expect(closeReason('rate-limited')).toBe('Too Many Requests');
  });

  it('admits a full burst of messages at once and refuses the next', () => {
    const rate = new ConnectionRate(DEFAULT_CONNECTION_RATE_LIMITS, new ManualClock());
    expect(admittedInARow(rate, 10)).toBe(MAX_MESSAGES_BURST);
  });

  it('admits a full burst of bytes at once (one 16 MiB frame) and refuses the next byte', () => {
    const rate = new ConnectionRate(DEFAULT_CONNECTION_RATE_LIMITS, new ManualClock());
    expect(rate.admit(MAX_BYTES_BURST)).toBe(true);
    expect(rate.admit(1)).toBe(false);
  });

  it('refills at the configured rate, lazily from the elapsed time', () => {
    const time = new ManualClock();
    const rate = new ConnectionRate(small, time);
    expect(admittedInARow(rate, 1, 20)).toBe(20);
    time.advance(1_000);
    // One second buys 10 messages: the 11th is refused.
    expect(admittedInARow(rate, 1, 10)).toBe(10);
    expect(rate.admit(1)).toBe(false);
  });

  it('never saves up more than the burst, however long the socket was quiet', () => {
    const time = new ManualClock();
    const rate = new ConnectionRate(small, time);
    time.advance(3_600_000);
    expect(admittedInARow(rate, 1)).toBe(20);
  });

  it('lets a client at exactly the steady rate go on for ever', () => {
    const time = new ManualClock();
    const rate = new ConnectionRate(small, time);
    // 10 messages a second of 10 bytes each (100 B/s): both buckets exactly at their rate.
    for (let i = 0; i < 10_000; i++) {
      expect(rate.admit(10)).toBe(true);
      time.advance(100);
    }
  });

  it('refuses a client above the byte rate even when its message count is fine', () => {
    const time = new ManualClock();
    const rate = new ConnectionRate(small, time);
    let admitted = 0;
    // 50 B every 100 ms = 500 B/s against 100 B/s with a 400 B burst.
    for (let i = 0; i < 100 && rate.admit(50); i++) {
      admitted++;
      time.advance(100);
    }
    // Each frame nets 40 B off the 400 B burst: before the 10th only 40 B are left.
    expect(admitted).toBe(9);
  });

  it('stays refused once it has refused: a frame after a dropped one is never applied', () => {
    const time = new ManualClock();
    const rate = new ConnectionRate(small, time);
    expect(rate.admit(401)).toBe(true); // a full bucket takes even an oversized frame (see below)
    expect(rate.admit(1)).toBe(false);
    time.advance(3_600_000);
    expect(rate.admit(1)).toBe(false);
  });

  it('takes a frame larger than the whole byte burst on a full bucket and charges all of it', () => {
    const time = new ManualClock();
    const rate = new ConnectionRate(small, time);
    expect(rate.admit(1_000)).toBe(true);
    // 600 B of debt at 100 B/s: one more byte only after 6.01 s.
    time.advance(6_010);
    expect(rate.admit(1)).toBe(true);
    const other = new ConnectionRate(small, time);
    expect(other.admit(1_000)).toBe(true);
    time.advance(5_990);
    expect(other.admit(1)).toBe(false);
  });

  it('neither refills nor drains when an injected wall clock steps backwards, and refills again from there', () => {
    const time = new ManualClock();
    const rate = new ConnectionRate(small, time);
    expect(admittedInARow(rate, 1, 15)).toBe(15);
    time.advance(-60_000);
    // The 5 tokens left are still there...
    expect(admittedInARow(rate, 1, 5)).toBe(5);
    // ... and time is counted from the stepped-back reading: 500 ms buy 5 messages.
    time.advance(500);
    expect(admittedInARow(rate, 1, 5)).toBe(5);
    expect(rate.admit(1)).toBe(false);
  });

  it('uses the real monotonic clock by default', async () => {
    const rate = new ConnectionRate({ messagesPerSecond: 1_000, messageBurst: 1, bytesPerSecond: 1e9, byteBurst: 1e9 });
    expect(rate.admit(1)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(rate.admit(1)).toBe(true);
  });
});
