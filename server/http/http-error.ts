/**
 * API errors as values: a handler throws `HttpError(status, message)` wherever it finds
 * the problem, and `apiRoute` turns it into `{error}` JSON. Anything else thrown is a bug
 * and goes on to the transport, which answers 500 without echoing it.
 */
import type { HttpRequest, HttpResponse } from '../transport/transport.js';
import { errorJson, type ApiRoute } from './routes.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Extra response headers (e.g. `www-authenticate` with a 401). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** Wraps a handler so every HttpError it throws becomes `{error: message}` with its status. */
export function apiRoute(handler: (request: HttpRequest, params: Readonly<Record<string, string>>) => Promise<HttpResponse>): ApiRoute {
  return async (request, params) => {
    try {
      return await handler(request, params);
    } catch (error) {
      if (error instanceof HttpError) return errorJson(error.status, error.message, error.headers);
      throw error;
    }
  };
}

/** 204: the action was done and there is nothing to say. */
export const noContent = (): HttpResponse => ({ status: 204 });
