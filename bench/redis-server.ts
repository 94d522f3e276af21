/**
 * A throwaway redis-server for the scale-out scenario: on a free port, no persistence, started
 * and stopped by the bench, so its command statistics count only the servers under test. The
 * sampler reads its CPU from /proc/<pid>/stat at the window's edges and `INFO commandstats` around the load.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import type { LoadObserver } from './loader.js';
import { readCpuSeconds } from './proc.js';
import { freePort, hasTaskset } from './servers.js';

export interface ThrowawayRedis {
  readonly url: string;
  pid(): number;
  /** `INFO commandstats`. */
  info(): Promise<RedisInfo>;
  stop(): Promise<void>;
}

export interface RedisInfo {
  /** Calls per command (lower case, `cmdstat_` removed; subcommands as `config|get`). */
  calls: Map<string, number>;
}

/** Parses the text of `INFO commandstats`. */
export function parseInfo(text: string): RedisInfo {
  const calls = new Map<string, number>();
  for (const line of text.split(/\r?\n/)) {
    const stat = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (stat) calls.set(stat[1]!, Number(stat[2]));
  }
  return { calls };
}

export async function startThrowawayRedis(opts: { binary: string; cpu: number | null }): Promise<ThrowawayRedis> {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  // exec keeps the pid, so /proc/<pid> is redis-server itself.
  const pin = opts.cpu !== null && hasTaskset() ? `exec taskset -c ${opts.cpu} "$@"` : 'exec "$@"';
  const child: ChildProcess = spawn('bash', ['-c', pin, 'bash', opts.binary, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  };
  const deadline = Date.now() + 10_000;
  while (!output.join('').includes('Ready to accept connections')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(
        `redis-server (${opts.binary}) did not start: ${output.join('').trim().split('\n').slice(-3).join(' | ') || 'no output'}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  return {
    url,
    pid: () => child.pid!,
    info: async () => parseInfo(String(await client.call('INFO', 'commandstats'))),
    stop: async () => {
      client.disconnect();
      await stop();
    },
  };
}

export interface RedisCommandRate {
  command: string;
  calls: number;
  perUpdate: number;
}

export interface RedisLoadStats {
  /** Edits the loader sent over the load phase (the denominator of `perUpdate`). */
  updates: number;
  /** Every command the servers sent during the load phase, most frequent first (the sampler's own INFO removed). */
  commands: RedisCommandRate[];
  /** PUBLISH (or SPUBLISH) calls over the load phase. */
  publishes: number;
  /** redis-server's CPU in the measurement window (/proc/<pid>/stat), seconds and % of one core. */
  cpuSec: number | null;
  cpuPct: number | null;
  cpuSecPerMillionUpdates: number | null;
}

/**
 * Samples a throwaway Redis along a run: commands over the whole load phase (every edit of the
 * run passes through it, so PUBLISH per update can be compared exactly), CPU over the window.
 */
export class RedisSampler implements LoadObserver {
  private before: Promise<RedisInfo> | null = null;
  private after: Promise<RedisInfo> | null = null;
  private cpuAtOpen: number | null = null;
  private cpuAtClose: number | null = null;

  constructor(private readonly redis: ThrowawayRedis) {}

  async loadStarting(): Promise<void> {
    this.before = this.redis.info();
    await this.before;
  }

  windowOpened(): void {
    this.cpuAtOpen = readCpuSeconds(this.redis.pid());
  }

  windowClosed(): void {
    this.cpuAtClose = readCpuSeconds(this.redis.pid());
  }

  async drained(): Promise<void> {
    this.after = this.redis.info();
    await this.after;
  }

  /** After the run: `updates` = edits sent over the whole run, `windowSec`/`windowUpdates` for the CPU figures. */
  async stats(updates: number, windowSec: number, windowUpdates: number): Promise<RedisLoadStats> {
    if (!this.before || !this.after) throw new Error('redis sampler: the run did not reach both ends of its load phase');
    const [before, after] = await Promise.all([this.before, this.after]);
    const commands: RedisCommandRate[] = [];
    for (const [command, total] of after.calls) {
      // Redis counts a command once it has run: the `before` INFO is in `after`, not in `before`.
      const calls = total - (before.calls.get(command) ?? 0) - (command === 'info' ? 1 : 0);
      if (calls > 0) commands.push({ command, calls, perUpdate: updates > 0 ? calls / updates : 0 });
    }
    commands.sort((a, b) => b.calls - a.calls || (a.command < b.command ? -1 : 1));
    const publishes = commands.filter((c) => c.command === 'publish' || c.command === 'spublish').reduce((a, c) => a + c.calls, 0);
    const cpuSec = this.cpuAtOpen !== null && this.cpuAtClose !== null ? this.cpuAtClose - this.cpuAtOpen : null;
    return {
      updates,
      commands,
      publishes,
      cpuSec,
      cpuPct: cpuSec === null ? null : (cpuSec / windowSec) * 100,
      cpuSecPerMillionUpdates: cpuSec === null || windowUpdates === 0 ? null : cpuSec / (windowUpdates / 1e6),
    };
  }
}
