/**
 * The server's JavaScript cost per client update, in process and without sockets:
 * Hocuspocus Update frames go through HocuspocusConnection → Room → storage →
 * topic publish → ack, exactly as on the wire, with a transport stub that only counts.
 * Deterministic enough to compare hot-path changes (kernel and uWS time excluded).
 * Run: npm run build && node --expose-gc dist/bench/hot-path.js [updates] [members]
 */
import { HocuspocusConnection } from '../server/protocol/hocuspocus/hocuspocus-connection.js';
import { inProcessContext } from './in-process.js';
import type { TransportSocket } from '../server/transport/transport.js';
import { parseCli } from '../server/command-line.js';
import { encodeAuth, encodeMapSetUpdate, encodeSync } from './frames.js';

const WARMUP = 5_000;
const cli = parseCli({
  command: 'node --expose-gc dist/bench/hot-path.js',
  summary: `The server's JavaScript cost per client update, in process and without sockets: Hocuspocus
Update frames from two writers go through connection, room, in-memory storage, topic publish and
ack, with a transport stub that only counts. Prints wall and CPU µs per update and heap growth.
The first ${WARMUP} updates are a warm-up and not measured; --expose-gc makes the heap figure exact.`,
  arguments: [
    { name: 'updates', description: `updates to send, warm-up included (more than ${WARMUP}; default: 50000)` },
    { name: 'members', description: 'connections in the document, the two writers included (default: 20)' },
  ],
});
const updates = cli.number(cli.positionals[0], 'updates', { integer: true, min: WARMUP + 1 }) ?? 50_000;
const members = cli.number(cli.positionals[1], 'members', { integer: true, min: 2 }) ?? 20;

let frames = 0;
let bytes = 0;
const stubSocket = (): TransportSocket => ({
  closed: false,
  bufferedBytes: 0,
  send(frame) {
    frames++;
    bytes += frame.length;
  },
  publish(_topic, frame) {
    frames++;
    bytes += frame.length;
  },
  subscribe() {},
  unsubscribe() {},
  close(code, reason) {
    throw new Error(`stub socket closed: ${code} ${reason}`);
  },
  cork(fn) {
    fn();
  },
});

const publisher = { publish: (_topic: string, frame: Uint8Array) => void (frames++, (bytes += frame.length)) };
const context = inProcessContext(publisher);
const { keepalive } = context;

const doc = 'hot-path';
const connections = Array.from({ length: members }, () => new HocuspocusConnection(stubSocket(), context));
for (const connection of connections) connection.onMessage(encodeAuth(doc, 'token'), true);
await new Promise((resolve) => setTimeout(resolve, 50));

// Two writers, like the fan-out scenario; frames prepared up front so only the server is timed.
const prepared = Array.from({ length: updates }, (_, i) =>
  encodeSync('hocuspocus', doc, 2, encodeMapSetUpdate(1000 + (i % 2), i >> 1, 'e', `${i % 2}.${i >> 1}`, i)),
);
const writers = [connections[0]!, connections[1]!];
const run = (from: number, to: number) => {
  for (let i = from; i < to; i++) writers[i % 2]!.onMessage(prepared[i]!, true);
};
const gc = (globalThis as { gc?: () => void }).gc;
run(0, WARMUP); // warm-up
gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const cpuBefore = process.cpuUsage();
const started = performance.now();
run(WARMUP, updates);
const elapsed = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
const measured = updates - WARMUP;
console.log(`${measured} updates into one document with ${members} members (${frames} frames, ${bytes} bytes out)`);
console.log(`wall ${((elapsed * 1000) / measured).toFixed(2)} µs/update, cpu ${((cpu.user + cpu.system) / measured).toFixed(2)} µs/update`);
console.log(
  `heap growth ${((process.memoryUsage().heapUsed - heapBefore) / measured).toFixed(0)} bytes/update (document content included)`,
);
keepalive.stop();
process.exit(0);
