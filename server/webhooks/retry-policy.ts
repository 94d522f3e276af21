/**
 * When a failed delivery is tried again: after `firstMs`, then twice as long after each further
 * failure, at most `maxMs` apart, until `windowMs` after its first attempt; then it is given up.
 */
export interface RetryPolicy {
  readonly firstMs: number;
  readonly maxMs: number;
  readonly windowMs: number;
}

/** The time (ms since the epoch) of the next attempt after `attempts` failed ones, or null: give up. */
export function nextAttemptAt(policy: RetryPolicy, attempts: number, firstAttemptAt: number, now: number): number | null {
  if (now - firstAttemptAt >= policy.windowMs) return null;
  // The exponent is capped so a long outage's delay stays a finite number before the cap applies.
  const delay = Math.min(policy.maxMs, policy.firstMs * 2 ** Math.min(Math.max(0, attempts - 1), 30));
  return now + delay;
}
