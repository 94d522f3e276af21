/**
 * Bench smoke: a real `node dist/server/main.js` (in memory), a tiny fan-out through the bench
 * loader, zero loss and measured latencies. Uses the compiled bench (npm test builds first)
 * because the loader is the same code users run with `npm run bench`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-ignore -- compiled output, built by `npm test` before vitest runs
import { assertSmoke, runSmoke } from '../../dist/bench/smoke.js';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';

describe('bench smoke', () => {
  let server: ChildServer | null = null;

  beforeAll(async () => {
    server = await startChildServer({ STORAGE: 'memory', LOG_LEVEL: 'info' });
  });

  afterAll(async () => {
    if (server?.process.exitCode === null) await server.stop();
  });

  it.each(['hocuspocus', 'y-websocket'] as const)('tiny fan-out over %s loses nothing and measures latency', async (protocol) => {
    const port = server!.port;
    const url = protocol === 'hocuspocus' ? `ws://127.0.0.1:${port}/` : `ws://127.0.0.1:${port}/y/`;
    const r = await runSmoke({ url, protocol, serverPid: server!.process.pid, durationSec: 3 });
    assertSmoke(r);
    expect(r.connections.failed).toBe(0);
    expect(r.loss.missingEdits).toBe(0);
    expect(r.loss.expectedEdits).toBeGreaterThan(0);
    expect(r.latencyMs.count).toBeGreaterThan(0);
    expect(r.latencyMs.p50).toBeGreaterThan(0);
    expect(r.latencyMs.p99).toBeGreaterThanOrEqual(r.latencyMs.p50!);
    if (protocol === 'hocuspocus') expect(r.ackMs!.p99).toBeGreaterThan(0);
    expect(r.server.cpuSec).not.toBeNull();
  });
});
