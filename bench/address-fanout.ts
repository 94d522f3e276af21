/**
 * One document under many addresses ("name\0<n>", review item 3): what an edit costs.
 *
 * - micro: LocalFanOut.updateApplied for one 27-byte edit with A audiences (addresses) and a
 *   publisher stub: the server's JavaScript per edit, no sockets.
 * - e2e: a Scriptorium child process (in memory, pinned to core 0 when taskset exists), K
 *   sockets that each ask for the document under 1,000 addresses, a writer at R edits/s and
 *   a reader under the plain name: the reader's latency, frames per edit, server CPU.
 *
 * Run: npm run build && node dist/bench/address-fanout.js [--attackers 4] [--rate 50] [--seconds 10]
 */
import * as decoding from 'lib0/decoding';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { parseCli } from '../server/command-line.js';
import { createMetrics } from '../server/metrics.js';
import { encodeAddress } from '../server/codec/frames.js';
import { LocalFanOut } from '../server/rooms/local-fan-out.js';
import type { UpdateOrigin } from '../server/rooms/update-origin.js';
import type { TransportSocket } from '../server/transport/transport.js';
import { MessageType, SyncType } from '../server/codec/message-types.js';
import { encodeAuth, encodeMapSetUpdate, encodeSync, PONG_FRAME } from './frames.js';
import { startServer } from './servers.js';

const cli = parseCli({
  command: 'node dist/bench/address-fanout.js',
  synopsis: '[options]',
  summary: `What an edit costs when one document is open under many addresses ("name\\0<n>"): the
fan-out's JavaScript per edit for 1 to 4,000 audiences (micro), then a server child process with
sockets asking for 1,000 addresses each, a writer and a reader (e2e): the reader's latency, frames
sent per edit and the server's CPU.`,
  options: {
    attackers: { type: 'string', value: 'K', default: '4', description: 'sockets asking for 1,000 addresses each (e2e)' },
    rate: { type: 'string', value: 'R', default: '50', description: 'edits per second of the writer (e2e)' },
    seconds: { type: 'string', value: 'S', default: '10', description: 'how long the writer writes (e2e)' },
    'micro-only': { type: 'boolean', default: false, description: 'skip the e2e part' },
  },
});
const attackers = cli.number(cli.values.attackers, '--attackers', { integer: true, min: 0 })!;
const rate = cli.number(cli.values.rate, '--rate', { min: 1 })!;
const seconds = cli.number(cli.values.seconds, '--seconds', { min: 1 })!;

// ---- micro ---------------------------------------------------------------------------------

function micro(audiences: number): { usPerEdit: number; framesPerEdit: number } {
  let frames = 0;
  const publisher = { publish: (_topic: string, _frame: Uint8Array) => void frames++ };
  const metrics = createMetrics({ storageHealthy: () => true, storageStats: () => ({}) as never });
  const fanOut = new LocalFanOut('doc', publisher, metrics.counters);
  const socket = { subscribe() {}, unsubscribe() {}, publish: () => void frames++ } as unknown as TransportSocket;
  for (let i = 0; i < audiences; i++) {
    const address = i === 0 ? 'doc' : `doc\0${i}`;
    fanOut.join({ socket, address, prefix: encodeAddress(address) });
  }
  const origin = { kind: 'remote', userId: null, sessionId: 'bench', updateRefused() {} } as UpdateOrigin;
  const edits = Math.max(200, Math.floor(2_000_000 / audiences));
  const run = (n: number, from: number) => {
    for (let i = 0; i < n; i++) fanOut.updateApplied(encodeMapSetUpdate(7, from + i, 'm', 'k', i), origin, null);
  };
  run(Math.min(edits, 2_000), 0);
  frames = 0;
  const started = process.hrtime.bigint();
  run(edits, 10_000);
  const ns = Number(process.hrtime.bigint() - started);
  return { usPerEdit: ns / edits / 1000, framesPerEdit: frames / edits };
}

