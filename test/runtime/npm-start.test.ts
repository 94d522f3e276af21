/**
 * `npm start` in this checkout, as a new user runs it: no DATABASE_URL, so the embedded PGlite
 * in DATA_DIR. The built server (dist/, current after `npm test`'s build) opens and migrates the
 * database, answers /healthz and /readyz, and a second start on the same data migrates nothing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../helpers/wait.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** A first start runs initdb, which takes long on a loaded machine. */
const START_TIMEOUT_MS = 150_000;
const dataDir = mkdtempSync(path.join(tmpdir(), 'scriptorium-npm-start-'));

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

interface Started {
  readonly port: number;
  readonly output: () => string;
  /** SIGTERM to npm and everything it started; resolves once all of them have exited. */
  stop(): Promise<void>;
}

async function npmStart(): Promise<Started> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info' };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'STORAGE', 'AUTH_SECRET', 'TRANSPORT']) delete env[name];
  // A process group of its own, so the signal reaches the server and not only npm.
  const child = spawn('npm', ['start'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  // 'close': npm has exited and so has the server, which shares its output pipes.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const output = () => chunks.join('');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) process.kill(-child.pid, 'SIGTERM');
    await closed;
  };
  try {
    await waitFor(() => output().includes('"msg":"listening"') || child.exitCode !== null, START_TIMEOUT_MS, 'npm start to listen', 50);
    if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}):\n${output()}`);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, output, stop };
}

const status = async (port: number, route: string): Promise<number> => (await fetch(`http://127.0.0.1:${port}${route}`)).status;

describe('npm start on the embedded default', () => {
  it(
    'migrates a new database and answers /healthz and /readyz',
    async () => {
      const server = await npmStart();
      try {
        expect(await status(server.port, '/healthz')).toBe(200);
        expect(await status(server.port, '/readyz')).toBe(200);
        expect(server.output()).toContain('database migrations applied');
        expect(server.output()).toContain('"database":"pglite"');
      } finally {
        await server.stop();
      }
      expect(server.output()).toContain('"flushed":true');
    },
    START_TIMEOUT_MS + 30_000,
  );

  it(
    'starts again on the same database without migrating it',
    async () => {
      const server = await npmStart();
      try {
        expect(await status(server.port, '/healthz')).toBe(200);
        expect(server.output()).not.toContain('database migrations applied');
      } finally {
        await server.stop();
      }
    },
    START_TIMEOUT_MS + 30_000,
  );
});
