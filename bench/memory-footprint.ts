/**
 * JavaScript heap per connection and per room, in process (stub sockets, no kernel or
 * uWS memory): what one idle Hocuspocus connection and one loaded document cost.
 * Run: npm run build && node --expose-gc dist/bench/memory-footprint.js
 */
import pino from 'pino';
import * as Y from 'yjs';
import { MemoryStorage } from '../persistence/memory-storage.js';
import { openAuthorizer } from '../server/auth/authorizer.js';
import { createMetrics } from '../server/metrics.js';
import { HocuspocusConnection } from '../server/protocol/hocuspocus/hocuspocus-connection.js';
import { Keepalive } from '../server/protocol/keepalive.js';
import { Room } from '../server/rooms/room.js';
import { RoomRegistry } from '../server/rooms/room-registry.js';
import type { TransportSocket } from '../server/transport/transport.js';
import { encodeAuth, encodeSync } from './frames.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const heap = () => {
  gc();
  return process.memoryUsage().heapUsed;
};
const N = 9000;
const DOCS = 100;
const kept: unknown[] = [];
const noop = () => {};
// One shared stub: the transport's per-socket wrapper is not what is measured here.
const socket: TransportSocket = { closed: false, send: noop, publish: noop, subscribe: noop, unsubscribe: noop, close: noop, cork: (fn) => fn() };
const storage = new MemoryStorage();
const publisher = { publish: noop };
const metrics = createMetrics({ storageHealthy: () => true });
const logger = pino({ level: 'silent' });
const rooms = new RoomRegistry(storage, publisher, metrics, logger);
const keepalive = new Keepalive(publisher, 60_000);
const context = { rooms, authorizer: openAuthorizer, keepalive, metrics, logger, limits: { maxPendingDocuments: 100, maxDocumentsPerSocket: 1000, maxQueuedFrames: 1000, maxQueuedBytes: 5 << 20 } };
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
console.log(`Room with an empty document:       ${perObject((i) => new Room({ id: `id${i}`, name: `room${i}`, state: null }, storage, publisher, metrics)).toFixed(0)} B`);
console.log(`  of which the empty Y.Doc:        ${perObject(() => new Y.Doc({ gc: true })).toFixed(0)} B`);
keepalive.stop();
process.exit(0);