console.log('micro: LocalFanOut.updateApplied, one 27-byte edit');
console.log('| audiences | µs per edit | frames per edit |');
console.log('|---|---|---|');
for (const audiences of [1, 4, 16, 64, 1000, 4000]) {
  const best = [0, 1, 2].map(() => micro(audiences)).sort((a, b) => a.usPerEdit - b.usPerEdit)[0]!;
  console.log(`| ${audiences} | ${best.usPerEdit.toFixed(2)} | ${best.framesPerEdit} |`);
}

// ---- e2e -----------------------------------------------------------------------------------

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function connect(url: string, onFrame: (data: Uint8Array) => void = () => {}): Promise<WebSocket> {
  const ws = new WebSocket(url);
  ws.binaryType = 'nodebuffer';
  ws.on('message', (data: Buffer) => {
    if (data.length === 1 && data[0] === MessageType.Ping) ws.send(PONG_FRAME);
    else onFrame(data);
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function e2e(): Promise<void> {
  const DOC = 'addressed';
  const server = await startServer('scriptorium-mem', {
    cpu: 0,
    scriptoriumProtocol: 'hocuspocus',
    pgAdminUrl: '',
    env: { MAX_PENDING_DOCUMENTS: '1000' },
  });
  try {
    let attackerFrames = 0;
    let granted = 0;
    let answered = 0;
    const sockets: WebSocket[] = [];
    for (let a = 0; a < attackers; a++) {
      const ws = await connect(server.url, (data) => {
        attackerFrames++;
        const d = decoding.createDecoder(data);
        decoding.readVarString(d);
        if (decoding.readVarUint(d) === 2) {
          answered++;
          if (decoding.readVarUint(d) === 2) granted++;
        }
      });
      sockets.push(ws);
      for (let i = 0; i < 1000; i++) ws.send(encodeAuth(`${DOC}\0${a}-${i}`, 'token'));
    }
    const deadline = Date.now() + 30_000;
    while (answered < attackers * 1000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));

    const sentAt = new Map<number, number>();
    const latencies: number[] = [];
    const reader = await connect(server.url, (data) => {
      const d = decoding.createDecoder(data);
      decoding.readVarString(d);
      if (decoding.readVarUint(d) !== MessageType.Sync || decoding.readVarUint(d) !== SyncType.Update) return;
      const update = decoding.createDecoder(decoding.readVarUint8Array(d));
      decoding.readVarUint(update);
      decoding.readVarUint(update);
      decoding.readVarUint(update);
      const at = sentAt.get(decoding.readVarUint(update));
      if (at !== undefined) latencies.push(performance.now() - at);
    });
    const writer = await connect(server.url);
    for (const ws of [reader, writer]) {
      ws.send(encodeAuth(DOC, 'token'));
      ws.send(encodeSync('hocuspocus', DOC, SyncType.Step1, new Uint8Array([0])));
    }
    await new Promise((r) => setTimeout(r, 500));
    const cpuBefore = cpuSeconds(server.pid());
    const framesBefore = attackerFrames;
    const edits = Math.round(rate * seconds);
    for (let i = 0; i < edits; i++) {
      sentAt.set(i, performance.now());
      writer.send(encodeSync('hocuspocus', DOC, SyncType.Update, encodeMapSetUpdate(99, i, 'm', 'k', i)));
      await new Promise((r) => setTimeout(r, 1000 / rate));
    }
    await new Promise((r) => setTimeout(r, 2000));
    const cpu = cpuSeconds(server.pid()) - cpuBefore;
    latencies.sort((a, b) => a - b);
    const q = (p: number) =>
      latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(1) : 'n/a';
    console.log(
      `\ne2e: ${attackers} sockets asking for 1,000 addresses each (granted ${granted}), writer ${rate} edits/s for ${seconds} s, reader under the plain name`,
    );
    console.log('| edits received by the reader | latency p50 ms | p99 ms | frames to the address sockets per edit | server CPU s |');
    console.log('|---|---|---|---|---|');
    console.log(
      `| ${latencies.length}/${edits} | ${q(0.5)} | ${q(0.99)} | ${((attackerFrames - framesBefore) / edits).toFixed(1)} | ${cpu.toFixed(2)} |`,
    );
    for (const ws of [...sockets, reader, writer]) ws.terminate();
  } finally {
    await server.stop();
  }
}

if (!cli.values['micro-only']) await e2e();
