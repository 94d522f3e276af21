/**
 * The Bus conformance suite, as a function so it runs against every implementation: in
 * process and Redis pub/sub (bus.test.ts), sharded pub/sub on a Redis Cluster
 * (test/cluster/redis-cluster.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus } from '../../server/cluster/bus.js';
import { sleep, waitFor } from '../helpers/wait.js';

/** Two instances' buses on one medium. */
export type BusPair = () => [Bus, Bus];

export function busConformance(implementations: Array<[string, BusPair]>): void {
  describe.each(implementations)('Bus conformance: %s', (_name, pair) => {
    let buses: Bus[] = [];
    afterEach(async () => {
      await Promise.all(buses.map((bus) => bus.close()));
      buses = [];
    });

    it('delivers a message to the other subscribers of the document, byte for byte, not to the publisher', async () => {
      const [a, b] = (buses = pair());
      const atA: Uint8Array[] = [];
      const atB: Uint8Array[] = [];
      await a.subscribe('doc one', (data) => atA.push(data.slice()));
      await b.subscribe('doc one', (data) => atB.push(data.slice()));
      const message = new Uint8Array([0, 255, 1, 128, 0, 10]);
      a.publish('doc one', message);
      await waitFor(() => atB.length === 1, 5_000, 'delivery');
      expect(atB[0]).toEqual(message);
      await sleep(100);
      // Redis echoes to the publisher's own subscription; the relay ignores its own instance id.
      expect(atA.length === 0 || (atA.length === 1 && atA[0]!.every((byte, i) => byte === message[i]))).toBe(true);
    });

    it('keeps documents apart and stops delivering after unsubscribe', async () => {
      const [a, b] = (buses = pair());
      const atB: string[] = [];
      await b.subscribe('one', () => atB.push('one'));
      await b.subscribe('two', () => atB.push('two'));
      await a.subscribe('one', () => {});
      a.publish('two', new Uint8Array([2]));
      await waitFor(() => atB.length === 1, 5_000, 'delivery');
      expect(atB).toEqual(['two']);
      b.unsubscribe('two');
      await sleep(100);
      a.publish('two', new Uint8Array([2]));
      a.publish('one', new Uint8Array([1]));
      await waitFor(() => atB.length === 2, 5_000, 'delivery');
      await sleep(100);
      expect(atB).toEqual(['two', 'one']);
    });

    it("reports how many subscribers a message reached, the publisher's own included", async () => {
      const [a, b] = (buses = pair());
      await a.subscribe('audience', () => {});
      // One publish and its reported audience, or null when none came (a connection or a
      // shard subscription still being set up: "unknown" is allowed, a wrong count is not).
      const reached = (bus: Bus) =>
        new Promise<number | null>((resolve) => {
          const timer = setTimeout(() => resolve(null), 500);
          bus.publish('audience', new Uint8Array([1]), (subscribers) => {
            clearTimeout(timer);
            resolve(subscribers);
          });
        });
      const settlesAt = async (bus: Bus, expected: number) => {
        const seen: (number | null)[] = [];
        await waitFor(
          async () => {
            const count = await reached(bus);
            seen.push(count);
            return count === expected;
          },
          10_000,
          `an audience of ${expected} (seen ${seen.join(', ')})`,
        );
        // Once settled, it stays: no count other than the expected one after it.
        expect([expected, null]).toContain(await reached(bus));
      };
      await settlesAt(a, 1);
      await b.subscribe('audience', () => {});
      await settlesAt(a, 2);
      b.unsubscribe('audience');
      await settlesAt(a, 1);
    });
  });
}
