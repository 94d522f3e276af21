/**
 * Merging a document's stored updates into one Yjs state, and its identity, on a worker
 * thread: for a large paper the encode alone holds a thread for tens of milliseconds, which on
 * the main thread would be a pause for every editor of every document. The main thread only
 * reads the rows (async I/O) and hands them over.
 *
 * The worker is started on first use, unref'd (it never keeps the process alive), restarted
 * after a crash (whatever it held is rejected), and runs one merge at a time in order.
 * Requests waiting for it are bounded (MAX_WAITING); beyond that `encode` rejects with
 * EncoderBusyError and the caller tries later.
 *
 * Its code is evaluated from a string (CommonJS, loading yjs' CommonJS build by its resolved
 * path), so the same file works from source (tests) and from the build. The identity it
 * computes is state-identity.ts' (sha-256 of the snapshot encoding): test/unit/state-identity
 * checks that both agree.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface EncodedState {
  /** The merged state (one update). */
  readonly state: Uint8Array;
  /** state-identity.ts `stateHash` of it. */
  readonly hash: Uint8Array;
  /** No operation at all. */
  readonly empty: boolean;
}

export class EncoderBusyError extends Error {}

const MAX_WAITING = 64;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const Y = require(workerData.yjs);
parentPort.on('message', ({ id, parts }) => {
  try {
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
    parentPort.postMessage({ id, state, hash, empty }, [state.buffer, hash.buffer]);
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});
`;

interface Waiting {
  resolve(value: EncodedState): void;
  reject(error: Error): void;
}

type Reply = { id: number; state: Uint8Array; hash: Uint8Array; empty: boolean } | { id: number; error: string };

export class StateEncoder {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  private closed = false;

  /** Merges `parts` (applied in order) into one state with its identity. The parts are handed over: do not use them after. */
  encode(parts: readonly Uint8Array[]): Promise<EncodedState> {
    if (this.closed) return Promise.reject(new Error('state encoder closed'));
    if (this.waiting.size >= MAX_WAITING) return Promise.reject(new EncoderBusyError(`${MAX_WAITING} versions already waiting to be encoded`));
    const worker = this.started();
    const id = ++this.nextId;
    return new Promise<EncodedState>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      // Each part moves to the worker without a copy when its buffer is wholly its own (a row's
      // bytes); a view into a larger buffer (a pool, a driver's memory) is copied first, so
      // cloning never copies more than the part itself.
      const own = parts.map((part) => (part.buffer instanceof ArrayBuffer && part.byteOffset === 0 && part.byteLength === part.buffer.byteLength ? part : part.slice()));
      const transfer = [...new Set(own.map((part) => part.buffer as ArrayBuffer))];
      worker.postMessage({ id, parts: own }, transfer);
    });
  }

  /** Stops the worker; whatever waits is rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    this.failAll(new Error('state encoder closed'));
    await worker?.terminate();
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { yjs: createRequire(import.meta.url).resolve('yjs') } });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const waiting = this.waiting.get(reply.id);
      if (!waiting) return;
      this.waiting.delete(reply.id);
      if ('error' in reply) waiting.reject(new Error(`encoding a version failed: ${reply.error}`));
      else waiting.resolve({ state: reply.state, hash: reply.hash, empty: reply.empty });
    });
    const lost = (error: Error) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.failAll(error);
    };
    worker.on('error', (error) => lost(error));
    worker.on('exit', (code) => lost(new Error(`the version encoder exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  private failAll(error: Error): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const waiting of all) waiting.reject(error);
  }
}
