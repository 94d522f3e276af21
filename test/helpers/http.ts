/** A real-fetch client for the JSON API of a running test server. */
import { base64url } from 'jose';

export interface ApiResponse<T> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

export interface CallOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Sent as the Authorization header verbatim. */
  readonly authorization?: string;
  /** JSON-encoded unless it is a string (sent as is). */
  readonly body?: unknown;
}

export type Api = <T = Record<string, unknown>>(method: string, path: string, options?: CallOptions) => Promise<ApiResponse<T>>;

/** `api(method, path, {token, body})` against 127.0.0.1:port; the body is parsed when there is one. */
export function apiClient(port: () => number): Api {
  return async <T>(method: string, path: string, options: CallOptions = {}): Promise<ApiResponse<T>> => {
    const headers: Record<string, string> = {};
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (options.authorization !== undefined) headers.authorization = options.authorization;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    }
    const response = await fetch(`http://127.0.0.1:${port()}${path}`, { method, headers, body });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? null : JSON.parse(text)) as T, headers: response.headers };
  };
}

/** An unsigned token (`alg: none`) claiming to be `userId`: must be refused. */
export function algNoneToken(userId: string): string {
  const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
  const payload = base64url.encode(JSON.stringify({ sub: userId, jti: crypto.randomUUID(), exp: Math.floor(Date.now() / 1000) + 600 }));
  return `${header}.${payload}.`;
}

export type { ErrorBody } from '../../server/http/api-types.js';
