/**
 * Hardening (item 7): a second instance on a port already in use must fail to start with a
 * clear message, whichever transport either of them runs. uWebSockets.js binds with
 * SO_REUSEPORT by default, so without LIBUS_LISTEN_EXCLUSIVE_PORT a second uWS server on the
 * same port "listened" and the kernel split the connections between the two processes.
 *
 * In process (both transports, every pairing) and through the CLI (`node dist/server/main.js`,
 * built by `npm test`; `npx tsc -p tsconfig.json` before running this file alone): the
 * second process exits non-zero with one line on stderr naming the port.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';
import { freePort, waitFor } from '../helpers/wait.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

afterEach(async () => {
  await closeServers();
});

describe('a port already in use', () => {
  // A fixed port, not 0: the kernel never shares a port picked for port 0, so only a named one shows the bug.
  describe.each(TRANSPORTS.flatMap((first) => TRANSPORTS.map((second) => [first, second] as const)))(
    'held by %s, second server on %s',
    (first, second) => {
      it('refuses to start, naming the port', async () => {
        const port = await freePort();
        const holder = await startTestServer(first, { port });
        expect(holder.port).toBe(port);
        const attempt = startTestServer(second, { port });
        await expect(attempt).rejects.toThrow(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: address already in use`));
        // The first server still answers: nothing was split or stolen.
        const response = await fetch(`http://127.0.0.1:${port}/healthz`);
        expect(response.status).toBe(200);
      });
    },
  );
});

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a second `main.js` on `port`; kills it (and reports what it printed) if it does not exit within 20 s. */
function secondInstance(port: number, transport: string): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'server', 'main.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: String(port),
        STORAGE: 'memory',
        TRANSPORT: transport,
        LOG_LEVEL: 'info',
        NODE_OPTIONS: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the CLI on a port already in use', () => {
  let holder: ChildServer | null = null;
  afterEach(async () => {
    await holder?.stop();
    holder = null;
  });

  it.each(TRANSPORTS)('a second %s instance exits non-zero with one line naming the port', async (transport) => {
    holder = await startChildServer({ STORAGE: 'memory', TRANSPORT: transport });
    const exit = await secondInstance(holder.port, transport);
    expect(exit.stdout, 'the second instance never listens').not.toContain('"msg":"listening"');
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    const lines = exit.stderr.split('\n').filter((line) => line !== '');
    expect(lines, exit.stderr).toHaveLength(1);
    expect(lines[0]).toBe(`scriptorium: cannot listen on 127.0.0.1:${holder.port}: address already in use (is another instance running?)`);
    // The first instance still serves.
    await waitFor(async () => (await fetch(`http://127.0.0.1:${holder!.port}/healthz`)).status === 200, 5_000, 'first instance answers');
  });
});
