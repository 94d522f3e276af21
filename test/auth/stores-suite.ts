/**
 * The SessionStore and RateLimitStore conformance suites, as functions so they run
 * against every implementation: in process and Redis (session-and-rate-stores.test.ts),
 * Redis Cluster (test/cluster/redis-cluster.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SessionStore } from '../../server/auth/session-store.js';
import type { RateLimitStore } from '../../server/http/rate-limit.js';

export function sessionStoreConformance(sessionStores: Array<[string, () => SessionStore]>): void {
  describe.each(sessionStores)('SessionStore conformance: %s', (_name, make) => {
    it('a touched session is not revoked; revoking returns its user and sticks', async () => {
      const store = make();
      const id = `s-${randomBytes(4).toString('hex')}`;
      await store.touch(id, 'user-1', Date.now() + 60_000);
      expect(await store.isRevoked(id)).toBe(false);
      expect(await store.revoke(id, Date.now() + 60_000)).toBe('user-1');
      expect(await store.isRevoked(id)).toBe(true);
      await store.touch(id, 'user-1', Date.now() + 60_000);
      expect(await store.isRevoked(id)).toBe(true);
    });

    it('revoking an unknown session still revokes it (tokens minted elsewhere)', async () => {
      const store = make();
      const id = `s-${randomBytes(4).toString('hex')}`;
      expect(await store.revoke(id, Date.now() + 60_000)).toBeNull();
      expect(await store.isRevoked(id)).toBe(true);
    });
  });
}

export function rateLimitStoreConformance(rateStores: Array<[string, () => RateLimitStore]>): void {
  describe.each(rateStores)('RateLimitStore conformance: %s', (_name, make) => {
    it('allows up to the limit in a window, then refuses with a Retry-After', async () => {
      const store = make();
      const key = `rate_limit:{u-${randomBytes(3).toString('hex')}}:GET /api/me`;
      const decisions = [];
      for (let i = 0; i < 4; i++) decisions.push(await store.hit(key, 3, 60_000));
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
      expect(decisions[3]!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(decisions[3]!.retryAfterSeconds).toBeLessThanOrEqual(60);
    });

    it('starts a fresh window once the window has passed', async () => {
      const store = make();
      const key = `rate_limit:{u-${randomBytes(3).toString('hex')}}:GET /api/documents`;
      expect((await store.hit(key, 1, 200)).allowed).toBe(true);
      expect((await store.hit(key, 1, 200)).allowed).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await store.hit(key, 1, 200)).allowed).toBe(true);
    });
  });
}
