/**
 * Webhook delivery latency: changes made over the HTTP API of a server running in this process
 * (a scratch PostgreSQL database, created and dropped), and a global webhook registered through
 * the admin API to a receiver in this process. Each change is made alone and its delivery awaited
 * before the next, so a figure is one change's path: the outbox row committed with it (or the
 * update log's change mark turned into an event by the dispatcher's next round), then the
 * dispatcher's round that takes it, then the POST. Measured from reading the change's HTTP answer
 * (sent after the commit) to the receiver reading the delivery's body.
 *
 * `document.updated` and the comment events are debounced per document: the first change after a
 * quiet period goes out at the next round, a later one waits for the period to end. Both are
 * measured: the "quiet" rows on documents not announced for a whole period, and the "within the
 * debounce" row for a second edit made while the period runs, as total latency and as the part
 * beyond the period's end.
 * Run: npm run build && node dist/bench/webhook-latency.js
 */
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import * as Y from 'yjs';
import { parseCli } from '../server/command-line.js';
import { ADMIN_URL, adminQuery } from './admin-database.js';
import { addComment, setCommentResolved } from '../server/documents/comments.js';
import { startServer } from '../server/server.js';
import type { WebhookDeliveryBody, WebhookEvent } from '../server/webhooks/webhook-events.js';
import { machineDescription, otherCpuMeter } from './run-info.js';
import { Histogram } from './stats.js';

const cli = parseCli({
  command: 'node dist/bench/webhook-latency.js',
  synopsis: '[options]',
  summary: `Webhook delivery latency after a change: documents created and deleted, an HTTP edit, a
version, a comment created and resolved (raw updates), each made alone over the HTTP API of a
server in this process, delivered to a receiver in this process. Prints p50, p99 and max from
the change's HTTP answer (sent after its commit) to the delivery's arrival, per event; and for
document.updated made while its debounce period runs, the total and the part beyond the period.
The server runs on a scratch PostgreSQL database with its default webhook settings unless told.`,
  options: {
    rounds: { type: 'string', value: 'N', default: '20', description: 'changes per event' },
    debounced: {
      type: 'string',
      value: 'N',
      default: '10',
      description: 'documents edited twice in a row, the second edit within the debounce period',
    },
    'poll-ms': { type: 'string', value: 'MS', default: '500', description: 'WEBHOOK_POLL_MS of the server (its default: 500)' },
    'debounce-ms': {
      type: 'string',
      value: 'MS',
      default: '2000',
      description: 'WEBHOOK_DEBOUNCE_MS of the server (its default: 2000)',
    },
  },
  environment: [{ name: 'BENCH_PG_ADMIN_URL', description: 'PostgreSQL admin URL (default: postgres://postgres@127.0.0.1:5432/postgres)' }],
});
const rounds = cli.number(cli.values.rounds, '--rounds', { integer: true, min: 1, max: 1000 }) ?? 20;
const debouncedDocuments = cli.number(cli.values.debounced, '--debounced', { integer: true, min: 0, max: rounds }) ?? 10;
const pollMs = cli.number(cli.values['poll-ms'], '--poll-ms', { integer: true, min: 10, max: 60_000 }) ?? 500;
const debounceMs = cli.number(cli.values['debounce-ms'], '--debounce-ms', { integer: true, min: 0, max: 3_600_000 }) ?? 2000;
const ADMIN_TOKEN = randomBytes(16).toString('hex');
const HOOK_SECRET = randomBytes(16).toString('hex');
/** A delivery not seen this long after its change fails the run. */
const DELIVERY_TIMEOUT_MS = 30_000;
/** Past a debounce period's end before a document counts as quiet (the clocks are the same; this is for rounding). */
const QUIET_MARGIN_MS = 20;
const EDIT_EVENTS: ReadonlySet<WebhookEvent> = new Set(['document.updated', 'comment.created', 'comment.resolved']);

/** Wall-clock milliseconds with a fraction: comparable with the server's Date-based event times. */
const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Arrival {
  readonly body: WebhookDeliveryBody;
  readonly at: number;
}

