/**
 * TokenBucket: the one token bucket (stateless messages, awareness queries, denial audit
 * rows, and the two per-connection buckets of ConnectionRate), driven by a manual clock.
 */
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../server/protocol/token-bucket.js';
import { ManualClock } from '../helpers/rooms.js';

describe('TokenBucket', () => {
  it('starts full, takes one token at a time and refuses once they are gone', () => {
    const bucket = new TokenBucket(2, 3, new ManualClock());
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
  });

  it('refills at its rate up to the burst, never beyond', () => {
    const time = new ManualClock();
    const bucket = new TokenBucket(2, 3, time);
    while (bucket.take());
    time.advance(500); // one token
    expect([bucket.take(), bucket.take()]).toEqual([true, false]);
    time.advance(60_000); // far more than the burst
    expect(bucket.available(time.now())).toBe(3);
  });

  it('takes several tokens at once, or none when fewer are left', () => {
    const bucket = new TokenBucket(1, 5, new ManualClock());
    expect(bucket.take(4)).toBe(true);
    expect(bucket.take(2)).toBe(false);
    expect(bucket.take(1)).toBe(true);
  });

  it('time that goes backwards adds and removes nothing', () => {
    const time = new ManualClock();
    const bucket = new TokenBucket(1, 2, time);
    bucket.take();
    time.advance(-5_000);
    expect(bucket.available(time.now())).toBe(1);
    time.advance(1_000); // counted from the reading before, not from the earlier, later time
    expect(bucket.available(time.now())).toBe(2);
  });

  it('spend may leave a debt that refills pay back first', () => {
    const time = new ManualClock();
    const bucket = new TokenBucket(1, 2, time);
    bucket.spend(4);
    expect(bucket.available(time.now())).toBe(-2);
    time.advance(3_000);
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
  });
});
