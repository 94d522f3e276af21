/**
 * withCors and withRateLimit on real transports (both), port 0, through fetch: the
 * headers a browser sees, preflights, 429 with Retry-After, and per-route keys.
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, withCors } from '../../server/http/cors.js';
import { InProcessRateLimitStore, rateLimitRoutes, withRateLimit, type RateLimitStore } from '../../server/http/rate-limit.js';
import { createHttpHandler, json } from '../../server/http/routes.js';
import type { HttpHandler, HttpRequest, Transport, TransportOptions } from '../../server/transport/transport.js';
import { createUwsTransport, loadNativeUws } from '../../server/transport/uws-transport.js';
import { createWsTransport } from '../../server/transport/ws-transport.js';

function factories(): Array<[string, (options: TransportOptions<null>) => Transport]> {
  const native = loadNativeUws();
  if (!('uws' in native)) throw new Error(`uWS must load natively on this machine: ${native.error}`);
  return [
    ['uws', (options) => createUwsTransport(native.uws, options)],
    ['ws', (options) => createWsTransport(options)],
  ];
}

class ManualTime {
  time = 1_700_000_000_000;
  now(): number {
    return this.time;
  }
}

const APP = 'https://app.example.com';
const EVIL = 'https://evil.example.net';

describe.each(factories())('HTTP limits over %s', (_name, create) => {
  let transport: Transport | null = null;
  let calls: HttpRequest[] = [];

  afterEach(() => {
    transport?.stopListening();
    transport = null;
    calls = [];
  });

  /** A stub API: records the request, answers 200 with a header of its own and a Vary. */
  const stub: HttpHandler = (request) => {
    calls.push(request);
    return {
      status: 200,
      headers: { 'content-type': 'application/json', 'x-handler': 'yes', Vary: 'Accept-Encoding' },
      body: '{"ok":true}',
    };
  };

  async function serve(http: HttpHandler): Promise<string> {
    transport = create({
      handlers: { accepts: () => false, open: () => null, message: () => {}, close: () => {} },
      http,
      maxMessageBytes: 1024,
      maxBackpressureBytes: 64 * 1024,
      maxHttpBodyBytes: 1024,
      onHttpError: (error) => {
        throw error;
      },
    });
    return `http://127.0.0.1:${await transport.listen('127.0.0.1', 0)}`;
  }

  const preflight = (origin: string) => ({
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  });

  describe('withCors', () => {
    it('sends no CORS header at all without an allow-list (same-origin app)', async () => {
      const base = await serve(withCors(stub, null));
      const response = await fetch(`${base}/api/x`, { headers: { origin: APP } });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.headers.get('vary')).toBe('Accept-Encoding');
      const options = await fetch(`${base}/api/x`, preflight(APP));
      expect(options.headers.get('access-control-allow-origin')).toBeNull();
      expect(calls.map((call) => call.method)).toEqual(['GET', 'OPTIONS']);
    });

    it('allows a listed origin: its own Allow-Origin, Vary: Origin merged, the handler untouched', async () => {
      const base = await serve(withCors(stub, [APP]));
      const response = await fetch(`${base}/api/x`, { headers: { origin: APP } });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(APP);
      expect(response.headers.get('access-control-expose-headers')).toBe('Retry-After');
      expect(response.headers.get('vary')).toBe('Accept-Encoding, Origin');
      expect(response.headers.get('x-handler')).toBe('yes');
      expect(await response.json()).toEqual({ ok: true });
    });

    it('gives a disallowed origin, or none, no CORS header (the browser withholds the answer)', async () => {
      const base = await serve(withCors(stub, [APP]));
      for (const headers of [{ origin: EVIL }, {}] as Record<string, string>[]) {
        const response = await fetch(`${base}/api/x`, { headers });
        expect(response.status).toBe(200);
        expect(response.headers.get('access-control-allow-origin')).toBeNull();
        expect(response.headers.get('access-control-expose-headers')).toBeNull();
        // Still Vary: Origin, so a cache does not hand this answer to the listed origin.
        expect(response.headers.get('vary')).toBe('Accept-Encoding, Origin');
      }
    });

    it('answers an allowed preflight 204 itself', async () => {
      const base = await serve(withCors(stub, [APP, 'http://localhost:5173']));
      const response = await fetch(`${base}/api/documents/a/history`, preflight('http://localhost:5173'));
      expect(response.status).toBe(204);
      expect(Object.fromEntries([...response.headers].filter(([key]) => key.startsWith('access-control-') || key === 'vary'))).toEqual({
        'access-control-allow-origin': 'http://localhost:5173',
        'access-control-allow-methods': CORS_ALLOW_METHODS,
        'access-control-allow-headers': CORS_ALLOW_HEADERS,
        'access-control-max-age': '600',
        vary: 'Origin',
      });
      expect([CORS_ALLOW_METHODS, CORS_ALLOW_HEADERS]).toEqual(['GET, POST, DELETE, OPTIONS', 'authorization, content-type']);
      expect(calls).toEqual([]);
    });

    it('refuses a disallowed preflight with 403 and no CORS header', async () => {
      const base = await serve(withCors(stub, [APP]));
      const response = await fetch(`${base}/api/x`, preflight(EVIL));
      expect(response.status).toBe(403);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.headers.get('access-control-allow-methods')).toBeNull();
      expect(await response.json()).toEqual({ error: 'origin not allowed' });
      expect(calls).toEqual([]);
    });

    it('passes a plain OPTIONS (no Access-Control-Request-Method) to the handler', async () => {
      const base = await serve(withCors(stub, [APP]));
      const response = await fetch(`${base}/api/x`, { method: 'OPTIONS', headers: { origin: APP } });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(APP);
      expect(calls).toHaveLength(1);
    });
  });

  describe('withRateLimit', () => {
    it('answers 429 with Retry-After and the JSON error once a key is over its limit, other keys unaffected', async () => {
      const time = new ManualTime();
      const store = new InProcessRateLimitStore({ clock: time });
      const base = await serve(
        withRateLimit(stub, { store, limitPerMinute: 2, keyOf: (request) => `rate_limit:${request.header('x-user') ?? 'anonymous'}:api` }),
      );
      const get = (user: string) => fetch(`${base}/api/x`, { headers: { 'x-user': user } });
      expect((await get('u1')).status).toBe(200);
      time.time += 15_500;
      expect((await get('u1')).status).toBe(200);
      const refused = await get('u1');
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('45');
      expect(refused.headers.get('content-type')).toBe('application/json');
      expect(await refused.json()).toEqual({ error: 'too many requests' });
      expect((await get('u2')).status).toBe(200);
      // The refused request never reached the handler.
      expect(calls).toHaveLength(3);
      time.time += 45_000;
      expect((await get('u1')).status).toBe(200);
    });

    it('lets a request through uncounted when keyOf says null', async () => {
      const base = await serve(withRateLimit(stub, { store: new InProcessRateLimitStore(), limitPerMinute: 1, keyOf: () => null }));
      for (let i = 0; i < 5; i++) expect((await fetch(`${base}/healthz`)).status).toBe(200);
    });

    it('refuses a limit that is not a positive integer when wrapping', () => {
      expect(() => withRateLimit(stub, { store: new InProcessRateLimitStore(), limitPerMinute: 0, keyOf: () => 'k' })).toThrow(RangeError);
    });

    it('keys routes by user and route pattern (not document name), anonymous ones by peer address', async () => {
      const inner = new InProcessRateLimitStore();
      const keys: string[] = [];
      const store: RateLimitStore = {
        hit: (key, limit, windowMs) => {
          keys.push(key);
          return inner.hit(key, limit, windowMs);
        },
      };
      const api = rateLimitRoutes(
        [{ method: 'GET', pattern: '/api/documents/:name', handler: (_request, params) => json(200, { name: params.name }) }],
        {
          store,
          limitPerMinute: 2,
          // A test double: the server's userOf must return a verified user id.
          userOf: (request) => request.header('x-user') ?? null,
        },
      );
      const http = createHttpHandler({ registry: new Registry(), notReadyReason: () => null, staticFiles: async () => json(404, {}), api });
      const base = await serve(withCors(http, [APP]));
      const get = (name: string, headers: Record<string, string> = {}) => fetch(`${base}/api/documents/${name}`, { headers });
      expect((await get('a', { 'x-user': 'u1' })).status).toBe(200);
      expect(await (await get('b', { 'x-user': 'u1' })).json()).toEqual({ name: 'b' });
      // Another document name is the same endpoint: the third request is over.
      const refused = await get('c', { 'x-user': 'u1', origin: APP });
      expect(refused.status).toBe(429);
      // The CORS wrapper outside the limit: a cross-origin client can read the 429 and its Retry-After.
      expect(refused.headers.get('access-control-allow-origin')).toBe(APP);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await get('a')).status).toBe(200);
      // Health checks are not routes: never counted.
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect(keys).toEqual([
        'rate_limit:u1:GET /api/documents/:name',
        'rate_limit:u1:GET /api/documents/:name',
        'rate_limit:u1:GET /api/documents/:name',
        'rate_limit:anonymous@127.0.0.1:GET /api/documents/:name',
      ]);
    });
  });
});
