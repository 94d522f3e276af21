/**
 * CI smoke: a tiny fan-out (5 docs × 4 clients, 3 s) against one server, in-process (no worker
 * processes, no pinning), asserting that no edit is lost and latencies were measured.
 */
import type { Protocol } from './frames.js';
import { type LoadResult, runLoad } from './loader.js';

export interface SmokeOptions {
  url: string;
  protocol?: Protocol;
  serverPid?: number;
  token?: string;
  /** Document names are `<docPrefix>0` … `<docPrefix>4` (default: a fresh prefix); a token-mode server needs them created first. */
  docPrefix?: string;
  durationSec?: number;
}

/** How many documents the smoke uses (names `<docPrefix>0` …). */
export const SMOKE_DOCS = 5;

export async function runSmoke(opts: SmokeOptions): Promise<LoadResult> {
  const result = await runLoad({
    label: 'smoke',
    protocol: opts.protocol ?? 'hocuspocus',
    urls: [opts.url],
    token: opts.token ?? 'bench',
    // A given token is a token-mode server's: y-websocket clients send it as ?token= too.
    tokenInUrl: opts.token !== undefined,
    docPrefix: opts.docPrefix ?? `smoke-${Date.now().toString(36)}-`,
    docs: SMOKE_DOCS,
    clientsPerDoc: 4,
    writersPerDoc: 1,
    probesPerDoc: 2,
    rate: 10,
    awarenessRate: 1,
    connectConcurrency: 10,
    connectTimeoutMs: 10_000,
    rawReaders: true,
    warmupSec: 0.5,
    durationSec: opts.durationSec ?? 3,
    drainMs: 3000,
    workers: 0,
    serverPids: opts.serverPid ? [opts.serverPid] : [],
    progress: false,
  });
  return result;
}

/** Throws with a readable reason when the smoke result is not clean. */
export function assertSmoke(r: LoadResult): void {
  const problems: string[] = [];
  if (r.connections.failed > 0) problems.push(`${r.connections.failed} connections failed: ${r.connections.firstError}`);
  if (r.loss.missingEdits > 0) problems.push(`lost ${r.loss.missingEdits} of ${r.loss.expectedEdits} edits`);
  if (r.loss.expectedEdits === 0) problems.push('no edits were sent');
  if (r.latencyMs.count === 0 || r.latencyMs.p99 === null) problems.push('no latency samples');
  if (r.protocol === 'hocuspocus' && (r.ackMs?.count ?? 0) === 0) problems.push('no SyncStatus acks');
  if (r.connections.disconnects > 0) problems.push(`${r.connections.disconnects} unexpected disconnects`);
  if (problems.length) throw new Error(`bench smoke failed: ${problems.join('; ')}`);
}
