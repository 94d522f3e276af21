/**
 * The in-process RateLimitStore: fixed windows per key, Retry-After, and bounded memory
 * (expired windows swept, at most maxKeys kept), driven by a manual clock.
 */
import { describe, expect, it } from 'vitest';
import { InProcessRateLimitStore, rateLimitIdentity, rateLimitKey } from '../../server/http/rate-limit.js';
import type { HttpRequest } from '../../server/transport/transport.js';

class ManualTime {
  time = 1_700_000_000_000;
  now(): number {
    return this.time;
  }
}

const MINUTE = 60_000;

async function hits(store: InProcessRateLimitStore, key: string, count: number, limit = 3): Promise<boolean[]> {
  const out: boolean[] = [];
  for (let i = 0; i < count; i++) out.push((await store.hit(key, limit, MINUTE)).allowed);
  return out;
}

describe('rate-limit keys', () => {
  it('are rate_limit:{userId}:{endpoint}, anonymous requests by peer address', () => {
    expect(rateLimitKey('7c0e4a4e-2f0b-4d5e-9a51-8f6f3f1f2b10', 'POST /api/documents/:name/history')).toBe(
      'rate_limit:7c0e4a4e-2f0b-4d5e-9a51-8f6f3f1f2b10:POST /api/documents/:name/history',
    );
    const request = { remoteAddress: '::1' } as HttpRequest;
    expect(rateLimitIdentity('user-1', request)).toBe('user-1');
    expect(rateLimitIdentity(null, request)).toBe('anonymous@::1');
  });
});

describe('InProcessRateLimitStore', () => {
  it('allows `limit` hits per window and refuses the rest with the seconds until the window resets', async () => {
    const time = new ManualTime();
    const store = new InProcessRateLimitStore({ clock: time });
    expect(await hits(store, 'k', 3)).toEqual([true, true, true]);
    time.time += 15_500;
    expect(await store.hit('k', 3, MINUTE)).toEqual({ allowed: false, retryAfterSeconds: 45 });
    time.time += 44_400;
    // 100 ms left: Retry-After is never 0.
    expect(await store.hit('k', 3, MINUTE)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    time.time += 100;
    expect(await hits(store, 'k', 4)).toEqual([true, true, true, false]);
  });

  it('counts each key on its own', async () => {
    const store = new InProcessRateLimitStore({ clock: new ManualTime() });
    expect(await hits(store, 'a', 4)).toEqual([true, true, true, false]);
    expect(await hits(store, 'b', 1)).toEqual([true]);
  });

  it('does not count refused hits: a client hammering at the limit is free again when the window ends', async () => {
    const time = new ManualTime();
    const store = new InProcessRateLimitStore({ clock: time });
    await hits(store, 'k', 3);
    for (let i = 0; i < 100; i++) await store.hit('k', 3, MINUTE);
    time.time += MINUTE;
    expect((await store.hit('k', 3, MINUTE)).allowed).toBe(true);
  });

  it('sweeps expired windows, so idle keys do not stay in memory', async () => {
    const time = new ManualTime();
    const store = new InProcessRateLimitStore({ clock: time, sweepEveryMs: MINUTE });
    for (let i = 0; i < 50; i++) await store.hit(`user-${i}`, 3, MINUTE);
    expect(store.size).toBe(50);
    time.time += MINUTE;
    await store.hit('someone-else', 3, MINUTE);
    expect(store.size).toBe(1);
  });

  it('never keeps more than maxKeys windows: the oldest is forgotten first', async () => {
    const time = new ManualTime();
    const store = new InProcessRateLimitStore({ clock: time, maxKeys: 3 });
    await hits(store, 'oldest', 3);
    for (const key of ['b', 'c', 'd', 'e']) {
      time.time += 1;
      await store.hit(key, 3, MINUTE);
      expect(store.size).toBeLessThanOrEqual(3);
    }
    // 'oldest' was evicted: its count restarted.
    expect((await store.hit('oldest', 3, MINUTE)).allowed).toBe(true);
    expect(store.size).toBe(3);
  });

  it('starts a fresh window when the wall clock steps back, instead of refusing for as long as the step', async () => {
    const time = new ManualTime();
    const store = new InProcessRateLimitStore({ clock: time });
    await hits(store, 'k', 3);
    time.time -= 3_600_000;
    expect(await store.hit('k', 3, MINUTE)).toEqual({ allowed: true, retryAfterSeconds: 0 });
  });

  it('honours different limits and windows per call', async () => {
    const time = new ManualTime();
    const store = new InProcessRateLimitStore({ clock: time });
    expect((await store.hit('k', 1, 1_000)).allowed).toBe(true);
    expect(await store.hit('k', 1, 1_000)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    time.time += 1_000;
    expect((await store.hit('k', 1, 1_000)).allowed).toBe(true);
  });
});
