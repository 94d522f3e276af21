import { STATUS_CODES } from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import type * as UwsTypes from 'uWebSockets.js';
import {
  canonicalAddress,
  CloseCode,
  HEADERS_TOO_LARGE_BODY,
  type HttpRequest,
  listenError,
  MAX_HEADER_BYTES,
  originChecker,
  respond as respondWith,
  type Transport,
  type TransportOptions,
  type TransportSocket,
  type UpgradeRequest,
} from './transport.js';

type Uws = typeof UwsTypes;

/**
 * Loads the uWebSockets.js native addon, or returns the reason it cannot be used. The
 * republish silently falls back to a JavaScript emulation when its binary does not
 * load; only a native `App` is accepted, so we never run on a slow path unknowingly.
 */
export function loadNativeUws(): { uws: Uws } | { error: string } {
  try {
    const require = createRequire(import.meta.url);
    const uws = require('uWebSockets.js') as Uws;
    if (!String(uws.App).includes('[native code]')) {
      return { error: 'uWebSockets.js loaded its JavaScript emulation, not the native addon' };
    }
    return { uws };
  } catch (error) {
    return { error: `uWebSockets.js native addon did not load: ${(error as Error).message}` };
  }
}

interface SocketData<S> {
  /** Only needed until `open`; dropped then so idle sockets do not keep its strings. */
  request: UpgradeRequest | null;
  socket: UwsSocket | null;
  state: S | null;
}

class UwsSocket implements TransportSocket {
  closed = false;
  constructor(private readonly ws: UwsTypes.WebSocket<SocketData<unknown>>) {}

  send(frame: Uint8Array): void {
    if (!this.closed) this.ws.send(frame, true);
  }
  get bufferedBytes(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount();
  }
  publish(topic: string, frame: Uint8Array): void {
    if (!this.closed) this.ws.publish(topic, frame, true);
  }
  subscribe(topic: string): void {
    if (!this.closed) this.ws.subscribe(topic);
  }
  unsubscribe(topic: string): void {
    if (!this.closed) this.ws.unsubscribe(topic);
  }
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.end(code, reason);
  }
  cork(fn: () => void): void {
    if (this.closed) fn();
    else this.ws.cork(fn);
  }
}

/** LIBUS_LISTEN_EXCLUSIVE_PORT (1): exported by the addon, missing from its typings' constants. */
function exclusivePort(uws: Uws): number {
  return (uws as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT?: number }).LIBUS_LISTEN_EXCLUSIVE_PORT ?? 1;
}

type ListenCallback = (socket: UwsTypes.us_listen_socket | false) => void;

/** `app.listen(host, port, options, cb)`: the addon takes it; the typings only list `(port, options, cb)`. */
function listenWithOptions(app: UwsTypes.TemplatedApp, host: string, port: number, options: number, cb: ListenCallback): void {
  (app.listen as unknown as (host: string, port: number, options: number, cb: ListenCallback) => void).call(app, host, port, options, cb);
}

/** The error a plain bind of host:port gets now (EADDRINUSE, EACCES, …), or null if it works. */
function whyCannotListen(host: string, port: number): Promise<unknown> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', resolve);
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(null)));
  });
}

/**
 * Size of a request head as the ws transport's parser counts it, near enough: request line and
 * `name: value` lines. uWS has already parsed it (what it could not buffer never gets here).
 */
function headBytes(req: UwsTypes.HttpRequest): number {
  let size = req.getMethod().length + req.getUrl().length + (req.getQuery() ?? '').length + 12;
  req.forEach((key, value) => (size += key.length + value.length + 4));
  return size;
}

/** 431 with the JSON error, and the connection closed. */
function headersTooLarge(res: UwsTypes.HttpResponse): void {
  res.cork(() =>
    res
      .writeStatus('431 Request Header Fields Too Large')
      .writeHeader('content-type', 'application/json')
      .end(HEADERS_TOO_LARGE_BODY, true),
  );
}

const EMPTY = new Uint8Array(0);
const PAYLOAD_TOO_LARGE = JSON.stringify({ error: 'request body too large' });

