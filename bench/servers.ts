/**
 * Child processes for the servers under test: Scriptorium (durable PostgreSQL, PGlite or memory),
 * the @hocuspocus/server peer and the y-websocket peer. Each is pinned to core 0 (the loader
 * takes core 1), gets the highest open-file limit allowed, and is killed by stop().
 */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Protocol } from './frames.js';

export type ServerKind = 'scriptorium-pg' | 'scriptorium-pglite' | 'scriptorium-mem' | 'hocuspocus' | 'y-websocket' | 'floor';
export const SERVER_KINDS: ServerKind[] = ['scriptorium-pg', 'scriptorium-pglite', 'scriptorium-mem', 'hocuspocus', 'y-websocket', 'floor'];

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SCRIPTORIUM_MAIN = join(REPO_ROOT, 'dist/server/main.js');
const HOCUSPOCUS_MAIN = join(REPO_ROOT, 'dist/bench/peers/hocuspocus.js');
const FLOOR_MAIN = join(REPO_ROOT, 'dist/bench/peers/relay-floor.js');
const Y_WEBSOCKET_MAIN = join(REPO_ROOT, 'node_modules/y-websocket/bin/server.js');

export interface ServerOptions {
  /** Pin the server to this CPU (taskset); null = no pinning. */
  cpu: number | null;
  /** Scriptorium transport (TRANSPORT env); undefined = its own choice. */
  transport?: string;
  /** Protocol the loader should speak to Scriptorium (it serves both). */
  scriptoriumProtocol: Protocol;
  /** PostgreSQL server for scriptorium-pg (a throwaway database is created in it). */
  pgAdminUrl: string;
  /**
   * scriptorium-pg: use this existing database (another instance's `database`) instead of a
   * throwaway one; it is then not dropped at stop. Several instances share one database, as a
   * scaled-out deployment does.
   */
  database?: string | null;
}

export interface RunningServer {
  kind: ServerKind;
  label: string;
  protocol: Protocol;
  /** Base WebSocket URL for the loader (Hocuspocus: the socket URL; y-websocket: prefix for doc names). */
  url: string;
  /** scriptorium-pg: the database it uses (for further instances); else null. */
  database: string | null;
  pid(): number;
  /** Kill and start again with the same storage (cold-load scenario). */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** Last lines of the server's output, for error messages. */
  tail(): string;
}

export async function freePort(): Promise<number> {
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

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Pin the current process and everything it forks later to one CPU. */
export function pinSelf(cpu: number): boolean {
  if (!hasTaskset()) return false;
  try {
    execFileSync('taskset', ['-a', '-pc', String(cpu), String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function waitReady(port: number, path: string | null, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited (${child.exitCode ?? child.signalCode})`);
    const ok = path
      ? await fetch(`http://127.0.0.1:${port}${path}`).then((r) => r.status === 200, () => false)
      : await new Promise<boolean>((resolve) => {
          const s = connect(port, '127.0.0.1', () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server not ready on port ${port} after ${timeoutMs} ms`);
}

interface LaunchSpec {
  args: string[];
  env: Record<string, string>;
  readyPath: string | null;
}

export async function startServer(kind: ServerKind, opts: ServerOptions): Promise<RunningServer> {
  const port = await freePort();
  const base = { HOST: '127.0.0.1', PORT: String(port), NODE_ENV: 'production' };
  let protocol: Protocol = 'hocuspocus';
  let url = `ws://127.0.0.1:${port}/`;
  /** Created here, so dropped at stop. */
  let dbName: string | null = null;
  let database: string | null = null;
  let dataDir: string | null = null;
  let spec: LaunchSpec;
  const scriptorium = (env: Record<string, string>): LaunchSpec => ({
    args: [SCRIPTORIUM_MAIN],
    env: { ...base, LOG_LEVEL: 'warn', ...(opts.transport ? { TRANSPORT: opts.transport } : {}), ...env },
    readyPath: '/readyz',
  });
  switch (kind) {
    case 'scriptorium-pg': {
      const shared = opts.database ?? null;
      if (!shared) {
        dbName = `scriptorium_bench_${process.pid}_${Date.now()}`;
        const admin = new pg.Client({ connectionString: opts.pgAdminUrl });
        await admin.connect();
        await admin.query(`create database ${dbName}`);
        await admin.end();
      }
      database = shared ?? dbName;
      const dbUrl = new URL(opts.pgAdminUrl);
      dbUrl.pathname = `/${database}`;
      spec = scriptorium({ DATABASE_URL: dbUrl.toString() });
      break;
    }
    case 'scriptorium-pglite':
      dataDir = mkdtempSync(join(tmpdir(), 'scriptorium-bench-'));
      spec = scriptorium({ DATA_DIR: dataDir });
      break;
    case 'scriptorium-mem':
      spec = scriptorium({ STORAGE: 'memory' });
      break;
    case 'hocuspocus':
      spec = { args: [HOCUSPOCUS_MAIN], env: base, readyPath: null };
      break;
    case 'floor':
      spec = { args: [FLOOR_MAIN], env: base, readyPath: null };
      break;
    case 'y-websocket':
      spec = { args: [Y_WEBSOCKET_MAIN], env: base, readyPath: null };
      protocol = 'y-websocket';
      break;
  }
  if (kind.startsWith('scriptorium') && opts.scriptoriumProtocol === 'y-websocket') {
    protocol = 'y-websocket';
    url = `ws://127.0.0.1:${port}/y/`;
  } else if (kind === 'y-websocket') {
    url = `ws://127.0.0.1:${port}/`;
  }

  const lines: string[] = [];
  let child: ChildProcess;
  const pin = opts.cpu !== null && hasTaskset() ? `exec taskset -c ${opts.cpu} "$@"` : 'exec "$@"';
  const launch = async (): Promise<void> => {
    // Raise the soft open-file limit to the hard one so density runs are not capped at 1024;
    // exec keeps the pid, so /proc/<pid> is the node process itself.
    child = spawn('bash', ['-c', `ulimit -n "$(ulimit -Hn)" 2>/dev/null; ${pin}`, 'bash', process.execPath, ...spec.args], {
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(line);
      if (lines.length > 50) lines.splice(0, lines.length - 50);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    try {
      await waitReady(port, spec.readyPath, child, 60_000);
    } catch (err) {
      await kill();
      throw new Error(`${kind}: ${(err as Error).message}\n${lines.join('\n')}`);
    }
  };
  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const cleanup = async (): Promise<void> => {
    if (dbName) {
      const admin = new pg.Client({ connectionString: opts.pgAdminUrl });
      await admin.connect();
      await admin.query(`drop database if exists ${dbName} with (force)`);
      await admin.end();
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await launch();
  } catch (err) {
    // A server that never came up must not leave its throwaway database behind.
    await cleanup().catch(() => {});
    throw err;
  }
  const label = kind + (kind.startsWith('scriptorium') && protocol === 'y-websocket' ? ' (y)' : '');
  return {
    kind,
    label,
    protocol,
    url,
    database,
    pid: () => child.pid!,
    tail: () => lines.join('\n'),
    restart: async () => {
      await kill();
      await launch();
    },
    stop: async () => {
      await kill();
      await cleanup();
    },
  };
}
