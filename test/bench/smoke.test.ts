/**
 * Bench smoke: a real `node dist/server/main.js` (in memory), a tiny fan-out through the bench
 * loader, zero loss and measured latencies. Uses the compiled bench (npm test builds first)
 * because the loader is the same code users run with `npm run bench`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-ignore -- compiled output, built by `npm test` before vitest runs
import { assertSmoke, runSmoke } from '../../dist/bench/smoke.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const main = `${root}dist/server/main.js`;

/** PORT=0 cannot be read back from a child process: reserve a free port first. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitReady(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server not ready');
}

describe('bench smoke', () => {
  let child: ChildProcess | null = null;
  let port = 0;
  let output = '';

  beforeAll(async () => {
    if (!existsSync(main)) throw new Error(`${main} missing: run npm run build`);
    port = await freePort();
    child = spawn(process.execPath, [main], {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', STORAGE: 'memory', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    await waitReady(port, child).catch((err: Error) => {
      throw new Error(`${err.message}\n${output}`);
    });
  });

  afterAll(async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child?.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(t);
  });

  it.each(['hocuspocus', 'y-websocket'] as const)(
    'tiny fan-out over %s loses nothing and measures latency',
    async (protocol) => {
      const url = protocol === 'hocuspocus' ? `ws://127.0.0.1:${port}/` : `ws://127.0.0.1:${port}/y/`;
      const r = await runSmoke({ url, protocol, serverPid: child!.pid, durationSec: 3 });
      assertSmoke(r);
      expect(r.connections.failed).toBe(0);
      expect(r.loss.missingEdits).toBe(0);
      expect(r.loss.expectedEdits).toBeGreaterThan(0);
      expect(r.latencyMs.count).toBeGreaterThan(0);
      expect(r.latencyMs.p50).toBeGreaterThan(0);
      expect(r.latencyMs.p99).toBeGreaterThanOrEqual(r.latencyMs.p50!);
      if (protocol === 'hocuspocus') expect(r.ackMs!.p99).toBeGreaterThan(0);
      expect(r.server.cpuSec).not.toBeNull();
    },
  );
});
