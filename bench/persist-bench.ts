/**
 * Persistence benchmark: group-committed update log and cold loads, on PostgreSQL
 * and on the embedded PGlite.
 *
 * Run: npm run build && node dist/bench/persist-bench.js [seconds-per-run]
 * Env: BENCH_PG_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres; a
 * scratch database is created and dropped), BENCH_SKIP_PGLITE=1, BENCH_SKIP_PG=1.
 *
 * 1. Throughput and commit latency: C simulated clients, each appending a
 *    keystroke-sized Yjs update and appending the next one as soon as the previous
 *    is reported committed (the room acks only then). Latency is append →
 *    committed(); throughput is committed updates per second.
 * 2. Commit cost at a trickle: process CPU per commit when commits are small and back to
 *    back, as under the fan-out load.
 * 3. Cold load of a document whose log holds 100,000 updates: before compaction
 *    (state + 100k rows merged on load) and after (documents.state only).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import * as Y from 'yjs';
import type { Db } from '../server/persistence/db.js';
import { DurableStorage } from '../server/persistence/durable-storage.js';
import { openStorage } from '../server/persistence/open-storage.js';
import type { CommitListener } from '../server/persistence/storage.js';
import { parseCli } from '../server/command-line.js';

const cli = parseCli({
  command: 'node dist/bench/persist-bench.js',
  summary: `Persistence benchmark on PostgreSQL and on the embedded PGlite: group-commit throughput and
commit latency for 1 to 512 clients each waiting for its commit, process CPU per commit at a
trickle, and cold loads of a document with 100,000 logged updates before and after compaction.
PostgreSQL runs in a scratch database (created and dropped), PGlite in a temporary folder.`,
  arguments: [{ name: 'seconds', description: 'length of each throughput run in seconds (default: 5)' }],
  environment: [
    { name: 'BENCH_PG_ADMIN_URL', description: 'PostgreSQL admin URL (default: postgres://postgres@127.0.0.1:5432/postgres)' },
    { name: 'BENCH_SKIP_PG=1', description: 'skip PostgreSQL' },
    { name: 'BENCH_SKIP_PGLITE=1', description: 'skip PGlite' },
    { name: 'LOG_LEVEL', description: 'storage log level (default: warn)' },
  ],
});
const seconds = cli.number(cli.positionals[0], 'seconds', { min: 0.1 }) ?? 5;
const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** One client typing into its own Y.Doc: every call returns the next keystroke's update. */
function typist(): () => Uint8Array {
  const doc = new Y.Doc();
  const text = doc.getText('default');
  let last: Uint8Array = new Uint8Array();
  doc.on('update', (u: Uint8Array) => {
    last = u;
  });
  return () => {
    text.insert(text.length, 'x');
    return last;
  };
}

interface ThroughputResult {
  clients: number;
  updatesPerSecond: number;
  p50: number;
  p99: number;
  batches: number;
}

