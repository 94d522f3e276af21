/**
 * The transport boundary: WebSocket connections, topic fan-out and plain HTTP on one
 * port. Two implementations: uWebSockets.js (native, fan-out in C++) and `ws`
 * (pure JavaScript fallback). Everything above this file is transport-agnostic.
 */

/** One open WebSocket, as the protocol layer sees it. */
export interface TransportSocket {
  /** Sends one binary frame. A reader that falls too far behind is closed by the transport. */
  send(frame: Uint8Array): void;
  /** Sends `frame` to every subscriber of `topic` except this socket. */
  publish(topic: string, frame: Uint8Array): void;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** Closes with a WebSocket close code; further calls on this socket do nothing. */
  close(code: number, reason: string): void;
  /** Runs `fn` with this socket's outgoing writes batched into one syscall where supported. */
  cork(fn: () => void): void;
  readonly closed: boolean;
  /** Bytes sent but not yet taken by the kernel (0 once closed). */
  readonly bufferedBytes: number;
}

export interface UpgradeRequest {
  /** Path without the query string, still percent-encoded. */
  readonly path: string;
  /** Raw query string without the leading `?`. */
  readonly query: string;
  /** Peer address in canonical text form (see `canonicalAddress`). */
  readonly remoteAddress: string;
  /** The `Origin` header; null when absent (non-browser clients send none). */
  readonly origin: string | null;
}

/**
 * Callbacks the transport drives for each socket. `open` returns the per-socket state
 * the transport hands back on every message and on close.
 */
export interface SocketHandlers<S> {
  /** Decides whether a WebSocket upgrade on this path is served (false → HTTP 404). */
  accepts(path: string): boolean;
  open(socket: TransportSocket, request: UpgradeRequest): S;
  /** `data` is only valid during the call: copy what you keep. */
  message(state: S, data: Uint8Array, isBinary: boolean): void;
  close(state: S, code: number): void;
}

export interface HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  header(name: string): string | undefined;
  readonly body: Uint8Array;
  /** Peer address in canonical text form (see `canonicalAddress`): the key for anonymous rate limits. */
  readonly remoteAddress: string;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
}

export type HttpHandler = (request: HttpRequest) => Promise<HttpResponse> | HttpResponse;

const INTERNAL_ERROR: HttpResponse = {
  status: 500,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ error: 'internal error' }),
};

/**
 * Runs the handler and then `write`s its response. A throw in the handler becomes a
 * 500 that never echoes internal details (the error goes to `onError`); a throw in
 * `write` (the peer went away) goes to `onError` too. Never an unhandled rejection.
 */
export function respond(
  handler: HttpHandler,
  request: HttpRequest,
  write: (response: HttpResponse) => void,
  onError: (error: unknown, phase: 'handler' | 'write') => void,
): void {
  Promise.resolve()
    .then(() => handler(request))
    .catch((error: unknown) => {
      onError(error, 'handler');
      return INTERNAL_ERROR;
    })
    .then(write)
    .catch((error: unknown) => onError(error, 'write'));
}

export interface TransportOptions<S> {
  readonly handlers: SocketHandlers<S>;
  readonly http: HttpHandler;
  /** Largest accepted incoming frame; larger ones close the socket (ws sends 1009, uWS drops it: 1006). */
  readonly maxMessageBytes: number;
  /** Outgoing bytes a socket may have queued before it is closed as a slow reader. */
  readonly maxBackpressureBytes: number;
  /** Largest accepted HTTP request body. */
  readonly maxHttpBodyBytes: number;
  /** Told about HTTP handler failures (answered 500) and failed response writes. */
  readonly onHttpError: (error: unknown, phase: 'handler' | 'write') => void;
  /**
   * Browser origins allowed to open WebSockets (ALLOWED_ORIGINS). An upgrade whose `Origin`
   * is present and not listed is answered 403 before it is upgraded; one without `Origin`
   * (a non-browser client, which could forge the header anyway) is let through. Null or
   * absent: any origin. The check exists against cross-site WebSocket hijacking: a page on
   * another site opening a socket with the user's credentials.
   */
  readonly allowedOrigins?: readonly string[] | null;
}

