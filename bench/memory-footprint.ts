/**
 * JavaScript heap per connection and per room, in process (stub sockets, no kernel or
 * uWS memory): what one idle Hocuspocus connection and one loaded document cost.
 * Run: npm run build && node --expose-gc dist/bench/memory-footprint.js
 */
import * as Y from 'yjs';
import { HocuspocusConnection } from '../server/protocol/hocuspocus/hocuspocus-connection.js';
import { Room } from '../server/rooms/room.js';
import { RoomExtensions } from '../server/rooms/room-extension.js';
import { inProcessContext } from './in-process.js';
import type { TransportSocket } from '../server/transport/transport.js';
import { parseCli } from '../server/command-line.js';
import { encodeAuth, encodeSync } from './frames.js';

const cli = parseCli({
  command: 'node --expose-gc dist/bench/memory-footprint.js',
  summary: `JavaScript heap per connection and per room, in process (stub sockets, so no kernel or uWS
memory): what one idle Hocuspocus connection and one loaded document cost. Takes no arguments;
needs node's --expose-gc flag.`,
});
const gc = (globalThis as { gc?: () => void }).gc ?? cli.fail('run with node --expose-gc');
const heap = () => {
  gc();
  return process.memoryUsage().heapUsed;
};
const N = 9000;
const DOCS = 100;
const kept: unknown[] = [];
const noop = () => {};
// One shared stub: the transport's per-socket wrapper is not what is measured here.
const socket: TransportSocket = {
  closed: false,
  bufferedBytes: 0,
  send: noop,
  publish: noop,
  subscribe: noop,
  unsubscribe: noop,
  close: noop,
  cork: (fn) => fn(),
};
const publisher = { publish: noop };
const context = inProcessContext(publisher);
const { metrics, keepalive, storage } = context;
const extensions = new RoomExtensions([]);
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

// Load the documents first so the per-connection figures exclude them.
for (let d = 0; d < DOCS; d++) new HocuspocusConnection(socket, context).onMessage(encodeAuth(`doc${d}`, 'token'), true);
await settle();

const connections: HocuspocusConnection[] = [];
let before = heap();
for (let i = 0; i < N; i++) connections.push(new HocuspocusConnection(socket, context));
let after = heap();
console.log(`connection object:                 ${((after - before) / N).toFixed(0)} B`);
before = after;
for (let i = 0; i < N; i++) connections[i]!.onMessage(encodeAuth(`doc${i % DOCS}`, 'token'), true);
await settle();
for (let i = 0; i < N; i++) {
  connections[i]!.onMessage(encodeSync('hocuspocus', `doc${i % DOCS}`, 0, new Uint8Array([0])), true);
  connections[i]!.onMessage(encodeSync('hocuspocus', `doc${i % DOCS}`, 1, new Uint8Array([0, 0])), true);
}
after = heap();
console.log(`+ authenticated, joined, synced:   ${((after - before) / N).toFixed(0)} B`);

const perObject = (make: (i: number) => unknown): number => {
  const objects: unknown[] = [];
  const start = heap();
  for (let i = 0; i < 5000; i++) objects.push(make(i));
  const size = (heap() - start) / 5000;
  kept.push(objects);
  return size;
};
console.log(
  `Room with an empty document:       ${perObject((i) => new Room({ id: `id${i}`, name: `room${i}`, kind: 'paper', projectId: 'p', state: null }, { storage, extensions, publisher, metrics, poisoned: noop })).toFixed(0)} B`,
);
console.log(`  of which the empty Y.Doc:        ${perObject(() => new Y.Doc({ gc: true })).toFixed(0)} B`);
keepalive.stop();
process.exit(0);
