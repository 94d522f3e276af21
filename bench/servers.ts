/**
 * Child processes for the servers under test: Scriptorium (durable PostgreSQL, PGlite or memory),
 * the @hocuspocus/server peer and the y-websocket peer. Each is pinned to core 0 (the loader
 * takes core 1), gets the highest open-file limit allowed, and is killed by stop().
 */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Tokens } from '../server/auth/tokens.js';
import type { Protocol } from './frames.js';

export type ServerKind =
  | 'scriptorium-pg'
  | 'scriptorium-pg-auth'
  | 'scriptorium-pglite'
  | 'scriptorium-mem'
  | 'hocuspocus'
  | 'y-websocket'
  | 'floor';
export const SERVER_KINDS: ServerKind[] = [
  'scriptorium-pg',
  'scriptorium-pg-auth',
  'scriptorium-pglite',
  'scriptorium-mem',
  'hocuspocus',
  'y-websocket',
  'floor',
];

/**
 * scriptorium-pg-auth: token mode (AUTH_SECRET) on a throwaway PostgreSQL database. One user,
 * editor of one private project; the scenario's documents are created in that project before
 * the load starts (in token mode opening a document never creates it), and every client sends
 * the user's token (Hocuspocus Auth message, `?token=` for y-websocket).
 */
export const BENCH_AUTH_SECRET = 'scriptorium-bench-auth-secret-0123456789abcdef';
const BENCH_IDS = {
  owner: 'b0000000-0000-4000-8000-000000000001',
  editor: 'b0000000-0000-4000-8000-000000000002',
  project: 'b1000000-0000-4000-8000-000000000001',
};

/** What the loader needs to pass a token-mode server's checks. */
export interface BenchAuth {
  /** A token of the editor (valid 24 h), for every client. */
  readonly token: string;
  /** Creates these documents in the editor's project (idempotent); before any client opens them. */
  addDocuments(names: readonly string[]): Promise<void>;
}

async function withDatabase<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** Seeds the owner, the editor and their project (idempotent: instances may share the database); mints the editor's token. */
async function seedBenchAuth(databaseUrl: string): Promise<BenchAuth> {
  await withDatabase(databaseUrl, (sql) =>
    sql.query(`
      insert into users (id, email, name) values
        ('${BENCH_IDS.owner}', 'bench-owner@example.org', 'Bench owner'),
        ('${BENCH_IDS.editor}', 'bench-editor@example.org', 'Bench editor')
        on conflict do nothing;
      insert into projects (id, name, owner_id, visibility) values ('${BENCH_IDS.project}', 'Bench', '${BENCH_IDS.owner}', 'private')
        on conflict do nothing;
      insert into project_members (project_id, user_id, role) values
        ('${BENCH_IDS.project}', '${BENCH_IDS.owner}', 'owner'), ('${BENCH_IDS.project}', '${BENCH_IDS.editor}', 'editor')
        on conflict do nothing;`),
  );
  const { token } = await new Tokens(BENCH_AUTH_SECRET).mint(BENCH_IDS.editor);
  return {
    token,
    addDocuments: async (names) => {
      if (names.length === 0) return;
      await withDatabase(databaseUrl, (sql) =>
        sql.query(`insert into documents (project_id, name, kind) select $1, unnest($2::text[]), 'paper' on conflict (name) do nothing`, [
          BENCH_IDS.project,
          [...names],
        ]),
      );
    },
  };
}

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
  /** Scriptorium: extra environment (e.g. REDIS_URL, REDIS_PREFIX for the scale-out scenario). */
  env?: Record<string, string>;
}

/** What a server's storage holds (trace scenario). */
export interface StorageBytes {
  /** PostgreSQL: pg_database_size (an empty database's own size included: BENCHMARKS.md "Editing trace"); PGlite: its data folder. */
  databaseBytes: number;
  /** PostgreSQL: pg_total_relation_size summed over the user tables (indexes and TOAST included). */
  tablesBytes: number | null;
  /** PostgreSQL: the largest tables. */
  tables: Array<{ name: string; bytes: number }>;
  /** Scriptorium on PostgreSQL: rows in the update log (`collaborations`, kept for history) and the compacted states' bytes. */
  logRows?: number;
  stateBytes?: number;
}