async function throughput(storage: DurableStorage, clients: number, documents: number): Promise<ThroughputResult> {
  const ids: string[] = [];
  for (let d = 0; d < documents; d++)
    ids.push((await storage.create(`bench-${clients}-${d}-${randomBytes(3).toString('hex')}`, { kind: 'paper' })).id);
  const latencies: number[] = [];
  let committed = 0;
  let running = true;
  const batchesBefore = storage.stats.committedBatches;
  const started = performance.now();

  await Promise.all(
    Array.from({ length: clients }, (_, c) => {
      const next = typist();
      const documentId = ids[c % ids.length] as string;
      const meta = { userId: null, sessionId: `client-${c}` };
      return new Promise<void>((resolve) => {
        let sentAt = 0;
        const listener: CommitListener = {
          committed: (count) => {
            committed += count;
            latencies.push(performance.now() - sentAt);
            if (running) send();
            else resolve();
          },
          refused: (_meta, error) => {
            throw error;
          },
        };
        const send = () => {
          sentAt = performance.now();
          storage.append(documentId, next(), meta, listener);
        };
        send();
        setTimeout(() => {
          running = false;
        }, seconds * 1000);
      });
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    clients,
    updatesPerSecond: committed / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    batches: storage.stats.committedBatches - batchesBefore,
  };
}

/**
 * What one commit costs this process at a trickle (the fan-out's regime: commits of ~2 rows
 * back to back): 2 appends every 2 ms for `seconds`, process CPU (user, system) per commit.
 */
async function commitCost(storage: DurableStorage, documents: number): Promise<{ commits: number; userUs: number; systemUs: number }> {
  const ids: string[] = [];
  for (let d = 0; d < documents; d++)
    ids.push((await storage.create(`trickle-${d}-${randomBytes(3).toString('hex')}`, { kind: 'paper' })).id);
  const next = typist();
  const meta = { userId: null, sessionId: 'trickle' };
  const listener: CommitListener = {
    committed: () => {},
    refused: (_meta, error) => {
      throw error;
    },
  };
  const batchesBefore = storage.stats.committedBatches;
  const cpuBefore = process.cpuUsage();
  let n = 0;
  await new Promise<void>((resolve) => {
    const started = performance.now();
    const timer = setInterval(() => {
      for (let k = 0; k < 2; k++) storage.append(ids[n++ % ids.length] as string, next(), meta, listener);
      if (performance.now() - started > seconds * 1000) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  await storage.flush();
  const cpu = process.cpuUsage(cpuBefore);
  const commits = Math.max(1, storage.stats.committedBatches - batchesBefore);
  return { commits, userUs: cpu.user / commits, systemUs: cpu.system / commits };
}

async function coldLoad(
  db: Db,
  rows: number,
): Promise<{ insertS: number; beforeMs: number; compactMs: number; afterMs: number; stateBytes: number }> {
  const writer = new DurableStorage(db, {
    logger,
    compactThresholdRows: Number.POSITIVE_INFINITY,
    compactThresholdBytes: Number.POSITIVE_INFINITY,
  });
  const name = `cold-${randomBytes(3).toString('hex')}`;
  const document = await writer.create(name, { kind: 'paper' });
  const { id } = document;
  const next = typist();
  const t0 = performance.now();
  const chunk: Uint8Array[] = [];
  for (let i = 0; i < rows; i++) {
    chunk.push(next());
    if (chunk.length === 10_000 || i === rows - 1) {
      await db.query(
        `insert into collaborations (document_id, session_id, update, size)
         select $1, 'bench', b, octet_length(b) from unnest($2::bytea[]) as b`,
        [id, chunk],
      );
      chunk.length = 0;
    }
  }
  const insertS = (performance.now() - t0) / 1000;

  // A fresh storage per load, as a cold start would have; no fold on load.
  const noFold = () => new DurableStorage(db, { logger, compactThresholdRows: Number.POSITIVE_INFINITY });
  let t = performance.now();
  await noFold().load(document);
  const beforeMs = performance.now() - t;

  t = performance.now();
  let folded = 0;
  while (folded < rows) {
    const n = await writer.compact(id);
    folded += n;
    if (n === 0) await new Promise((r) => setTimeout(r, 20)); // horizon held back by another transaction
  }
  const compactMs = performance.now() - t;

  t = performance.now();
  const after = await noFold().load(document);
  const afterMs = performance.now() - t;
  return { insertS, beforeMs, compactMs, afterMs, stateBytes: after.state?.byteLength ?? 0 };
}

async function run(kind: 'postgres' | 'pglite'): Promise<void> {
  let cleanup: () => Promise<void>;
  let opened: Awaited<ReturnType<typeof openStorage>>;
  if (kind === 'postgres') {
    const name = `scr_bench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    opened = await openStorage({ databaseUrl: url.toString(), dataDir: 'unused', logger });
    cleanup = async () => {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    };
  } else {
    const dir = await mkdtemp(path.join(tmpdir(), 'scr-bench-'));
    opened = await openStorage({ dataDir: dir, logger });
    cleanup = () => rm(dir, { recursive: true, force: true });
  }
  const { db, storage } = opened;
  try {
    console.log(`\n== ${kind} ==`);
    console.log('clients  docs  updates/s   p50 ms   p99 ms   commits  rows/commit');
    for (const [clients, documents] of [
      [1, 1],
      [64, 16],
      [512, 64],
    ] as const) {
      const r = await throughput(storage, clients, documents);
      const perCommit = (r.updatesPerSecond * seconds) / Math.max(1, r.batches);
      console.log(
        `${String(clients).padStart(7)} ${String(documents).padStart(5)} ${r.updatesPerSecond.toFixed(0).padStart(10)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)} ${String(r.batches).padStart(9)} ${perCommit.toFixed(1).padStart(12)}`,
      );
    }
    const k = await commitCost(storage, 100);
    console.log(
      `commit cost at a trickle (2 appends every 2 ms): ${k.commits} commits, process CPU per commit ${k.userUs.toFixed(0)} µs user + ${k.systemUs.toFixed(0)} µs system ` +
        '(includes the typists that make the updates)',
    );
    const c = await coldLoad(db, 100_000);
    console.log(
      `cold load, 100,000 logged updates: before compaction ${c.beforeMs.toFixed(0)} ms, compaction ${c.compactMs.toFixed(0)} ms, ` +
        `after compaction ${c.afterMs.toFixed(1)} ms (state ${(c.stateBytes / 1024).toFixed(0)} KiB; bulk insert took ${c.insertS.toFixed(1)} s)`,
    );
  } finally {
    await storage.close(10_000);
    await cleanup();
  }
}

if (process.env.BENCH_SKIP_PG !== '1') await run('postgres');
if (process.env.BENCH_SKIP_PGLITE !== '1') await run('pglite');
