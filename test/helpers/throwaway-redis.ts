/** A private redis-server on a random port, for tests that stop and start Redis (never the shared one). */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, waitFor } from './wait.js';

export interface ThrowawayRedis {
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startThrowawayRedis(): Promise<ThrowawayRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async () => {
    const output: string[] = [];
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    await waitFor(() => output.join('').includes('Ready to accept connections'), 10_000, 'redis-server to start');
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      const running = child;
      child = null;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.on('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    },
    start,
  };
}
