/**
 * Processes for durability tests: the server as a child process (so it can be killed
 * with SIGKILL), throwaway databases on the shared PostgreSQL, and throwaway
 * PostgreSQL clusters (initdb/pg_ctl in a temp dir, random port) that a test may stop.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, waitFor } from '../helpers/wait.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const PG_BIN = '/usr/lib/postgresql/15/bin';
export const SHARED_PG = 'postgres://postgres@127.0.0.1:5432';

/** Creates a uniquely named database on the shared server; returns its URL and a drop function. */
export async function createDatabase(prefix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: `${SHARED_PG}/postgres` });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  return {
    url: `${SHARED_PG}/${name}`,
    drop: async () => {
      const client = new pg.Client({ connectionString: `${SHARED_PG}/postgres` });
      await client.connect();
      await client.query(`drop database if exists "${name}" with (force)`);
      await client.end();
    },
  };
}

export interface ChildServer {
  readonly port: number;
  readonly process: ChildProcess;
  readonly output: string[];
  /** SIGKILL: no flush, no goodbye. */
  kill9(): Promise<void>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
}

/** Starts `node dist/server/main.js` (built by `npm test`) and waits for its "listening" line. */
export async function startChildServer(env: Record<string, string>, port?: number): Promise<ChildServer> {
  const chosen = port ?? (await freePort());
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'server', 'main.js')], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(chosen), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await waitFor(
    () => output.join('').includes('"msg":"listening"') || child.exitCode !== null,
    30_000,
    'child server to listen',
  );
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

/** A private PostgreSQL cluster that the test may stop and start; never the shared one. */
export class ThrowawayPostgres {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'scriptorium-pg-'));
  port = 0;

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async init(): Promise<void> {
    this.port = await freePort();
    run(`${PG_BIN}/initdb`, ['-D', this.dir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], true);
    await this.start();
  }

  async start(): Promise<void> {
    run(`${PG_BIN}/pg_ctl`, ['-D', this.dir, '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`, '-l', path.join(this.dir, 'log'), '-w', 'start']);
  }

  /** Immediate stop: like a crash of the database server. */
  stop(): void {
    run(`${PG_BIN}/pg_ctl`, ['-D', this.dir, '-m', 'immediate', '-w', 'stop']);
  }

  destroy(): void {
    spawnSync(`${PG_BIN}/pg_ctl`, ['-D', this.dir, '-m', 'immediate', 'stop'], { stdio: 'ignore', ...asPostgresUser() });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** initdb refuses to run as root: drop to the `postgres` system user when we are root. */
function asPostgresUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function run(command: string, args: string[], chownDir = false): void {
  const user = asPostgresUser();
  if (chownDir && user.uid !== undefined) spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, args[1]!]);
  const result = spawnSync(command, args, { encoding: 'utf8', ...user });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
}
