/**
 * A private three-node Redis Cluster (masters only) on random ports in a temporary
 * directory, for tests of the Cluster implementations (never the shared Redis). Each node
 * also needs its cluster-bus port (port + 10000) free.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { freePort, waitFor } from './wait.js';

const run = promisify(execFile);

export interface ThrowawayRedisCluster {
  /** The server's REDIS_URL for it: `redis-cluster://127.0.0.1:p1,127.0.0.1:p2,…`. */
  readonly url: string;
  readonly ports: readonly number[];
  /** A new Cluster client (closed by stop), optionally with a key prefix. */
  client(keyPrefix?: string): Cluster;
  /** Sum of a command's calls over every node (`INFO commandstats`), e.g. `spublish`. */
  calls(command: string): Promise<number>;
  /** Every node's `PUBSUB SHARDCHANNELS` (the sharded channels someone is subscribed to). */
  shardChannels(): Promise<string[]>;
  /** Kills every node and removes the directory. */
  stop(): Promise<void>;
}

const canBind = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** A free port whose cluster-bus port (+10000) is free too. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port > 55_000 || taken.has(port) || taken.has(port + 10_000)) continue;
    if (await canBind(port + 10_000)) return port;
  }
}

export async function startThrowawayRedisCluster(size = 3): Promise<ThrowawayRedisCluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scr-redis-cluster-'));
  const children: ChildProcess[] = [];
  const clients: Cluster[] = [];
  const taken = new Set<number>();
  const ports: number[] = [];
  const stop = async () => {
    await Promise.all(clients.map((client) => client.quit().catch(() => client.disconnect())));
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < size; i++) {
      const port = await clusterPort(taken);
      taken.add(port).add(port + 10_000);
      ports.push(port);
      const output: string[] = [];
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          path.join(dir, `nodes-${port}.conf`),
          '--save',
          '',
          '--appendonly',
          'no',
          '--daemonize',
          'no',
        ],
        { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(child);
      child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      await waitFor(
        () => output.join('').includes('Ready to accept connections') || child.exitCode !== null,
        10_000,
        `redis-server ${port} to start`,
      );
      if (child.exitCode !== null) throw new Error(`redis-server ${port} exited:\n${output.join('')}`);
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (const port of ports) {
      await waitFor(
        async () => (await run('redis-cli', ['-p', String(port), 'cluster', 'info'])).stdout.includes('cluster_state:ok'),
        15_000,
        `cluster_state:ok on ${port}`,
        100,
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `redis-cluster://${ports.map((port) => `127.0.0.1:${port}`).join(',')}`,
    ports,
    client(keyPrefix) {
      const client = new Cluster(
        ports.map((port) => ({ host: '127.0.0.1', port })),
        keyPrefix ? { keyPrefix } : {},
      );
      clients.push(client);
      return client;
    },
    async calls(command) {
      let total = 0;
      for (const port of ports) {
        const { stdout } = await run('redis-cli', ['-p', String(port), 'info', 'commandstats']);
        const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(stdout);
        total += match ? Number(match[1]) : 0;
      }
      return total;
    },
    async shardChannels() {
      const channels: string[] = [];
      for (const port of ports) {
        const { stdout } = await run('redis-cli', ['-p', String(port), 'pubsub', 'shardchannels']);
        channels.push(...stdout.split('\n').filter((line) => line !== ''));
      }
      return channels;
    },
    stop,
  };
}
