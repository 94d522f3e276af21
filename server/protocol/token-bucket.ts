import type { Clock } from '../clock.js';

/**
 * A token bucket: `ratePerSecond` tokens a second, at most `burst` saved up. It refills
 * lazily, from the time elapsed since it was last consulted: no timer, no allocation, a few
 * arithmetic operations per use. Time that goes backwards adds nothing.
 */
export class TokenBucket {
  // `declare`: no class-field emit, whose `undefined` first value would make V8 keep these
  // fields tagged and allocate a fresh HeapNumber on every store. Assigned a number first,
  // in the constructor, they are double fields written in place.
  declare private tokens: number;
  declare private updatedAt: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    private readonly clock: Pick<Clock, 'now'>,
  ) {
    this.tokens = burst;
    this.updatedAt = clock.now();
  }

  /** Takes `amount` tokens (default one); false, taking none, when fewer are left. */
  take(amount = 1): boolean {
    if (this.available(this.clock.now()) < amount) return false;
    this.tokens -= amount;
    return true;
  }

  /**
   * The tokens there are at `now` (a time read from this bucket's clock), after adding what
   * accrued since the bucket was last consulted. For callers that check several buckets
   * against one reading of the clock before spending from any (`spend`).
   */
  available(now: number): number {
    const seconds = (now - this.updatedAt) * 0.001;
    this.updatedAt = now;
    if (seconds > 0) this.tokens = Math.min(this.burst, this.tokens + seconds * this.ratePerSecond);
    return this.tokens;
  }

  /** Removes `amount` tokens, possibly into debt, which later refills pay back first. */
  spend(amount: number): void {
    this.tokens -= amount;
  }
}
