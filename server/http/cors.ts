import { originChecker, type HttpHandler, type HttpResponse } from '../transport/transport.js';
import { errorJson } from './routes.js';

/**
 * CORS for the HTTP API, driven by the same allow-list (ALLOWED_ORIGINS) as the WebSocket
 * Origin check.
 *
 * Without an allow-list no CORS header is ever sent: the browser app is served from this
 * same origin and needs none, and a server that sent `Access-Control-Allow-Origin` to every
 * origin would let any site read the API with a token it got hold of. Listing origins is the
 * explicit opt-in for an app hosted elsewhere.
 */

export const CORS_ALLOW_METHODS = 'GET, POST, DELETE, OPTIONS';
export const CORS_ALLOW_HEADERS = 'authorization, content-type';
export const CORS_MAX_AGE_SECONDS = 600;

/**
 * Parses ALLOWED_ORIGINS: comma-separated origins (`https://app.example.com`,
 * `http://localhost:5173`), normalized as browsers send them (lower case, default port
 * dropped, no trailing slash). Unset or blank: null (any origin, no CORS). Throws a
 * RangeError naming `name` for anything that is not an http(s) origin; `*` and `null` are
 * refused on purpose (leave the variable unset to allow any origin; `null` is the origin of
 * every sandboxed frame and file:// page alike).
 */
export function parseAllowedOrigins(raw: string | undefined, name = 'ALLOWED_ORIGINS'): readonly string[] | null {
  if (raw === undefined || raw.trim() === '') return null;
  const origins: string[] = [];
  for (const entry of raw.split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    if (entry === '*') throw new RangeError(`${name}: "*" is not accepted; leave ${name} unset to allow any origin`);
    let url: URL | null = null;
    try {
      url = new URL(entry);
    } catch {
      // reported below
    }
    const isOrigin =
      url !== null &&
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      url.username === '' &&
      url.password === '' &&
      url.pathname === '/' &&
      url.search === '' &&
      url.hash === '' &&
      !entry.endsWith('?') &&
      !entry.endsWith('#');
    if (!isOrigin) throw new RangeError(`${name}: "${entry}" is not an origin like https://app.example.com`);
    if (!origins.includes(url!.origin)) origins.push(url!.origin);
  }
  if (origins.length === 0) throw new RangeError(`${name} lists no origin`);
  return Object.freeze(origins);
}

/** Methods that change something: refused from origins that may not write (cross-site request forgery). */
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Adds CORS to a handler, and refuses writes (POST, PUT, PATCH, DELETE) with 403 `origin not
 * allowed` when their Origin is present and not listed (without a list: see
 * refuseCrossSiteWrites). An allowed Origin gets `Access-Control-Allow-Origin: <origin>`
 * (and Retry-After exposed, so a cross-origin client can read it on a 429); a preflight
 * (`OPTIONS` with `Access-Control-Request-Method`) is answered here, 204 for an allowed
 * origin and 403 otherwise, without reaching `handler`. A disallowed origin gets no CORS
 * header: the browser then withholds the response from the page. Every response carries
 * `Vary: Origin` once a list is configured, so a cache never serves one origin's answer to
 * another. Wrap the rate limits inside this, so that a 429 still carries the CORS headers.
 */
export function withCors(handler: HttpHandler, allowedOrigins: readonly string[] | null): HttpHandler {
  if (allowedOrigins === null) return refuseCrossSiteWrites(handler);
  const allowed = originChecker(allowedOrigins);
  return async (request) => {
    const origin = request.header('origin');
    const listed = origin !== undefined && origin !== '' && allowed(origin);
    // CORS only keeps the answer from the page; a forged "simple" POST would still be carried
    // out. So a write from a browser origin that is not listed is refused before any route runs.
    if (STATE_CHANGING.has(request.method) && origin !== undefined && origin !== '' && !listed) {
      return withHeaders(errorJson(403, 'origin not allowed'), null);
    }
    if (request.method === 'OPTIONS' && origin !== undefined && request.header('access-control-request-method') !== undefined) {
      if (!listed) {
        return errorJson(403, 'origin not allowed', { vary: 'Origin' });
      }
      return {
        status: 204,
        headers: {
          'access-control-allow-origin': origin,
          'access-control-allow-methods': CORS_ALLOW_METHODS,
          'access-control-allow-headers': CORS_ALLOW_HEADERS,
          'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
          vary: 'Origin',
        },
      };
    }
    const response = await handler(request);
    return withHeaders(response, listed ? origin : null);
  };
}

/**
 * Without ALLOWED_ORIGINS only the same-origin app may write from a browser: a state-changing
 * request the browser itself marks `Sec-Fetch-Site: cross-site` or `same-site` (a form or
 * `no-cors` fetch on another site) is refused. No CORS header is ever sent then, so no other
 * origin could use the API from a page anyway. Clients that are not browsers send no such header.
 */
function refuseCrossSiteWrites(handler: HttpHandler): HttpHandler {
  return (request) => {
    if (STATE_CHANGING.has(request.method)) {
      const site = request.header('sec-fetch-site')?.trim().toLowerCase();
      if (site === 'cross-site' || site === 'same-site') return errorJson(403, 'cross-site request refused');
    }
    return handler(request);
  };
}

/** `response` with Vary: Origin merged into its own Vary, and the CORS headers when `origin` is allowed. */
function withHeaders(response: HttpResponse, origin: string | null): HttpResponse {
  const headers: Record<string, string> = {};
  let vary: string | null = null;
  for (const [key, value] of Object.entries(response.headers ?? {})) {
    if (key.toLowerCase() === 'vary') vary = vary === null ? value : `${vary}, ${value}`;
    else headers[key] = value;
  }
  const varies = vary !== null && vary.split(',').some((token) => ['origin', '*'].includes(token.trim().toLowerCase()));
  headers.vary = vary === null ? 'Origin' : varies ? vary : `${vary}, Origin`;
  if (origin !== null) {
    headers['access-control-allow-origin'] = origin;
    headers['access-control-expose-headers'] = 'Retry-After';
  }
  return { ...response, headers };
}
