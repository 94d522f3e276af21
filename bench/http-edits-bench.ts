/**
 * HTTP edit latency on a live document: requests to `POST …/edits` (an append, a replace) and
 * `POST …/updates` (a paragraph as a raw Yjs update), one at a time, while a Hocuspocus client
 * types into the paper and a y-websocket client reads it. Measured from sending the request to
 * reading the whole answer, which the server sends only once the write is committed. The
 * server runs in this process on a scratch PostgreSQL database (created and dropped), with its
 * default commit settings.
 * Run: npm run build && node dist/bench/http-edits-bench.js [requests]
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { HocuspocusProvider } from '@hocuspocus/provider';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { parseCli } from '../server/command-line.js';
import { ADMIN_URL, adminQuery } from './admin-database.js';
import { startServer } from '../server/server.js';
import { machineDescription, otherCpuMeter } from './run-info.js';
import { Histogram } from './stats.js';

const cli = parseCli({
  command: 'node dist/bench/http-edits-bench.js',
  synopsis: '[options] [requests]',
  summary: `HTTP edit latency on a live document: POST …/edits (append, replace) and POST …/updates
(a raw Yjs update), one request at a time, while a Hocuspocus client types into the paper and a
y-websocket client reads it. Prints p50, p99 and max from request to answer (the answer comes
after the commit) per kind of write, with the load average and the CPU the rest of the machine
used meanwhile. The server runs in this process on a scratch PostgreSQL database.`,
  options: {
    paragraphs: { type: 'string', value: 'N', default: '200', description: 'paragraphs the paper starts with' },
    typing: {
      type: 'string',
      value: 'N',
      default: '10',
      description: 'keystrokes per second of the typing client (0: nobody types)',
    },
  },
  arguments: [{ name: 'requests', description: 'requests of each kind (default: 300)' }],
  environment: [{ name: 'BENCH_PG_ADMIN_URL', description: 'PostgreSQL admin URL (default: postgres://postgres@127.0.0.1:5432/postgres)' }],
});
const requests = cli.number(cli.positionals[0], 'requests', { integer: true, min: 1 }) ?? 300;
const paragraphs = cli.number(cli.values.paragraphs, '--paragraphs', { integer: true, min: 1 }) ?? 200;
const typingRate = cli.number(cli.values.typing, '--typing', { min: 0 }) ?? 10;
const NAME = 'bench/http-edits';
const KINDS = ['edits: append', 'edits: replace', 'updates: paragraph'] as const;
type Kind = (typeof KINDS)[number];

/** One paragraph as a raw update of a client of its own: it depends on nothing, so any document takes it. */
function paragraphUpdate(line: string): Uint8Array {
  const doc = new Y.Doc();
  const paragraph = new Y.XmlElement('paragraph');
  paragraph.insert(0, [new Y.XmlText(line)]);
  doc.getXmlFragment('default').insert(0, [paragraph]);
  return Y.encodeStateAsUpdate(doc);
}

async function main(): Promise<void> {
  const database = `scr_bench_http_${randomBytes(4).toString('hex')}`;
  await adminQuery(`create database ${database}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  const server = await startServer({
    config: {
      port: 0,
      host: '127.0.0.1',
      databaseUrl: url.toString(),
      storage: 'durable',
      logLevel: 'warn',
      httpRateLimitPerMinute: 1_000_000_000,
    },
  });
  const base = `http://127.0.0.1:${server.port}/api/documents`;
  const path = `${base}/${encodeURIComponent(NAME)}`;
  const providers: Array<{ destroy(): void }> = [];
  let typingTimer: NodeJS.Timeout | null = null;
  try {
    const seed = Array.from(
      { length: paragraphs },
      (_, i) => `Paragraph ${i} of the paper, with a **bold** word and some text around it.`,
    ).join('\n\n');
    const created = await fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: NAME, kind: 'paper', content: seed }),
    });
    if (created.status !== 201) throw new Error(`create: ${created.status} ${await created.text()}`);

    const typistDoc = new Y.Doc();
    const typist = new HocuspocusProvider({
      url: `ws://127.0.0.1:${server.port}`,
      name: NAME,
      document: typistDoc,
      WebSocketPolyfill: WebSocket,
    } as ConstructorParameters<typeof HocuspocusProvider>[0]);
    const reader = new WebsocketProvider(`ws://127.0.0.1:${server.port}/y`, NAME, new Y.Doc(), {
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
    });
    providers.push(typist, reader);
    const deadline = Date.now() + 10_000;
    while (!(typist.isSynced && reader.synced)) {
      if (Date.now() > deadline) throw new Error('the clients did not sync');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (typingRate > 0) {
      const fragment = typistDoc.getXmlFragment('default');
      const line = new Y.XmlText('Typed: ');
      const paragraph = new Y.XmlElement('paragraph');
      paragraph.insert(0, [line]);
      fragment.insert(fragment.length, [paragraph]);
      typingTimer = setInterval(() => line.insert(line.length, 'x'), 1000 / typingRate);
    }

    const histograms = new Map<Kind, Histogram>(KINDS.map((kind) => [kind, new Histogram()]));
    const all = new Histogram();
    const loadBefore = loadavg();
    const otherCpu = otherCpuMeter();
    for (let i = 0; i < requests; i++) {
      for (const kind of KINDS) {
        let init: RequestInit;
        if (kind === 'updates: paragraph') {
          init = { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: paragraphUpdate(`Raw ${i}`) };
        } else {
          const ops =
            kind === 'edits: append'
              ? [{ op: 'append', markdown: `Appended ${i}` }]
              : [{ op: 'replace', find: `Appended ${i}`, with: `Replaced ${i}` }];
          init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ops }) };
        }
        const started = performance.now();
        const answer = await fetch(`${path}/${kind.startsWith('updates') ? 'updates' : 'edits'}`, init);
        const body = await answer.text();
        const elapsed = performance.now() - started;
        if (answer.status !== 200) throw new Error(`${kind}: ${answer.status} ${body}`);
        histograms.get(kind)!.record(elapsed);
        all.record(elapsed);
      }
    }
    const otherCores = otherCpu();
    const loadAfter = loadavg();
    const state = new Uint8Array(await (await fetch(`${path}/content?format=yjs`)).arrayBuffer());

    const ms = (value: number | null) => (value === null ? 'n/a' : value.toFixed(2)).padStart(8);
    console.log(`machine: ${machineDescription()}`);
    console.log(
      `document: a paper of ${paragraphs} paragraphs to start, ${(state.byteLength / 1024).toFixed(0)} KiB at the end; typing ${typingRate}/s`,
    );
    console.log(
      `load average (1, 5, 15 min): before ${loadBefore.map((v) => v.toFixed(2)).join(' ')}, after ${loadAfter.map((v) => v.toFixed(2)).join(' ')}`,
    );
    console.log(`other processes used ${otherCores === null ? 'n/a' : otherCores.toFixed(2)} cores meanwhile`);
    console.log('kind                    requests   p50 ms   p99 ms   max ms');
    for (const [kind, histogram] of [...histograms, ['all', all] as const]) {
      console.log(
        `${kind.padEnd(22)} ${String(histogram.count).padStart(9)} ${ms(histogram.percentile(50))} ${ms(histogram.percentile(99))} ${ms(histogram.max)}`,
      );
    }
  } finally {
    if (typingTimer !== null) clearInterval(typingTimer);
    for (const provider of providers) provider.destroy();
    await server.close();
    await adminQuery(`drop database if exists ${database} with (force)`);
  }
}

// The providers' reconnect timers may outlive destroy(): exit once the figures are out.
main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