/**
 * The origin check shared by both transports and CORS: true when `origin` is absent or
 * empty, or when there is no allow-list, or when it is listed. Origins are compared in
 * lower case (browsers already send them so; the list is normalized by parseAllowedOrigins).
 */
export function originChecker(allowed: readonly string[] | null | undefined): (origin: string | null | undefined) => boolean {
  if (allowed === null || allowed === undefined) return () => true;
  const set = new Set(allowed.map((origin) => origin.toLowerCase()));
  return (origin) => origin === null || origin === undefined || origin === '' || set.has(origin.toLowerCase());
}

/**
 * One text form for a peer address in both transports: uWS writes IPv6 in full
 * (`0000:…:0001`), Node compresses it (`::1`); IPv4-mapped IPv6 (a dual-stack listener)
 * becomes plain IPv4. Rate-limit keys and logs then agree whichever transport runs.
 */
export function canonicalAddress(text: string): string {
  if (!text.includes(':')) return text;
  let compressed: string;
  try {
    compressed = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return text;
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed);
  if (!mapped) return compressed;
  const high = parseInt(mapped[1]!, 16);
  const low = parseInt(mapped[2]!, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

export type TransportKind = 'uws' | 'ws';

/**
 * Largest request head (request line and headers) either transport accepts: Node's own default
 * (`maxHeaderSize`), so both answer alike. Beyond it: 431 with a JSON error. (uWebSockets.js
 * itself cuts, without an answer, what it cannot buffer: docs/contracts.md, fixed limits.)
 */
export const MAX_HEADER_BYTES = 16 * 1024;

/** The JSON body of the 431 answer (both transports). */
export const HEADERS_TOO_LARGE_BODY = JSON.stringify({ error: `request headers larger than ${MAX_HEADER_BYTES} bytes` });

/** A whole HTTP/1.1 response with a JSON `{error}` body, for writing straight to a socket (one Node's parser refused). */
export function rawJsonResponse(status: number, statusText: string, body: string): string {
  return `HTTP/1.1 ${status} ${statusText}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

export const RAW_HEADERS_TOO_LARGE = rawJsonResponse(431, 'Request Header Fields Too Large', HEADERS_TOO_LARGE_BODY);

/**
 * Why a transport could not listen, in one line naming the address: the message the CLI
 * prints when a second instance is started on a port already in use (both transports
 * bind exclusively, so the kernel never splits connections between two processes).
 */
export function listenError(host: string, port: number, cause: unknown): Error {
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const code = (cause as NodeJS.ErrnoException | null)?.code;
  const reason =
    code === 'EADDRINUSE'
      ? 'address already in use (is another instance running?)'
      : code === 'EACCES'
        ? 'permission denied'
        : code === 'EADDRNOTAVAIL'
          ? 'address not available on this machine'
          : cause instanceof Error
            ? cause.message
            : 'address in use or not permitted';
  return new Error(`cannot listen on ${address}: ${reason}`, { cause });
}

export interface Transport {
  readonly kind: TransportKind;
  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number>;
  /** Sends `frame` to every subscriber of `topic`. */
  publish(topic: string, frame: Uint8Array): void;
  /** Stops accepting new connections and HTTP requests. Open sockets stay open. */
  stopListening(): void;
}

/**
 * Close codes used across the server (the table: docs/contracts.md "Close codes"). Which one a socket gets is decided
 * per protocol in protocol/close-codes.ts.
 */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  MessageTooBig: 1009,
  InternalError: 1011,
  TryAgainLater: 1013,
  ResetConnection: 4205,
  Unauthorized: 4401,
  Forbidden: 4403,
  ConnectionTimeout: 4408,
  /** The document was deleted (HTTP 410's meaning). */
  Gone: 4410,
  TooManyRequests: 4429,
  /** 4408 moved to the 45xx range, which y-websocket 3 clients retry (they stop on 44xx). */
  ConnectionTimeoutRetry: 4508,
  /** 4429 moved to the 45xx range, which y-websocket 3 clients retry. */
  TooManyRequestsRetry: 4529,
} as const;
