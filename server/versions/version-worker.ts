/**
 * The version worker thread: everything heavy about taking a version, off the main thread,
 * where a large paper would otherwise pause every editor of every document.
 *
 * - `encode(parts)`: merges stored updates the caller read into one Yjs state and computes its
 *   identity (PGlite, whose single connection lives in the main thread).
 * - `store(request)` (PostgreSQL): the worker itself, on its own connection opened from the
 *   same URL, reads the document's stored updates, merges, encodes and hashes them and inserts
 *   the version, with the very statements server/persistence/compaction.ts (`STORED_UPDATES_SQL`) and
 *   server/versions/version-store.ts (`INSERT_VERSION_SQL`) run in process, so every invariant of those
 *   holds (unique state per document, race-safe numbering). The main thread sends a document id
 *   and gets back a row id; the state comes back only for a new version, moved without a copy,
 *   for the version listeners. node-postgres' parsing and serializing of the state (hex text
 *   for bytea) then costs the worker, not the editors.
 *
 * The worker is started on first use, unref'd (it never keeps the process alive), restarted
 * after a crash (whatever it held is rejected), and runs one request at a time in order.
 * Requests waiting for it are bounded (MAX_WAITING); beyond that a request rejects with
 * EncoderBusyError and the caller tries later. A failed request (a statement, the connection)
 * rejects with the worker's error message; the worker's pool opens a fresh connection for the
 * next one.
 *
 * Its code is evaluated from a string (CommonJS, loading yjs' and pg's CommonJS builds by their
 * resolved paths), so the same file works from source (tests) and from the build. The identity
 * it computes is state-identity.ts' (sha-256 of the snapshot encoding): test/versions/state-identity
 * checks that both agree.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { STORED_UPDATES_SQL } from '../persistence/compaction.js';
import { INSERT_ATTEMPTS, INSERT_VERSION_SQL, type VersionKind } from './version-store.js';

export interface EncodedState {
  /** The merged state (one update). */
  readonly state: Uint8Array;
  /** state-identity.ts `stateHash` of it. */
  readonly hash: Uint8Array;
  /** No operation at all. */
  readonly empty: boolean;
}

export interface StoreRequest {
  readonly documentId: string;
  /** The newest version's identity: a state with it is not inserted (outcome `unchanged`). */
  readonly latestHash: Uint8Array | null;
  /** An empty state is not inserted (outcome `empty`): automatic versions. */
  readonly skipEmpty: boolean;
  readonly kind: VersionKind;
  readonly label: string | null;
  readonly createdBy: string | null;
}

export type StoreOutcome =
  /** The document no longer exists. */
  | { readonly outcome: 'gone' }
  | { readonly outcome: 'empty' }
  | { readonly outcome: 'unchanged' }
  /** Inserted (`created`), or that state was already stored as version `versionId`. */
  | { readonly outcome: 'stored'; readonly versionId: string; readonly created: boolean; readonly state: Uint8Array; readonly hash: Uint8Array };

export class EncoderBusyError extends Error {}

const MAX_WAITING = 64;

/** The worker's name in pg_stat_activity. */
export const VERSION_WORKER_APPLICATION_NAME = 'scriptorium-versions';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const Y = require(workerData.yjs);
const sql = workerData.sql;

let pool = null;
function database() {
  if (pool) return pool;
  const pg = require(workerData.pg);
  pool = new pg.Pool({
    connectionString: workerData.connectionString,
    application_name: workerData.applicationName,
    max: 1,
    connectionTimeoutMillis: 5000,
    query_timeout: 30000,
    idleTimeoutMillis: 30000,
    keepAlive: true,
  });
  // An idle connection whose server went away: the next request gets a fresh one.
  pool.on('error', () => {});
  return pool;
}

function encode(parts) {
  const doc = new Y.Doc();
  Y.transact(doc, () => {
    for (const part of parts) {
      // A stored row that does not apply is left out, as a load leaves it out (quarantine).
      try { Y.applyUpdate(doc, part); } catch {}
    }
  });
  const state = Y.encodeStateAsUpdate(doc);
  const hash = new Uint8Array(createHash('sha256').update(Y.encodeSnapshot(Y.snapshot(doc))).digest());
  const empty = doc.store.clients.size === 0;
  doc.destroy();
  return { state, hash, empty };
}

const same = (a, b) => a !== null && a.length === b.length && a.every((byte, i) => byte === b[i]);

