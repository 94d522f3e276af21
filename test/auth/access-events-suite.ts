/**
 * The AccessEvents conformance suite, as a function so it runs against every
 * implementation: in process and Redis (access-events.test.ts), Redis Cluster
 * (test/cluster/redis-cluster.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AccessEvent, AccessEvents } from '../../server/auth/access-events.js';
import { sleep, waitFor } from '../helpers/wait.js';

/** Two instances' AccessEvents on one medium. */
export interface AccessEventsPair {
  readonly a: AccessEvents;
  readonly b: AccessEvents;
  close(): Promise<void>;
}

/** Resolves once each side has received a message of the other's (so both are subscribed), and stray warm-up messages have landed. */
export async function warmUp(a: AccessEvents, b: AccessEvents): Promise<void> {
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    const seen: AccessEvent[] = [];
    const off = to.subscribe((event) => seen.push(event));
    await waitFor(
      () => {
        from.publish({ type: 'session-revoked', sessionId: 'warm-up' });
        return seen.length > 0;
      },
      5_000,
      'subscribed',
      50,
    );
    off();
  }
  await sleep(150);
}

const EVENTS: AccessEvent[] = [
  { type: 'session-revoked', sessionId: '7f0e1c1e-4c55-4f4e-9a44-0d1c2b3a4f5e' },
  { type: 'membership-removed', userId: '10000000-0000-4000-8000-000000000001', projectId: '20000000-0000-4000-8000-000000000001' },
  { type: 'membership-changed', userId: '10000000-0000-4000-8000-000000000002', projectId: '20000000-0000-4000-8000-000000000001' },
  { type: 'recheck-all' },
];

export function accessEventsConformance(implementations: Array<[string, () => Promise<AccessEventsPair>]>): void {
  describe.each(implementations)('AccessEvents conformance: %s', (_name, make) => {
    let pair: AccessEventsPair | null = null;
    afterEach(async () => {
      await pair?.close();
      pair = null;
    });

    it("delivers every event to the publisher's own listeners at once, in order, and to the other instance's, once each, as sent", async () => {
      pair = await make();
      const atA: AccessEvent[] = [];
      const atB: AccessEvent[] = [];
      pair.a.subscribe((event) => atA.push(event));
      pair.b.subscribe((event) => atB.push(event));
      for (const event of EVENTS) pair.a.publish(event);
      // Within the call: the publishing instance acts even when nothing else is reachable.
      expect(atA).toEqual(EVENTS);
      await waitFor(() => atB.length >= EVENTS.length, 5_000, 'delivery to b');
      await sleep(100);
      // In any order (a Redis Cluster takes each PUBLISH on any node): each event re-checks the current state.
      expect(atB).toHaveLength(EVENTS.length);
      expect(atB).toEqual(expect.arrayContaining(EVENTS));
      expect(atA).toEqual(EVENTS); // its own echo is not delivered twice
    });

    it('stops delivering to a listener that unsubscribed; the others still get it', async () => {
      pair = await make();
      const kept: AccessEvent[] = [];
      const dropped: AccessEvent[] = [];
      pair.b.subscribe((event) => kept.push(event));
      const off = pair.b.subscribe((event) => dropped.push(event));
      off();
      pair.a.publish(EVENTS[0]!);
      await waitFor(() => kept.length === 1, 5_000, 'delivery');
      await sleep(100);
      expect(dropped).toEqual([]);
    });
  });
}