export function createUwsTransport<S>(uws: Uws, options: TransportOptions<S>): Transport {
  const app = uws.App();
  const { handlers } = options;
  const originAllowed = originChecker(options.allowedOrigins);
  let listenSocket: UwsTypes.us_listen_socket | null = null;

  app.ws<SocketData<S>>('/*', {
    maxPayloadLength: options.maxMessageBytes,
    maxBackpressure: options.maxBackpressureBytes,
    // A reader that cannot keep up is disconnected rather than buffered without bound.
    closeOnBackpressureLimit: 1,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    compression: uws.DISABLED,
    upgrade(res, req, context) {
      const path = req.getUrl();
      if (!handlers.accepts(path)) {
        res.writeStatus('404 Not Found').end('no WebSocket endpoint at this path\n');
        return;
      }
      if (headBytes(req) > MAX_HEADER_BYTES) {
        headersTooLarge(res);
        return;
      }
      // uWS answers '' for an absent header; an empty Origin counts as absent in both transports.
      const origin = req.getHeader('origin') || null;
      if (!originAllowed(origin)) {
        res.writeStatus('403 Forbidden').end('origin not allowed\n');
        return;
      }
      const request: UpgradeRequest = {
        path,
        query: req.getQuery() ?? '',
        remoteAddress: canonicalAddress(Buffer.from(res.getRemoteAddressAsText()).toString()),
        origin,
      };
      res.upgrade<SocketData<S>>(
        { request, socket: null, state: null },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open(ws) {
      const data = ws.getUserData();
      const socket = new UwsSocket(ws as unknown as UwsTypes.WebSocket<SocketData<unknown>>);
      data.socket = socket;
      data.state = handlers.open(socket, data.request!);
      data.request = null;
    },
    message(ws, message, isBinary) {
      const data = ws.getUserData();
      if (data.state !== null) handlers.message(data.state, new Uint8Array(message), isBinary);
    },
    close(ws, code) {
      const data = ws.getUserData();
      if (data.socket) data.socket.closed = true;
      if (data.state !== null) handlers.close(data.state, code);
      data.state = null;
    },
  });

  app.any('/*', (res, req) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const method = req.getMethod().toUpperCase();
    const path = req.getUrl();
    const query = req.getQuery() ?? '';
    const headers = new Map<string, string>();
    let headSize = method.length + path.length + query.length + 12;
    req.forEach((key, value) => {
      headers.set(key, value);
      headSize += key.length + value.length + 4;
    });
    // Read now: `res` may not be touched once the request is aborted.
    const remoteAddress = canonicalAddress(Buffer.from(res.getRemoteAddressAsText()).toString());
    if (headSize > MAX_HEADER_BYTES) {
      // As Node's parser (the ws transport) does; the connection is closed after the answer.
      aborted = true;
      headersTooLarge(res);
      return;
    }

    const respond = (request: HttpRequest) => {
      respondWith(
        options.http,
        request,
        (response) => {
          if (aborted) return;
          try {
            res.cork(() => {
              res.writeStatus(`${response.status} ${STATUS_CODES[response.status] ?? ''}`);
              for (const [key, value] of Object.entries(response.headers ?? {})) res.writeHeader(key, value);
              res.end(response.body ?? '');
            });
          } catch (error) {
            // Half a response cannot be mended: drop the connection rather than leave it hanging.
            aborted = true;
            res.close();
            throw error;
          }
        },
        options.onHttpError,
      );
    };

    const makeRequest = (body: Uint8Array): HttpRequest => ({
      method,
      path,
      query,
      header: (name) => headers.get(name.toLowerCase()),
      body,
      remoteAddress,
    });

    if (method === 'GET' || method === 'HEAD' || method === 'DELETE' || method === 'OPTIONS') {
      respond(makeRequest(EMPTY));
      return;
    }
    // uWS hands the body over in chunks; collect it (bounded) before handling.
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((chunk, isLast) => {
      if (aborted) return;
      size += chunk.byteLength;
      if (size > options.maxHttpBodyBytes) {
        aborted = true;
        res.cork(() =>
          res.writeStatus('413 Payload Too Large').writeHeader('content-type', 'application/json').end(PAYLOAD_TOO_LARGE, true),
        );
        return;
      }
      chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) respond(makeRequest(Buffer.concat(chunks)));
    });
  });

  return {
    kind: 'uws',
    listen(host, port) {
      return new Promise((resolve, reject) => {
        // Exclusive: uSockets otherwise binds with SO_REUSEPORT, and a second instance on the
        // same port would "listen" too while the kernel split the connections between them.
        listenWithOptions(app, host, port, exclusivePort(uws), (socket) => {
          if (socket) {
            listenSocket = socket;
            resolve(uws.us_socket_local_port(socket));
            return;
          }
          // uWS says only that it failed: ask the OS why, with a plain (also exclusive) bind.
          whyCannotListen(host, port).then((cause) => reject(listenError(host, port, cause)));
        });
      });
    },
    publish(topic, frame) {
      app.publish(topic, frame, true);
    },
    stopListening() {
      if (listenSocket) uws.us_listen_socket_close(listenSocket);
      listenSocket = null;
    },
  };
}

export { CloseCode };
