/**
 * The server as a child process (`node dist/server/main.js`, built by `npm test`), so a
 * test can kill it with SIGKILL or measure it from outside.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort, waitFor } from './wait.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface ChildServer {
  readonly port: number;
  readonly process: ChildProcess;
  readonly output: string[];
  /** SIGKILL: no flush, no goodbye. */
  kill9(): Promise<void>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
}

/** Starts `node [nodeArgs] dist/server/main.js` (built by `npm test`) and waits for its "listening" line. */
export async function startChildServer(env: Record<string, string>, port?: number, nodeArgs: readonly string[] = []): Promise<ChildServer> {
  const chosen = port ?? (await freePort());
  const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'dist', 'server', 'main.js')], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(chosen), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await waitFor(() => output.join('').includes('"msg":"listening"') || child.exitCode !== null, 30_000, 'child server to listen');
  if (child.exitCode !== null) throw new Error(`server exited at start:\n${output.join('')}`);
  return {
    port: chosen,
    process: child,
    output,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