/** Records every delivery (answered 200) and hands each to whoever waits for it. */
class Receiver {
  readonly arrivals: Arrival[] = [];
  badSignatures = 0;
  private readonly waiters = new Set<{ match: (body: WebhookDeliveryBody) => boolean; resolve: (arrival: Arrival) => void }>();
  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<Receiver> {
    const server = http.createServer();
    const receiver = new Receiver(server);
    server.on('request', (request: http.IncomingMessage, response: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const at = now();
        const raw = Buffer.concat(chunks).toString('utf8');
        receiver.check(request.headers, raw);
        response.writeHead(200).end();
        receiver.arrived({ body: JSON.parse(raw) as WebhookDeliveryBody, at });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  /** The first delivery matching `match` among those arrived from index `from` on, or the next one. */
  next(from: number, match: (body: WebhookDeliveryBody) => boolean, what: string): Promise<Arrival> {
    const arrived = this.arrivals.slice(from).find((arrival) => match(arrival.body));
    if (arrived) return Promise.resolve(arrived);
    return new Promise<Arrival>((resolve, reject) => {
      const waiter = {
        match,
        resolve: (arrival: Arrival) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(arrival);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const seen = this.arrivals.slice(from).map((arrival) => `${arrival.body.event} ${arrival.body.data.document.name}`);
        reject(new Error(`no ${what} delivered within ${DELIVERY_TIMEOUT_MS} ms (meanwhile: ${seen.join(', ') || 'none'})`));
      }, DELIVERY_TIMEOUT_MS);
      this.waiters.add(waiter);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private arrived(arrival: Arrival): void {
    this.arrivals.push(arrival);
    for (const waiter of [...this.waiters]) if (waiter.match(arrival.body)) waiter.resolve(arrival);
  }

  private check(headers: http.IncomingHttpHeaders, raw: string): void {
    const expected = `sha256=${createHmac('sha256', HOOK_SECRET).update(`${headers['x-scriptorium-timestamp']}.${raw}`).digest('hex')}`;
    if (headers['x-scriptorium-signature'] !== expected) this.badSignatures++;
  }
}

async function main(): Promise<void> {
  const database = `scr_bench_webhooks_${randomBytes(4).toString('hex')}`;
  await adminQuery(`create database ${database}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  const receiver = await Receiver.start();
  const server = await startServer({
    config: {
      port: 0,
      host: '127.0.0.1',
      databaseUrl: url.toString(),
      storage: 'durable',
      logLevel: 'warn',
      adminToken: ADMIN_TOKEN,
      httpRateLimitPerMinute: 1_000_000_000,
      webhookPollMs: pollMs,
      webhookDebounceMs: debounceMs,
    },
  });
  const api = `http://127.0.0.1:${server.port}/api`;
  const documentPath = (name: string) => `${api}/documents/${encodeURIComponent(name)}`;

  /** Sends a request; returns when its answer was read (the change is committed then). */
  async function request(method: string, target: string, body?: unknown, binary = false): Promise<{ answeredAt: number; body: string }> {
    // Open mode: the document routes take anyone; the admin routes the admin token.
    const headers: Record<string, string> = target.startsWith(`${api}/admin/`) ? { authorization: `Bearer ${ADMIN_TOKEN}` } : {};
    if (body !== undefined) headers['content-type'] = binary ? 'application/octet-stream' : 'application/json';
    const answer = await fetch(target, {
      method,
      headers,
      body: body === undefined ? undefined : binary ? (body as Uint8Array) : JSON.stringify(body),
    });
    const text = await answer.text();
    const answeredAt = now();
    if (answer.status >= 300) throw new Error(`${method} ${target}: ${answer.status} ${text}`);
    return { answeredAt, body: text };
  }

  /** Server time of the last edit event (document.updated, comment.*) delivered per document name. */
  const lastAnnounced = new Map<string, number>();
  const track = (arrival: Arrival): Arrival => {
    if (EDIT_EVENTS.has(arrival.body.event)) {
      const name = arrival.body.data.document.name;
      lastAnnounced.set(name, Math.max(lastAnnounced.get(name) ?? 0, Date.parse(arrival.body.createdAt)));
    }
    return arrival;
  };
  /** Waits until `name`'s debounce period is over, so its next edit event goes out at the next round. */
  async function quiet(name: string): Promise<void> {
    const last = lastAnnounced.get(name);
    if (last !== undefined) await sleep(Math.max(0, last + debounceMs + QUIET_MARGIN_MS - now()));
  }
  const isEvent = (event: WebhookEvent, name: string) => (body: WebhookDeliveryBody) =>
    body.event === event && body.data.document.name === name;

  /** The paper's state, as a doc a raw update can be computed on. */
  async function paperState(name: string): Promise<Y.Doc> {
    const answer = await fetch(`${documentPath(name)}/content?format=yjs`);
    if (answer.status !== 200) throw new Error(`content of ${name}: ${answer.status}`);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, new Uint8Array(await answer.arrayBuffer()));
    return doc;
  }
  /** Changes the paper as `change` does to its current state, through POST …/updates. */
  async function postChange(name: string, change: (doc: Y.Doc) => void): Promise<number> {
    const doc = await paperState(name);
    try {
      const before = Y.encodeStateVector(doc);
      change(doc);
      return (await request('POST', `${documentPath(name)}/updates`, Y.encodeStateAsUpdate(doc, before), true)).answeredAt;
    } finally {
      doc.destroy();
    }
  }

  const ROWS = [
    'document.created',
    'document.updated (quiet)',
    'document.updated (within the debounce)',
    'version.created',
    'comment.created (quiet)',
    'comment.resolved (quiet)',
    'document.deleted',
  ] as const;
  type Row = (typeof ROWS)[number];
  const histograms = new Map<Row, Histogram>(ROWS.map((row) => [row, new Histogram()]));
  const record = (row: Row, ms: number) => histograms.get(row)!.record(ms);
  /**
   * After a random pause within one poll interval (so the change falls anywhere in the
   * dispatcher's cycle, not just after the round that delivered the previous one), makes a change
   * (returns when it was answered) and records the time until its delivery under `row`.
   */
  async function measure(
    row: Row | null,
    what: string,
    change: () => Promise<number>,
    match: (body: WebhookDeliveryBody) => boolean,
  ): Promise<Arrival> {
    await sleep(Math.random() * pollMs);
    const from = receiver.arrivals.length;
    const answeredAt = await change();
    const arrival = track(await receiver.next(from, match, what));
    if (row !== null) record(row, arrival.at - answeredAt);
    return arrival;
  }
  const names = (kind: string) => Array.from({ length: rounds }, (_, i) => `bench/webhooks/${kind}-${i}`);
  const edit = async (name: string, text: string) =>
    (await request('POST', `${documentPath(name)}/edits`, { ops: [{ op: 'append', markdown: text }] })).answeredAt;

  try {
    await request('POST', `${api}/admin/webhooks`, {
      url: receiver.url,
      events: ['document.created', 'document.updated', 'document.deleted', 'version.created', 'comment.created', 'comment.resolved'],
      projectId: null,
      secret: HOOK_SECRET,
    });
    // The documents the changes go to, one set per lane: papers with content for the edits and
    // the comments (their creation's import is announced before anything is measured, and each
    // is then left quiet), empty ones for the versions and the deletes. Nobody edits the latter:
    // on an edited paper the server's own auto version may already hold the state, and naming it
    // labels that version (no event).
    const edited = names('edited');
    const commented = names('commented');
    const versioned = names('versioned');
    const deleted = names('deleted');
    for (const name of [...edited, ...commented]) {
      await request('POST', `${api}/documents`, { name, kind: 'paper', content: `A paper for webhooks, ${name}.` });
    }
    for (const name of [...versioned, ...deleted]) await request('POST', `${api}/documents`, { name, kind: 'paper' });
    await Promise.all(
      [...edited, ...commented].map(async (name) => track(await receiver.next(0, isEvent('document.updated', name), `${name}'s import`))),
    );

    const loadBefore = loadavg();
    const otherCpu = otherCpuMeter();
    const started = now();
    // One lane per kind of change, all at once; within a lane one change at a time, each awaited
    // until delivered. A few changes per second in all, so a round mostly carries one or two.
    await Promise.all([
      (async () => {
        for (const name of names('created')) {
          await measure(
            'document.created',
            name,
            async () => (await request('POST', `${api}/documents`, { name, kind: 'paper' })).answeredAt,
            isEvent('document.created', name),
          );
        }
      })(),
      (async () => {
        for (const name of versioned) {
          await measure(
            'version.created',
            name,
            async () => (await request('POST', `${documentPath(name)}/versions`, { label: 'bench' })).answeredAt,
            (body) => isEvent('version.created', name)(body) && body.data.version?.label === 'bench',
          );
        }
      })(),
      (async () => {
        for (const name of deleted) {
          await measure(
            'document.deleted',
            name,
            async () => (await request('DELETE', documentPath(name))).answeredAt,
            isEvent('document.deleted', name),
          );
        }
      })(),
      (async () => {
        for (const [i, name] of edited.entries()) {
          await quiet(name);
          await measure('document.updated (quiet)', name, () => edit(name, `Edit ${i}.`), isEvent('document.updated', name));
        }
      })(),
      (async () => {
        const comments = new Map<string, string>();
        for (const name of commented) {
          await quiet(name);
          const id = randomBytes(8).toString('hex');
          comments.set(name, id);
          await measure(
            'comment.created (quiet)',
            name,
            () =>
              postChange(name, (doc) =>
                addComment(doc, { id, anchor: { from: 0, to: 7 }, body: 'A remark', author: { id: null, name: 'bench' } }),
              ),
            (body) => body.event === 'comment.created' && body.data.comment?.id === id,
          );
        }
        for (const name of commented) {
          await quiet(name);
          const id = comments.get(name)!;
          await measure(
            'comment.resolved (quiet)',
            name,
            () => postChange(name, (doc) => setCommentResolved(doc, id, true)),
            (body) => body.event === 'comment.resolved' && body.data.comment?.id === id,
          );
        }
      })(),
    ]);

    // A second edit while the debounce period of the first one's event runs: it goes out at the
    // first round after the period ends. The documents go concurrently, the second edits spread
    // over the first half of the period.
    const beyond = new Histogram();
    await Promise.all(
      edited.slice(0, debouncedDocuments).map(async (name, i) => {
        await quiet(name);
        const first = await measure(null, name, () => edit(name, `First ${i}.`), isEvent('document.updated', name));
        await sleep(Math.random() * (debounceMs / 2));
        const from = receiver.arrivals.length;
        const answeredAt = await edit(name, `Second ${i}.`);
        const second = track(await receiver.next(from, isEvent('document.updated', name), `${name}'s second document.updated`));
        record('document.updated (within the debounce)', second.at - answeredAt);
        beyond.record(second.at - Math.max(answeredAt, Date.parse(first.body.createdAt) + debounceMs));
      }),
    );
    const seconds = (now() - started) / 1000;
    const otherCores = otherCpu();
    const loadAfter = loadavg();

    const ms = (value: number | null) => (value === null ? 'n/a' : value.toFixed(1)).padStart(8);
    console.log(`machine: ${machineDescription()}`);
    console.log(
      `server: WEBHOOK_POLL_MS ${pollMs}, WEBHOOK_DEBOUNCE_MS ${debounceMs}; ${rounds} changes per event, measured over ${seconds.toFixed(0)} s`,
    );
    console.log(
      `load average (1, 5, 15 min): before ${loadBefore.map((v) => v.toFixed(2)).join(' ')}, after ${loadAfter.map((v) => v.toFixed(2)).join(' ')}`,
    );
    console.log(`other processes used ${otherCores === null ? 'n/a' : otherCores.toFixed(2)} cores meanwhile`);
    console.log(`deliveries: ${receiver.arrivals.length}, bad signatures: ${receiver.badSignatures}`);
    console.log('answer → delivery                      changes   p50 ms   p99 ms   max ms');
    const line = (row: string, histogram: Histogram) =>
      console.log(
        `${row.padEnd(38)} ${String(histogram.count).padStart(7)} ${ms(histogram.percentile(50))} ${ms(histogram.percentile(99))} ${ms(histogram.max)}`,
      );
    for (const [row, histogram] of histograms) {
      if (histogram.count === 0) continue;
      line(row, histogram);
      if (row === 'document.updated (within the debounce)') line('  of which beyond the period', beyond);
    }
    if (receiver.badSignatures > 0) throw new Error(`${receiver.badSignatures} deliveries had a bad signature`);
  } finally {
    await server.close();
    await receiver.close();
    await adminQuery(`drop database if exists ${database} with (force)`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
