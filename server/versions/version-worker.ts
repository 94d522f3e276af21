/**
 * The version worker: everything heavy about taking a version runs on a worker thread
 * (version-worker-thread.ts), where a large paper would otherwise pause every editor of every
 * document. This is the main thread's side of it.
 *
 * - `encode(parts)`: merges stored updates the caller read into one Yjs state with its
 *   identity (PGlite, whose single connection lives in the main thread).
 * - `merge(updates, encode)`: compaction's folds (UpdateMerger), so folding a large document's
 *   tail does not pause its editors (openStorage gives DurableStorage one of its own).
 * - `store(request)` (PostgreSQL): the thread runs `storeVersion` (store-version.ts) on its
 *   own connection opened from the same URL, so the main thread sends a document id and gets
 *   back a row id; the state comes back only for a new version, moved without a copy, for the
 *   version listeners. node-postgres' parsing and serializing of the state (hex text for
 *   bytea) then costs the worker, not the editors.
 *
 * The thread is started on first use, unref'd (it never keeps the process alive), restarted
 * after a crash (whatever it held is rejected), and runs one request at a time in order.
 * Requests waiting for it are bounded (MAX_WAITING); beyond that a request rejects with
 * EncoderBusyError and the caller tries later. A failed request (a statement, the connection)
 * rejects with the thread's error message; its next request opens a fresh connection.
 *
 * The thread runs compiled JavaScript: the module next to this one in dist/, or dist/'s copy
 * when this module runs from source (vitest), so tests need a build first, as the ones that
 * start servers in child processes do.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { MergeResult, UpdateMerger } from '../persistence/merge.js';
import type { EncodedState, StoreOutcome, StoreRequest } from './store-version.js';
import type { VersionThreadData, VersionThreadReply, VersionThreadRequest } from './version-worker-thread.js';

export class EncoderBusyError extends Error {}

const MAX_WAITING = 64;

/** The worker's name in pg_stat_activity. */
export const VERSION_WORKER_APPLICATION_NAME = 'scriptorium-versions';

/** The compiled thread module (see the module comment). */
function threadModule(): URL {
  const beside = new URL('./version-worker-thread.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  const built = new URL('../../dist/server/versions/version-worker-thread.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new Error(`the version worker thread is not built: no ${fileURLToPath(beside)} nor ${fileURLToPath(built)} (run npm run build)`);
}

interface Waiting {
  resolve(value: EncodedState | StoreOutcome | MergeResult): void;
  reject(error: Error): void;
}

/** A request as sent, before it is numbered. */
type Unnumbered<T> = T extends unknown ? Omit<T, 'id'> : never;

export interface VersionWorkerOptions {
  /** PostgreSQL URL the worker connects with for `store`; without it only `encode` is available. */
  readonly connectionString?: string | undefined;
}

export class VersionWorker implements UpdateMerger {
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
    const own = parts.map((part) =>
      part.buffer instanceof ArrayBuffer && part.byteOffset === 0 && part.byteLength === part.buffer.byteLength ? part : part.slice(),
    );
    const transfer = [...new Set(own.map((part) => part.buffer as ArrayBuffer))];
    return this.send<EncodedState>({ op: 'encode', parts: own }, transfer, 'encoding a version failed');
  }

  /**
   * UpdateMerger: folds on the thread. The updates are copied (the caller keeps using them:
   * compaction coarsens the same rows); the state comes back moved.
   */
  merge(updates: readonly Uint8Array[], encode: boolean): Promise<MergeResult> {
    return this.send<MergeResult>({ op: 'merge', parts: [...updates], encode }, [], 'folding updates failed');
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

  /** Sends a request; `T` is what the thread answers that request with. */
  private send<T extends EncodedState | StoreOutcome | MergeResult>(
    message: Unnumbered<VersionThreadRequest>,
    transfer: ArrayBuffer[],
    failure: string,
  ): Promise<T> {
    if (this.closed) return Promise.reject(new Error('version worker closed'));
    if (this.waiting.size >= MAX_WAITING)
      return Promise.reject(new EncoderBusyError(`${MAX_WAITING} versions already waiting for the version worker`));
    let worker: Worker;
    try {
      worker = this.started();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, {
        resolve: (value) => resolve(value as T),
        reject: (error) => reject(new Error(`${failure}: ${error.message}`)),
      });
      const request: VersionThreadRequest = { id, ...message };
      worker.postMessage(request, transfer);
    });
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const workerData: VersionThreadData = {
      connectionString: this.options.connectionString,
      applicationName: VERSION_WORKER_APPLICATION_NAME,
    };
    const worker = new Worker(threadModule(), { workerData });
    worker.unref();
    worker.on('message', (reply: VersionThreadReply) => {
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
