import { systemClock, type Clock } from '../clock.js';
import type { HttpRequest, HttpResponse } from '../transport/transport.js';
import { errorJson, type RouteTable } from './routes.js';

/**
 * Per-user, per-endpoint HTTP rate limits. The counting lives behind RateLimitStore so the
 * in-process store below and a Redis one (shared by every instance; `INCR` + `PEXPIRE` on
 * the same keys) are interchangeable. Both count in fixed windows: simple, one counter per
 * key, and identical in either store; the price is that a client may spend two windows'
 * worth around a window boundary, which is fine for abuse protection.
 */

export interface RateLimitDecision {
  readonly allowed: boolean;
  /** Seconds until the window resets (at least 1) when refused; 0 when allowed. */
  readonly retryAfterSeconds: number;
}

export interface RateLimitStore {
  /** Counts one hit on `key`; refused once `limit` hits were counted in the current `windowMs` window. */
  hit(key: string, limit: number, windowMs: number): Promise<RateLimitDecision>;
}

/** The store key (docs/contracts.md "Redis keys"): `rate_limit:{userId}:{endpoint}`. */
export function rateLimitKey(userId: string, endpoint: string): string {
  return `rate_limit:${userId}:${endpoint}`;
}

/**
 * Who a request counts against: the verified user, else the peer address. Anonymous clients
 * each get their own counter (in open mode everyone is anonymous: one shared counter would let
 * one client starve the rest). Behind a proxy every anonymous client shares the proxy's address.
 * `anonymous@…` can never equal a user id (a UUID).
 */
export function rateLimitIdentity(userId: string | null, request: HttpRequest): string {
  return userId ?? `anonymous@${request.remoteAddress}`;
}

interface Window {
  count: number;
  resetAt: number;
}

export interface InProcessRateLimitStoreOptions {
  readonly clock?: Pick<Clock, 'now'>;
  /** Keys kept at most; beyond it the oldest windows are forgotten (their counts restart). */
  readonly maxKeys?: number;
  /** Expired windows are swept at most this often, during a hit (no timer to stop). */
  readonly sweepEveryMs?: number;
}

// One shared answer for every allowed hit (the common case): no allocation for it.
const ALLOWED: Promise<RateLimitDecision> = Promise.resolve(Object.freeze({ allowed: true, retryAfterSeconds: 0 }));

/**
 * Counters in this process: right for one instance; with several behind a balancer each
 * counts on its own (the limit becomes per instance) until the Redis store replaces it.
 * Memory is bounded: a window is dropped once expired (swept lazily), and never more than
 * `maxKeys` windows are kept.
 */
export class InProcessRateLimitStore implements RateLimitStore {
  private readonly windows = new Map<string, Window>();
  private readonly clock: Pick<Clock, 'now'>;
  private readonly maxKeys: number;
  private readonly sweepEveryMs: number;
  private nextSweepAt: number;

  constructor(options: InProcessRateLimitStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxKeys = options.maxKeys ?? 100_000;
    this.sweepEveryMs = options.sweepEveryMs ?? 60_000;
    this.nextSweepAt = this.clock.now() + this.sweepEveryMs;
  }

  /** Windows currently kept (tests, metrics). */
  get size(): number {
    return this.windows.size;
  }

  hit(key: string, limit: number, windowMs: number): Promise<RateLimitDecision> {
    const now = this.clock.now();
    if (now >= this.nextSweepAt) this.sweep(now);
    let window = this.windows.get(key);
    // A window reset further away than its length means the wall clock stepped back: start afresh.
    if (window === undefined || now >= window.resetAt || window.resetAt - now > windowMs) {
      // Re-inserted at the end, so the map stays in order of window start and eviction takes the oldest.
      if (window !== undefined) this.windows.delete(key);
      else if (this.windows.size >= this.maxKeys) this.evict(now);
      window = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, window);
    }
    if (window.count < limit) {
      window.count++;
      return ALLOWED;
    }
    return Promise.resolve({ allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((window.resetAt - now) / 1000)) });
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (now >= window.resetAt) this.windows.delete(key);
    this.nextSweepAt = now + this.sweepEveryMs;
  }

  /** Makes room for one key: expired windows first, else the oldest one. */
  private evict(now: number): void {
    this.sweep(now);
    if (this.windows.size < this.maxKeys) return;
    const oldest = this.windows.keys().next();
    if (!oldest.done) this.windows.delete(oldest.value);
  }
}

const MINUTE_MS = 60_000;

export interface RateLimitOptions {
  readonly store: RateLimitStore;
  /** Hits allowed per key per minute. */
  readonly limitPerMinute: number;
  /**
   * The store key for a request (see rateLimitKey), or null to let it through uncounted.
   * Build it from a verified identity only: a user id read from an unverified token would let
   * a client pick a fresh key, and so a fresh limit, for every request.
   */
  readonly keyOf: (request: HttpRequest) => string | null | Promise<string | null>;
}

/**
 * Wraps a handler (an HttpHandler, or an ApiRoute: anything taking the request first) so that
 * a request over its key's limit is answered 429 with Retry-After and never reaches it.
 */
export function withRateLimit<A extends [HttpRequest, ...unknown[]]>(
  handler: (...args: A) => Promise<HttpResponse> | HttpResponse,
  options: RateLimitOptions,
): (...args: A) => Promise<HttpResponse> {
  const { store, limitPerMinute, keyOf } = options;
  if (!Number.isInteger(limitPerMinute) || limitPerMinute < 1)
    throw new RangeError(`limitPerMinute must be a positive integer, got ${limitPerMinute}`);
  return async (...args) => {
    const key = await keyOf(args[0]);
    if (key !== null) {
      const decision = await store.hit(key, limitPerMinute, MINUTE_MS);
      if (!decision.allowed) return errorJson(429, 'too many requests', { 'retry-after': String(decision.retryAfterSeconds) });
    }
    return handler(...args);
  };
}

export interface RouteRateLimitOptions {
  readonly store: RateLimitStore;
  readonly limitPerMinute: number;
  /**
   * The verified user id of a request, or null (anonymous, or a token that is refused): the
   * server passes the request's one authentication (request-auth.ts `authenticatedUserOf`).
   */
  readonly userOf: (request: HttpRequest) => string | null | Promise<string | null>;
}

/**
 * Rate-limits every route of a table, one counter per user and route. The endpoint in the
 * key is the route's method and pattern (`POST /api/documents/:name/history`), not the
 * request path: a limit per document name would let a client multiply its allowance.
 */
export function rateLimitRoutes(routes: readonly RouteTable[], options: RouteRateLimitOptions): RouteTable[] {
  const { store, limitPerMinute, userOf } = options;
  return routes.map((route) => {
    const endpoint = `${route.method} ${route.pattern}`;
    return {
      ...route,
      handler: withRateLimit(route.handler, {
        store,
        limitPerMinute,
        keyOf: async (request) => rateLimitKey(rateLimitIdentity(await userOf(request), request), endpoint),
      }),
    };
  });
}
