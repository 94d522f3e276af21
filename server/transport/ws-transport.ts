import http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  canonicalAddress,
  listenError,
  MAX_HEADER_BYTES,
  originChecker,
  RAW_HEADERS_TOO_LARGE,
  rawJsonResponse,
  respond,
  type HttpRequest,
  type Transport,
  type TransportOptions,
  type TransportSocket,
  type UpgradeRequest,
} from './transport.js';

/**
 * Pure-JavaScript transport on `ws`, used when the uWebSockets.js native addon is not
 * available (or TRANSPORT=ws). Topic fan-out is a loop over subscribers here; that is
 * the cost of running without uWS, and the reason the server warns when it falls back.
 */
class WsSocket implements TransportSocket {
  closed = false;
  readonly topics = new Set<string>();

  constructor(
    private readonly ws: WebSocket,
    private readonly hub: TopicHub,
    private readonly maxBackpressureBytes: number,
  ) {}

  get bufferedBytes(): number {
    return this.closed ? 0 : this.ws.bufferedAmount;
  }
  send(frame: Uint8Array): void {
    if (this.closed) return;
    if (this.ws.bufferedAmount > this.maxBackpressureBytes) {
      // Same policy as uWS closeOnBackpressureLimit: drop the slow reader, never buffer without bound.
      this.closed = true;
      this.ws.terminate();
      return;
    }
    this.ws.send(frame, { binary: true });
  }
  publish(topic: string, frame: Uint8Array): void {
    this.hub.publish(topic, frame, this);
  }
  subscribe(topic: string): void {
    if (this.closed || this.topics.has(topic)) return;
    this.topics.add(topic);
    this.hub.add(topic, this);
  }
  unsubscribe(topic: string): void {
    if (this.topics.delete(topic)) this.hub.remove(topic, this);
  }
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.close(code, reason);
  }
  cork(fn: () => void): void {
    fn();
  }
  dispose(): void {
    this.closed = true;
    for (const topic of this.topics) this.hub.remove(topic, this);
    this.topics.clear();
  }
}

class TopicHub {
  private readonly topics = new Map<string, Set<WsSocket>>();

  add(topic: string, socket: WsSocket): void {
    let set = this.topics.get(topic);
    if (!set) this.topics.set(topic, (set = new Set()));
    set.add(socket);
  }
  remove(topic: string, socket: WsSocket): void {
    const set = this.topics.get(topic);
    if (set && set.delete(socket) && set.size === 0) this.topics.delete(topic);
  }
  publish(topic: string, frame: Uint8Array, except: WsSocket | null): void {
    const set = this.topics.get(topic);
    if (!set) return;
    for (const socket of set) if (socket !== except) socket.send(frame);
  }
}

function toUint8Array(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

export function createWsTransport<S>(options: TransportOptions<S>): Transport {
  const { handlers } = options;
  const originAllowed = originChecker(options.allowedOrigins);
  const hub = new TopicHub();

  // The same bound on request heads as uWS (MAX_HEADER_BYTES); beyond it Node's parser stops and
  // clientError below answers 431.
  const server = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let rejected = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > options.maxHttpBodyBytes && !rejected) {
        rejected = true;
        res.writeHead(413, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'request body too large' }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (rejected) return;
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const request: HttpRequest = {
        method: (req.method ?? 'GET').toUpperCase(),
        path: q === -1 ? url : url.slice(0, q),
        query: q === -1 ? '' : url.slice(q + 1),
        header: (name) => {
          const value = req.headers[name.toLowerCase()];
          return Array.isArray(value) ? value.join(', ') : value;
        },
        body: Buffer.concat(chunks),
        remoteAddress: canonicalAddress(req.socket.remoteAddress ?? ''),
      };
      respond(
        options.http,
        request,
        (response) => {
          try {
            res.writeHead(response.status, response.headers);
            res.end(response.body ?? '');
          } catch (error) {
            // Half a response cannot be mended: drop the connection rather than leave it hanging.
            res.destroy();
            throw error;
          }
        },
        options.onHttpError,
      );
    });
  });

  // What Node does by default for a request its parser refuses, with the API's JSON `{error}`
  // bodies: 431 for a request head over MAX_HEADER_BYTES (requests and upgrades alike), 413, 408, 400.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // Nothing can be said once a response on this connection has begun (Node checks the same).
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const response =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? RAW_HEADERS_TOO_LARGE
        : error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
          ? rawJsonResponse(413, 'Payload Too Large', JSON.stringify({ error: 'request body too large' }))
          : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? rawJsonResponse(408, 'Request Timeout', JSON.stringify({ error: 'request timeout' }))
            : rawJsonResponse(400, 'Bad Request', JSON.stringify({ error: 'bad request' }));
    socket.end(response, () => socket.destroy());
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes, perMessageDeflate: false });

  server.on('upgrade', (req, socket, head) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (!handlers.accepts(path)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    // An empty Origin counts as absent, as in uWS (which cannot tell the two apart).
    const origin = req.headers.origin || null;
    if (!originAllowed(origin)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const transportSocket = new WsSocket(ws, hub, options.maxBackpressureBytes);
      const request: UpgradeRequest = {
        path,
        query: q === -1 ? '' : url.slice(q + 1),
        remoteAddress: canonicalAddress(req.socket.remoteAddress ?? ''),
        origin,
      };
      const state = handlers.open(transportSocket, request);
      ws.on('message', (data, isBinary) => {
        if (!transportSocket.closed) handlers.message(state, toUint8Array(data as Buffer), isBinary);
      });
      ws.on('close', (code) => {
        transportSocket.dispose();
        handlers.close(state, code);
      });
      ws.on('error', () => {
        // `ws` reports protocol violations (e.g. oversized frames) here and then closes;
        // the close handler above does the cleanup.
      });
    });
  });

  return {
    kind: 'ws',
    listen(host, port) {
      return new Promise((resolve, reject) => {
        const failed = (error: Error) => reject(listenError(host, port, error));
        server.once('error', failed);
        // Node never sets SO_REUSEPORT: a port another process holds is EADDRINUSE.
        server.listen({ port, host, exclusive: true }, () => {
          server.off('error', failed);
          const address = server.address();
          resolve(typeof address === 'object' && address ? address.port : port);
        });
      });
    },
    publish(topic, frame) {
      hub.publish(topic, frame, null);
    },
    stopListening() {
      server.close();
      // Idle keep-alive HTTP connections would otherwise hold the process open.
      server.closeIdleConnections();
    },
  };
}