async function postgresBytes(url: string): Promise<StorageBytes> {
  return withDatabase(url, async (sql) => {
    const total = await sql.query<{ bytes: string }>('select pg_database_size(current_database())::text as bytes');
    const tables = await sql.query<{ name: string; bytes: string }>(
      'select relname as name, pg_total_relation_size(relid)::text as bytes from pg_stat_user_tables order by pg_total_relation_size(relid) desc',
    );
    const each = tables.rows.map((r) => ({ name: r.name, bytes: Number(r.bytes) }));
    const content = await sql.query<{ rows: string; state: string }>(
      'select (select count(*) from collaborations)::text as rows, (select coalesce(sum(octet_length(state)), 0) from documents)::text as state',
    );
    return {
      databaseBytes: Number(total.rows[0]!.bytes),
      tablesBytes: each.reduce((a, t) => a + t.bytes, 0),
      tables: each.filter((t) => t.bytes > 0).slice(0, 5),
      logRows: Number(content.rows[0]!.rows),
      stateBytes: Number(content.rows[0]!.state),
    };
  });
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += folderBytes(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

export interface RunningServer {
  kind: ServerKind;
  label: string;
  protocol: Protocol;
  /** Base WebSocket URL for the loader (Hocuspocus: the socket URL; y-websocket: prefix for doc names). */
  url: string;
  /** scriptorium-pg(-auth): the database it uses (for further instances); else null. */
  database: string | null;
  /** scriptorium-pg-auth: the token and the document set-up the loader must use; else null. */
  auth: BenchAuth | null;
  pid(): number;
  /** What its storage holds now; null for the servers that keep documents in memory. */
  storageBytes(): Promise<StorageBytes | null>;
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

export function hasTaskset(): boolean {
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
      ? await fetch(`http://127.0.0.1:${port}${path}`).then(
          (r) => r.status === 200,
          () => false,
        )
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
  let databaseUrl: string | null = null;
  let dataDir: string | null = null;
  let spec: LaunchSpec;
  const scriptorium = (env: Record<string, string>): LaunchSpec => ({
    args: [SCRIPTORIUM_MAIN],
    env: { ...base, LOG_LEVEL: 'warn', ...(opts.transport ? { TRANSPORT: opts.transport } : {}), ...env, ...opts.env },
    readyPath: '/readyz',
  });
  switch (kind) {
    case 'scriptorium-pg':
    case 'scriptorium-pg-auth': {
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
      databaseUrl = dbUrl.toString();
      spec = scriptorium({ DATABASE_URL: databaseUrl, ...(kind === 'scriptorium-pg-auth' ? { AUTH_SECRET: BENCH_AUTH_SECRET } : {}) });
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
  // BENCH_SERVER_CPU_PROF=<dir>: where the time of a server goes (written when it stops, or is restarted).
  const profDir = process.env.BENCH_SERVER_CPU_PROF;
  const nodeFlags = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
  const launch = async (): Promise<void> => {
    // Raise the soft open-file limit to the hard one so density runs are not capped at 1024;
    // exec keeps the pid, so /proc/<pid> is the node process itself.
    child = spawn('bash', ['-c', `ulimit -n "$(ulimit -Hn)" 2>/dev/null; ${pin}`, 'bash', process.execPath, ...nodeFlags, ...spec.args], {
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(line);
      if (lines.length > 50) lines.splice(0, lines.length - 50);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    // Node names a profile CPU.<date>.<time>.<pid>...: say whose pid it is.
    if (profDir) process.stderr.write(`${kind} (pid ${child.pid}): CPU profile in ${profDir} when it stops\n`);
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
    // A killed process writes no CPU profile: a profiled server gets longer to stop by itself.
    const timer = setTimeout(() => child.kill('SIGKILL'), profDir ? 120_000 : 10_000);
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
  let auth: BenchAuth | null = null;
  try {
    await launch();
    // The server has run its migrations: the tables exist.
    if (kind === 'scriptorium-pg-auth') auth = await seedBenchAuth(databaseUrl!);
  } catch (err) {
    // A server that never came up must not leave its throwaway database behind.
    await kill().catch(() => {});
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
    auth,
    pid: () => child.pid!,
    tail: () => lines.join('\n'),
    storageBytes: async () => {
      if (databaseUrl) return postgresBytes(databaseUrl);
      if (dataDir) return { databaseBytes: folderBytes(dataDir), tablesBytes: null, tables: [] };
      return null;
    },
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
