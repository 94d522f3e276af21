/**
 * The version worker thread's code (started by version-worker.ts, never imported by the
 * main thread): it merges, hashes and — on PostgreSQL — reads and inserts versions off the
 * main thread, running the same `storeVersion` as the main thread does on PGlite.
 *
 * - `encode`: merges the parts the main thread read (PGlite) and gives the state back.
 * - `store`: `storeVersion` on the thread's own connection, opened from the same URL on
 *   first use (one connection; a broken one is replaced by the next request).
 *
 * One request at a time, in order: a large paper's state is held once, not once per request.
 * The state and hash of an answer are moved to the main thread, not copied.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { Db } from '../persistence/db.js';
import { failingUpdates, mergeUpdates, type MergeResult } from '../persistence/merge.js';
import { createPgDb } from '../persistence/pg-db.js';
import { encodeStoredState, storeVersion, type EncodedState, type StoreOutcome, type StoreRequest } from './store-version.js';

/** What the main thread hands the thread when starting it. */
export interface VersionThreadData {
  /** PostgreSQL URL for `store`; absent: only `encode`. */
  readonly connectionString: string | undefined;
  /** The connection's name in pg_stat_activity. */
  readonly applicationName: string;
}

export type VersionThreadRequest =
  | { readonly id: number; readonly op: 'encode'; readonly parts: Uint8Array[] }
  | { readonly id: number; readonly op: 'merge'; readonly parts: Uint8Array[]; readonly encode: boolean }
  | { readonly id: number; readonly op: 'store'; readonly request: StoreRequest };

export type VersionThreadReply =
  | { readonly id: number; readonly result: EncodedState | StoreOutcome | MergeResult }
  | { readonly id: number; readonly error: string };

/** A statement that hangs (a silent network) fails after this, and the connection is dropped. */
const QUERY_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 5_000;

function mainThread(): MessagePort {
  if (parentPort === null) throw new Error('version-worker-thread.ts runs as a worker thread (version-worker.ts starts it)');
  return parentPort;
}

const port = mainThread();
const data = workerData as VersionThreadData;

let db: Db | null = null;

function database(): Db {
  if (data.connectionString === undefined) throw new Error('the version worker has no database connection');
  db ??= createPgDb({
    connectionString: data.connectionString,
    applicationName: data.applicationName,
    max: 1,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    queryTimeoutMillis: QUERY_TIMEOUT_MS,
  });
  return db;
}

async function answer(message: VersionThreadRequest): Promise<void> {
  if (message.op === 'merge') {
    const result = message.encode ? mergeUpdates(message.parts) : { state: null, failed: failingUpdates(message.parts) };
    port.postMessage({ id: message.id, result } satisfies VersionThreadReply, result.state ? [result.state.buffer as ArrayBuffer] : []);
    return;
  }
  if (message.op === 'encode') {
    const result = encodeStoredState(message.parts);
    port.postMessage({ id: message.id, result } satisfies VersionThreadReply, [
      result.state.buffer as ArrayBuffer,
      result.hash.buffer as ArrayBuffer,
    ]);
    return;
  }
  const result = await storeVersion(database(), message.request, encodeStoredState);
  const moved = result.outcome === 'stored' ? [result.state.buffer as ArrayBuffer, result.hash.buffer as ArrayBuffer] : [];
  port.postMessage({ id: message.id, result } satisfies VersionThreadReply, moved);
}

let queue: Promise<void> = Promise.resolve();
port.on('message', (message: VersionThreadRequest) => {
  queue = queue
    .then(() => answer(message))
    .catch((error: unknown) =>
      port.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) } satisfies VersionThreadReply),
    );
});
