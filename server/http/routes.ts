import type { Registry } from 'prom-client';
import type { z } from 'zod';
import { documentNameProblem } from '../document-name.js';
import type { HttpHandler, HttpRequest, HttpResponse } from '../transport/transport.js';
import type { ErrorBody } from './api-types.js';

/** A JSON API route: `params` holds the decoded `:name` segments. */
export type ApiRoute = (request: HttpRequest, params: Readonly<Record<string, string>>) => Promise<HttpResponse> | HttpResponse;

/** Who may call a route: anyone, a user (a bearer JWT in token mode, no one in open mode) or the admin (ADMIN_TOKEN). */
export type RouteCaller = 'anyone' | 'user' | 'admin';

/** One answer of a route: what it means and, where it is typed, its JSON body. */
export interface ResponseDescription {
  readonly description: string;
  readonly schema?: z.ZodType;
  /** A body that is not JSON (e.g. `text/markdown`, `application/octet-stream`). */
  readonly contentTypes?: readonly string[];
}

/**
 * What a route takes and answers, for the OpenAPI document (openapi.ts): the schemas are the
 * zod objects the handler validates with, so the document cannot drift from what is accepted.
 */
export interface RouteDescription {
  readonly summary: string;
  readonly caller: RouteCaller;
  /** The path's `:x` segments other than `:name` (always a document name), as the handler checks them. */
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  /** A JSON body's schema, or a binary body's media type. */
  readonly body?: { readonly json: z.ZodType; readonly optional?: boolean } | { readonly binary: string };
  /** The answers that are not the common errors (400, 401, 403, 404, 429: added to every route that can give them). */
  readonly responses: Readonly<Record<number, ResponseDescription>>;
}

export interface RouteTable {
  readonly method: string;
  /** Pattern like `/api/documents/:name/history`; `:x` matches one percent-encoded segment; `:name` is always a document name (400 unless valid). */
  readonly pattern: string;
  readonly handler: ApiRoute;
  readonly description?: RouteDescription;
}

/** The routes the handler below answers itself, before the JSON API: described here so the OpenAPI document has them too. */
export const BUILT_IN_ROUTES: readonly Pick<RouteTable, 'method' | 'pattern' | 'description'>[] = [
  {
    method: 'GET',
    pattern: '/healthz',
    description: { summary: 'Liveness: the process answers', caller: 'anyone', responses: { 200: { description: '`{status: "ok"}`' } } },
  },
  {
    method: 'GET',
    pattern: '/readyz',
    description: {
      summary: 'Readiness: `{status: "ready"}`, `{status: "degraded", ...parts}` or 503 `{status: "not ready", reason}`',
      caller: 'anyone',
      responses: { 200: { description: 'ready or degraded' }, 503: { description: 'not ready' } },
    },
  },
  {
    method: 'GET',
    pattern: '/metrics',
    description: {
      summary: 'Prometheus metrics',
      caller: 'anyone',
      responses: { 200: { description: 'Prometheus text exposition format', contentTypes: ['text/plain'] } },
    },
  },
];

export interface HttpDependencies {
  readonly registry: Registry;
  /** Null when ready, else the reason (e.g. "database unreachable"). */
  readonly notReadyReason: () => string | null;
  /** Parts that are down without making the instance unready (e.g. `{ redis: 'unreachable' }`), or null. */
  readonly degraded?: () => Readonly<Record<string, string>> | null;
  readonly staticFiles: (path: string) => Promise<HttpResponse>;
  readonly api: readonly RouteTable[];
}

export const json = (status: number, body: unknown): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** A refusal or failure: `{error}` with its status (and any extra headers) — the one error shape of the API. */
export const errorJson = (status: number, error: string, headers: Readonly<Record<string, string>> = {}): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify({ error } satisfies ErrorBody),
});

interface CompiledRoute {
  readonly method: string;
  readonly regex: RegExp;
  readonly names: readonly string[];
  readonly handler: ApiRoute;
}

function compile(route: RouteTable): CompiledRoute {
  const names: string[] = [];
  const source = route.pattern
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(segment.slice(1));
      return '([^/]+)';
    })
    .join('/');
  return { method: route.method, regex: new RegExp(`^${source}$`), names, handler: route.handler };
}

/** Health, readiness, metrics, the JSON API and the static browser app on one port. */
export function createHttpHandler(deps: HttpDependencies): HttpHandler {
  const routes = deps.api.map(compile);
  return async (request) => {
    const { method, path } = request;
    if (path === '/healthz') return json(200, { status: 'ok' });
    if (path === '/readyz') {
      const reason = deps.notReadyReason();
      if (reason !== null) return json(503, { status: 'not ready', reason });
      // Still accepting and storing edits; it converges with the others once the part is back.
      const degraded = deps.degraded?.() ?? null;
      return degraded === null ? json(200, { status: 'ready' }) : json(200, { status: 'degraded', ...degraded });
    }
    if (path === '/metrics') {
      return { status: 200, headers: { 'content-type': deps.registry.contentType }, body: await deps.registry.metrics() };
    }
    if (path.startsWith('/api/')) {
      let pathMatched = false;
      for (const route of routes) {
        const match = route.regex.exec(path);
        if (!match) continue;
        pathMatched = true;
        if (route.method !== method) continue;
        const params: Record<string, string> = {};
        try {
          route.names.forEach((name, i) => (params[name] = decodeURIComponent(match[i + 1]!)));
        } catch {
          return errorJson(400, 'path segment is not valid percent-encoding');
        }
        // `:name` is a document name in every route: checked here, once, with the sockets' rule.
        const nameProblem = params.name === undefined ? null : documentNameProblem(params.name);
        if (nameProblem !== null) return errorJson(400, `name: ${nameProblem}`);
        return route.handler(request, params);
      }
      return pathMatched ? errorJson(405, `method ${method} not allowed here`) : errorJson(404, 'no such endpoint');
    }
    if (method !== 'GET' && method !== 'HEAD') return errorJson(405, `method ${method} not allowed here`);
    return deps.staticFiles(path);
  };
}
