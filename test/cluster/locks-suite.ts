/**
 * The Locks conformance suite, as a function so it runs against every implementation: in
 * process and Redis (locks.test.ts), Redis Cluster (test/cluster/redis-cluster.test.ts).
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { withLock, type Lock, type Locks } from '../../server/cluster/locks.js';
import { sleep } from '../helpers/wait.js';

const logger = pino({ level: 'silent' });
const doc = () => `d-${randomBytes(4).toString('hex')}`;

/** Two instances' Locks on one store, and a way to let time pass for its expiry. */
export interface LocksPair {
  readonly a: Locks;
  readonly b: Locks;
  /** Lets `ms` pass as far as expiry is concerned (in process: moves the clock; Redis: waits). */
  advance(ms: number): Promise<void>;
}

export function locksConformance(implementations: Array<[string, () => LocksPair]>): void {
  describe.each(implementations)('Locks conformance: %s', (_name, make) => {
    it('one holder at a time: a second acquire is null until the first releases', async () => {
      const { a, b } = make();
      const id = doc();
      const first = await a.acquire(id);
      expect(first).not.toBeNull();
      expect(first!.token).toMatch(/\S{16,}/);
      expect(await b.acquire(id)).toBeNull();
      expect(await a.acquire(id)).toBeNull(); // the same instance too: it is a lock, not re-entrant
      expect(await b.acquire(doc())).not.toBeNull(); // other documents are independent
      await first!.release();
      const second = await b.acquire(id);
      expect(second).not.toBeNull();
      expect(second!.token).not.toBe(first!.token);
      await second!.release();
    });

    it('a stale holder cannot release or renew the lock another took after it expired', async () => {
      const { a, b, advance } = make();
      const id = doc();
      const stale = (await a.acquire(id, 200))!;
      await advance(400);
      const fresh = await b.acquire(id, 5_000);
      expect(fresh).not.toBeNull();
      await stale.release();
      expect(await stale.renew()).toBe(false);
      expect(await a.acquire(id)).toBeNull(); // still held by `fresh`
      expect(await fresh!.renew()).toBe(true);
      await fresh!.release();
      expect(await fresh!.renew()).toBe(false); // released: nothing to renew
    });

    it('expiry frees the lock; renewing extends it', async () => {
      const { a, b, advance } = make();
      const expiring = doc();
      await a.acquire(expiring, 300);
      await advance(600);
      const taken = await b.acquire(expiring);
      expect(taken).not.toBeNull();
      await taken!.release();

      const renewed = doc();
      const lock = (await a.acquire(renewed, 800))!;
      await advance(500);
      expect(await lock.renew()).toBe(true); // now good for 800 ms from here
      await advance(500); // 1000 ms after acquiring: past the first TTL, within the renewed one
      expect(await b.acquire(renewed)).toBeNull();
      await advance(700);
      expect(await b.acquire(renewed)).not.toBeNull();
    });

    it('withLock runs the work once across two contenders, releases after, and returns its result', async () => {
      const { a, b } = make();
      const id = doc();
      let runs = 0;
      const work = async () => {
        runs++;
        await sleep(100);
        return 'done';
      };
      const results = await Promise.all([withLock(a, id, work, { logger }), withLock(b, id, work, { logger })]);
      expect(runs).toBe(1);
      expect(results.sort()).toEqual(['done', null].sort());
      // Released once the work settled.
      expect(await withLock(b, id, async () => 'again', { logger })).toBe('again');
    });

    it('withLock releases when the work throws, and rejects with its error', async () => {
      const { a, b } = make();
      const id = doc();
      await expect(
        withLock(
          a,
          id,
          async () => {
            throw new Error('boom');
          },
          { logger },
        ),
      ).rejects.toThrow('boom');
      const after = await b.acquire(id);
      expect(after).not.toBeNull();
      await after!.release();
    });

    it('withLock keeps the lock renewed while long work runs', async () => {
      const { a, b } = make();
      const id = doc();
      let contended: Lock | null | undefined;
      const lostSeen = await withLock(
        a,
        id,
        async (lost) => {
          await sleep(700); // more than twice the TTL: renewals every 100 ms keep it
          contended = await b.acquire(id);
          return lost.aborted;
        },
        { logger, ttlMs: 300 },
      );
      expect(lostSeen).toBe(false);
      expect(contended).toBeNull();
    });
  });
}
