/**
 * A real HTTP receiver for webhook deliveries on 127.0.0.1: it records every request (headers,
 * raw body), answers with `status`, checks signatures independently of the server's code, and
 * can go down (nothing listens: connection refused) and come back on the same port.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import type { WebhookDeliveryBody } from '../../server/webhooks/webhook-events.js';
import { freePort } from './wait.js';

export interface ReceivedRequest {
  /** The request's path (a test can register several webhooks on one receiver by path). */
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly raw: string;
  readonly body: WebhookDeliveryBody;
  /** What the receiver answered. */
  readonly answered: number;
  /** Date.now() on arrival. */
  readonly at: number;
}

export class WebhookReceiver {
  /** Every request, in arrival order, whatever was answered. */
  readonly requests: ReceivedRequest[] = [];
  /** The status the next requests get… */
  status = 200;
  /** …this long after they arrived. */
  delayMs = 0;
  private server: http.Server | null = null;
  private readonly sockets = new Set<Socket>();

  private constructor(readonly port: number) {}

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(await freePort());
    await receiver.up();
    return receiver;
  }

  /** A URL of this receiver; `path` tells webhooks apart. */
  url(path = '/hooks'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** The deliveries answered 2xx (to `path` if given), each once (by delivery id), in order of first acceptance. */
  accepted(path?: string): ReceivedRequest[] {
    const seen = new Set<string>();
    return this.requests.filter((request) => {
      if (path !== undefined && request.path !== path) return false;
      if (request.answered < 200 || request.answered >= 300 || seen.has(request.body.id)) return false;
      seen.add(request.body.id);
      return true;
    });
  }

  /** Delivery ids answered 2xx more than once. */
  acceptedTwice(): string[] {
    const counts = new Map<string, number>();
    for (const request of this.requests)
      if (request.answered >= 200 && request.answered < 300) counts.set(request.body.id, (counts.get(request.body.id) ?? 0) + 1);
    return [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  }

  /** Accepted deliveries of one event (to `path` if given). */
  ofEvent(event: string, path?: string): ReceivedRequest[] {
    return this.accepted(path).filter((request) => request.body.event === event);
  }

  /** Starts listening (again) on its port. */
  async up(): Promise<void> {
    if (this.server) return;
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const answered = this.status;
        this.requests.push({
          path: request.url ?? '',
          headers: request.headers,
          raw,
          body: JSON.parse(raw) as WebhookDeliveryBody,
          answered,
          at: Date.now(),
        });
        const answer = () => response.writeHead(answered, { 'content-type': 'text/plain' }).end('ok');
        if (this.delayMs > 0) setTimeout(answer, this.delayMs);
        else answer();
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Stops listening and drops open connections: the server's next attempts are refused. */
  async down(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}

/** True when the request's X-Scriptorium-Signature is HMAC-SHA256(secret, "<timestamp>.<raw body>"), computed here. */
export function hasValidSignature(request: ReceivedRequest, secret: string): boolean {
  const timestamp = request.headers['x-scriptorium-timestamp'];
  const signature = request.headers['x-scriptorium-signature'];
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return false;
  return signature === `sha256=${createHmac('sha256', secret).update(`${timestamp}.${request.raw}`).digest('hex')}`;
}
