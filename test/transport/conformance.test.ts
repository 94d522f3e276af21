/**
 * One conformance suite for the Transport interface, run against every implementation
 * (uWebSockets.js and ws): topics, sender exclusion, limits, close codes and HTTP.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { SocketHandlers, Transport, TransportOptions, TransportSocket } from '../../server/transport/transport.js';
import { createUwsTransport, loadNativeUws } from '../../server/transport/uws-transport.js';
import { createWsTransport } from '../../server/transport/ws-transport.js';

interface Peer {
  socket: TransportSocket;
  path: string;
  query: string;
  origin: string | null;
  remoteAddress: string;
  received: Uint8Array[];
  closedWith: number | null;
}

function factories(): Array<[string, <S>(options: TransportOptions<S>) => Transport]> {
  const native = loadNativeUws();
  if (!('uws' in native)) throw new Error(`uWS must load natively on this machine: ${native.error}`);
  return [
    ['uws', (options) => createUwsTransport(native.uws, options)],
    ['ws', (options) => createWsTransport(options)],
  ];
}

describe.each(factories())('Transport conformance: %s', (_name, create) => {
  let peers: Peer[] = [];
  let transport: Transport | null = null;
  let httpErrors: { error: unknown; phase: string }[] = [];
  const clients: WebSocket[] = [];

  afterEach(async () => {
    for (const client of clients) {
      client.on('error', () => {});
      try {
        client.terminate();
      } catch {
        // never connected (refused upgrade)
      }
    }
    clients.length = 0;
    transport?.stopListening();
    transport = null;
    peers = [];
    httpErrors = [];
  });

  /** Echo-less test handlers: each message is recorded; `sub:<t>` / `pub:<t>:<x>` / `close:<code>` are commands. */
  async function start(overrides: Partial<TransportOptions<Peer>> = {}, host = '127.0.0.1'): Promise<number> {
    const handlers: SocketHandlers<Peer> = {
      accepts: (path) => path === '/' || path.startsWith('/y/'),
      open(socket, request) {
        const peer: Peer = {
          socket,
          path: request.path,
          query: request.query,
          origin: request.origin,
          remoteAddress: request.remoteAddress,
          received: [],
          closedWith: null,
        };
        peers.push(peer);
        return peer;
      },
      message(peer, data, isBinary) {
        const text = isBinary ? null : Buffer.from(data).toString();
        if (text?.startsWith('sub:')) peer.socket.subscribe(text.slice(4));
        else if (text?.startsWith('unsub:')) peer.socket.unsubscribe(text.slice(6));
        else if (text?.startsWith('pub:')) {
          const [, topic, payload] = text.split(':');
          peer.socket.publish(topic!, Buffer.from(payload!));
        } else if (text?.startsWith('close:')) peer.socket.close(Number(text.slice(6)), 'asked to');
        else if (text?.startsWith('send:')) peer.socket.send(Buffer.from(text.slice(5)));
        else peer.received.push(data.slice());
      },
      close(peer, code) {
        peer.closedWith = code;
      },
    };
    transport = create<Peer>({
      handlers,
      http: (request) => ({
        status: 200,
        headers: { 'content-type': 'text/plain' },
        body: `${request.method} ${request.path}?${request.query} ${Buffer.from(request.body).toString()}`,
      }),
      maxMessageBytes: 64 * 1024,
      maxBackpressureBytes: 256 * 1024,
      maxHttpBodyBytes: 1024,
      onHttpError: (error, phase) => httpErrors.push({ error, phase }),
      ...overrides,
    });
    return transport.listen(host, 0);
  }

  async function connect(
    port: number,
    path = '/',
    options: { origin?: string; host?: string } = {},
  ): Promise<{ ws: WebSocket; frames: string[]; closed: Promise<number> }> {
    const ws = new WebSocket(
      `ws://${options.host ?? '127.0.0.1'}:${port}${path}`,
      options.origin === undefined ? {} : { origin: options.origin },
    );
    clients.push(ws);
    const frames: string[] = [];
    ws.on('message', (data) => frames.push(Buffer.from(data as Buffer).toString()));
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return { ws, frames, closed };
  }

  const until = async (condition: () => boolean, ms = 3000) => {
    const deadline = Date.now() + ms;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  it('listens on a free port when asked for port 0 and reports the request path and query', async () => {
    const port = await start();
    expect(port).toBeGreaterThan(0);
    await connect(port, '/y/some%20doc?token=abc');
    await until(() => peers.length === 1);
    expect(peers[0]!.path).toBe('/y/some%20doc');
    expect(peers[0]!.query).toBe('token=abc');
  });

  it('refuses an upgrade on a path the handlers do not accept', async () => {
    const port = await start();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/nope`);
    clients.push(ws);
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(404);
  });

  it('delivers binary frames to the handler and marks text frames as such', async () => {
    const port = await start();
    const { ws } = await connect(port);
    ws.send(new Uint8Array([1, 2, 3]));
    await until(() => peers[0]?.received.length === 1);
    expect([...peers[0]!.received[0]!]).toEqual([1, 2, 3]);
  });

  it('publishes to every subscriber except the sender, and stops after unsubscribe', async () => {
    const port = await start();
    const a = await connect(port);
    const b = await connect(port);
    const c = await connect(port);
    for (const client of [a, b, c]) client.ws.send('sub:t1');
    await new Promise((resolve) => setTimeout(resolve, 50));
    a.ws.send('pub:t1:hello');
    await until(() => b.frames.length === 1 && c.frames.length === 1);
    expect(b.frames).toEqual(['hello']);
    expect(a.frames).toEqual([]);
    c.ws.send('unsub:t1');
    await new Promise((resolve) => setTimeout(resolve, 50));
    a.ws.send('pub:t1:again');
    await until(() => b.frames.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(c.frames).toEqual(['hello']);
    // An app-level publish reaches every subscriber, the would-be sender included.
    transport!.publish('t1', Buffer.from('all'));
    await until(() => a.frames.length === 1 && b.frames.length === 3);
  });

  it('closes with the code the server chose and reports it to the handler', async () => {
    const port = await start();
    const a = await connect(port);
    a.ws.send('close:4401');
    expect(await a.closed).toBe(4401);
    await until(() => peers[0]!.closedWith !== null);
    expect(peers[0]!.socket.closed).toBe(true);
  });

  it('closes a socket that sends a frame above maxMessageBytes, and only that one', async () => {
    const port = await start();
    const big = await connect(port);
    const other = await connect(port);
    big.ws.send(new Uint8Array(65 * 1024));
    const code = await big.closed;
    expect([1006, 1009]).toContain(code);
    other.ws.send(new Uint8Array([7]));
    await until(() => peers[1]!.received.length === 1);
  });

  it('disconnects a reader that does not read instead of buffering without bound', async () => {
    const port = await start();
    const slow = await connect(port);
    const fast = await connect(port);
    slow.ws.send('sub:flood');
    fast.ws.send('sub:flood');
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Stop reading on the slow client's TCP socket.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const chunk = new Uint8Array(64 * 1024 - 16);
    for (let i = 0; i < 200 && !peers[0]!.socket.closed; i++) {
      transport!.publish('flood', chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await until(() => peers[0]!.closedWith !== null, 5000);
    expect(peers[1]!.closedWith).toBeNull();
  });

  it('answers a handler that throws with a 500 that names no internals, and reports the error', async () => {
    const port = await start({
      http: () => {
        throw new Error('secret connection string postgres://admin:hunter2@db');
      },
    });
    const response = await fetch(`http://127.0.0.1:${port}/api/boom`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: 'internal error' });
    await until(() => httpErrors.length === 1);
    expect(httpErrors[0]!.phase).toBe('handler');
    expect((httpErrors[0]!.error as Error).message).toContain('hunter2');
  });

  it('reports a response that cannot be written instead of leaving an unhandled rejection', async () => {
    const port = await start({ http: () => ({ status: 200, body: 42 as unknown as string }) });
    const outcome = await fetch(`http://127.0.0.1:${port}/bad`, { signal: AbortSignal.timeout(5_000) }).then(
      (response) =>
        response.text().then(
          () => 'body',
          (error: Error) => error.name,
        ),
      (error: Error) => error.name,
    );
    // The connection is dropped, not left hanging until the client gives up.
    expect(outcome).not.toBe('TimeoutError');
    await until(() => httpErrors.some((entry) => entry.phase === 'write'));
  });

  it('serves HTTP on the same port, with the request body', async () => {
    const port = await start();
    const get = await fetch(`http://127.0.0.1:${port}/healthz?x=1`);
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('GET /healthz?x=1 ');
    const post = await fetch(`http://127.0.0.1:${port}/api/thing`, { method: 'POST', body: 'payload' });
    expect(await post.text()).toBe('POST /api/thing? payload');
    const tooBig = await fetch(`http://127.0.0.1:${port}/api/thing`, { method: 'POST', body: 'x'.repeat(4096) });
    expect(tooBig.status).toBe(413);
  });

  /** The status of an upgrade the server refuses (the client sees an unexpected response). */
  async function refusedUpgrade(port: number, origin: string): Promise<number> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { origin });
    clients.push(ws);
    return new Promise<number>((resolve, reject) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('the upgrade was accepted')));
    });
  }

  const allowedOrigins = ['https://app.example.com', 'http://localhost:5173'];

  it('accepts an upgrade from a listed origin and reports the origin', async () => {
    const port = await start({ allowedOrigins });
    await connect(port, '/y/doc', { origin: 'http://localhost:5173' });
    await until(() => peers.length === 1);
    expect(peers[0]!.origin).toBe('http://localhost:5173');
  });

  it('refuses an upgrade from an origin not listed with 403, before any socket is opened', async () => {
    const port = await start({ allowedOrigins });
    expect(await refusedUpgrade(port, 'https://evil.example.net')).toBe(403);
    // A listed origin with another port or scheme is another origin.
    expect(await refusedUpgrade(port, 'http://app.example.com')).toBe(403);
    expect(await refusedUpgrade(port, 'null')).toBe(403);
    expect(peers).toEqual([]);
    // The listener is unharmed: a listed origin still gets in.
    await connect(port, '/', { origin: 'https://app.example.com' });
    await until(() => peers.length === 1);
  });

  it('accepts an upgrade without an Origin header (a non-browser client) when origins are listed', async () => {
    const port = await start({ allowedOrigins });
    await connect(port);
    await until(() => peers.length === 1);
    expect(peers[0]!.origin).toBeNull();
  });

  it('accepts any origin when no allow-list is given', async () => {
    const port = await start({ allowedOrigins: null });
    await connect(port, '/', { origin: 'https://anywhere.example.org' });
    await until(() => peers.length === 1);
    expect(peers[0]!.origin).toBe('https://anywhere.example.org');
  });

  it('still answers 404 for an unknown path, whatever the origin', async () => {
    const port = await start({ allowedOrigins });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/nope`, { origin: 'https://app.example.com' });
    clients.push(ws);
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(404);
  });

  it('reports the peer address of upgrades and HTTP requests, in the same form for IPv4 and IPv6', async () => {
    const seen: string[] = [];
    const http = (request: { remoteAddress: string }) => {
      seen.push(request.remoteAddress);
      return { status: 204 };
    };
    const port4 = await start({ http });
    await connect(port4);
    await until(() => peers.length === 1);
    expect((await fetch(`http://127.0.0.1:${port4}/healthz`)).status).toBe(204);
    expect([peers[0]!.remoteAddress, seen[0]]).toEqual(['127.0.0.1', '127.0.0.1']);
    transport!.stopListening();

    // uWS writes IPv6 in full (0000:…:0001), Node compresses it: both must say `::1`.
    const port6 = await start({ http }, '::1');
    await connect(port6, '/', { host: '[::1]' });
    await until(() => peers.length === 2);
    expect((await fetch(`http://[::1]:${port6}/healthz`)).status).toBe(204);
    expect([peers[1]!.remoteAddress, seen[1]]).toEqual(['::1', '::1']);
    transport!.stopListening();

    // A dual-stack listener sees IPv4 peers as ::ffff:127.0.0.1 (uWS: in full): plain IPv4 it is.
    const portDual = await start({ http }, '::');
    await connect(portDual);
    await until(() => peers.length === 3);
    expect((await fetch(`http://127.0.0.1:${portDual}/healthz`)).status).toBe(204);
    expect([peers[2]!.remoteAddress, seen[2]]).toEqual(['127.0.0.1', '127.0.0.1']);
  });
});