async function store(request) {
  const db = database();
  const head = (await db.query(sql.head, [request.documentId])).rows[0];
  if (!head) return { outcome: 'gone' };
  const tail = (await db.query(sql.tail, [request.documentId, head.covered_position, head.covered_tx])).rows;
  const parts = tail.map((row) => row.update);
  if (head.state) parts.unshift(head.state);
  const { state, hash, empty } = encode(parts);
  if (request.skipEmpty && empty) return { outcome: 'empty' };
  if (same(request.latestHash, hash)) return { outcome: 'unchanged' };
  for (let attempt = 0; attempt < workerData.insertAttempts; attempt++) {
    const inserted = (await db.query(sql.insert, [request.documentId, request.label, state, request.kind, request.createdBy, hash, state.byteLength])).rows[0];
    if (inserted) return { outcome: 'stored', versionId: inserted.id, created: true, state, hash };
    const existing = (await db.query(sql.withHash, [request.documentId, hash])).rows[0];
    if (existing) return { outcome: 'stored', versionId: existing.id, created: false, state, hash };
  }
  throw new Error('could not number a new version of document ' + request.documentId + ' after ' + workerData.insertAttempts + ' attempts');
}

async function handle(message) {
  if (message.op === 'encode') {
    const result = encode(message.parts);
    parentPort.postMessage({ id: message.id, result }, [result.state.buffer, result.hash.buffer]);
    return;
  }
  const result = await store(message.request);
  parentPort.postMessage({ id: message.id, result }, result.outcome === 'stored' ? [result.state.buffer, result.hash.buffer] : []);
}

// One request at a time, in order: a large paper's state is held once, not once per request.
let running = Promise.resolve();
parentPort.on('message', (message) => {
  running = running.then(() => handle(message)).catch((error) => {
    parentPort.postMessage({ id: message.id, error: String((error && error.message) || error) });
  });
});
`;

interface Waiting {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

type Reply = { id: number; result: unknown } | { id: number; error: string };

export interface VersionWorkerOptions {
  /** PostgreSQL URL the worker connects with for `store`; without it only `encode` is available. */
  readonly connectionString?: string | undefined;
}

export class VersionWorker {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  private closed = false;

  constructor(private readonly options: VersionWorkerOptions = {}) {}

  /** Whether `store` is available (a PostgreSQL URL was given). */
  get stores(): boolean {
    return this.options.connectionString !== undefined;
  }

  /** Merges `parts` (applied in order) into one state with its identity. The parts are handed over: do not use them after. */
  encode(parts: readonly Uint8Array[]): Promise<EncodedState> {
    // Each part moves to the worker without a copy when its buffer is wholly its own (a row's
    // bytes); a view into a larger buffer (a pool, a driver's memory) is copied first, so
    // cloning never copies more than the part itself.
    const own = parts.map((part) => (part.buffer instanceof ArrayBuffer && part.byteOffset === 0 && part.byteLength === part.buffer.byteLength ? part : part.slice()));
    const transfer = [...new Set(own.map((part) => part.buffer as ArrayBuffer))];
    return this.send<EncodedState>({ op: 'encode', parts: own }, transfer, 'encoding a version failed');
  }

  /** Reads, merges, hashes and (unless the request says otherwise) inserts a version of the document, on the worker's own connection. */
  store(request: StoreRequest): Promise<StoreOutcome> {
    if (!this.stores) return Promise.reject(new Error('the version worker has no database connection'));
    return this.send<StoreOutcome>({ op: 'store', request }, [], 'storing a version failed');
  }

  /** Stops the worker (and its connection); whatever waits is rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    this.failAll(new Error('version worker closed'));
    await worker?.terminate();
  }

  private send<T>(message: object, transfer: ArrayBuffer[], failure: string): Promise<T> {
    if (this.closed) return Promise.reject(new Error('version worker closed'));
    if (this.waiting.size >= MAX_WAITING) return Promise.reject(new EncoderBusyError(`${MAX_WAITING} versions already waiting for the version worker`));
    const worker = this.started();
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject: (error) => reject(new Error(`${failure}: ${error.message}`)) });
      worker.postMessage({ id, ...message }, transfer);
    });
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const require = createRequire(import.meta.url);
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        yjs: require.resolve('yjs'),
        pg: require.resolve('pg'),
        connectionString: this.options.connectionString,
        applicationName: VERSION_WORKER_APPLICATION_NAME,
        sql: { ...STORED_UPDATES_SQL, ...INSERT_VERSION_SQL },
        insertAttempts: INSERT_ATTEMPTS,
      },
    });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const waiting = this.waiting.get(reply.id);
      if (!waiting) return;
      this.waiting.delete(reply.id);
      if ('error' in reply) waiting.reject(new Error(reply.error));
      else waiting.resolve(reply.result);
    });
    const lost = (error: Error) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.failAll(error);
    };
    worker.on('error', (error) => lost(error));
    worker.on('exit', (code) => lost(new Error(`the version worker exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  private failAll(error: Error): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const waiting of all) waiting.reject(error);
  }
}
