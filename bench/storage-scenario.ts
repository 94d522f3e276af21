/**
 * The `storage` scenario: what PostgreSQL holds and writes for real documents, measured on the
 * storage layer itself (DurableStorage on a throwaway database, no WebSocket server: the rows a
 * server writes are the same, one per accepted update, and the run takes a minute instead of ten).
 *
 * 1. Trace: the automerge-paper editing trace (with the seeded formatting of bench/trace-replay.ts)
 *    appended update by update as one session, at most `window` updates not yet committed (a
 *    room acknowledges after the commit), then released as a room is when its last client
 *    leaves. Reports the tables' sizes right after (no VACUUM: this machine's PostgreSQL runs
 *    with autovacuum off, so every dead row version is still there) and after VACUUM FULL
 *    (what the data takes: the steady state of a database whose autovacuum reclaims dead rows),
 *    the log's rows, and a cold load in a fresh process.
 * 2. Growth: a paper grown to `growthBytes` (20 MB) by appended blocks and bursts of typing
 *    (bench/growing-paper.ts). Reports the Yjs bytes written to documents.state, the log (as
 *    appended and as rewritten by compaction) and document_versions per byte of state growth
 *    (bench/written-bytes.ts), the dead rows left, and a cold load in a fresh process.
 *
 * Cold loads run `bench/storage-cold-load.ts` in a child process: a restarted server's first
 * `storage.load` (find + load), with nothing warmed up.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import * as Y from 'yjs';
import type { Db } from '../server/persistence/db.js';
import { createPgDb } from '../server/persistence/pg-db.js';
import { DurableStorage } from '../server/persistence/durable-storage.js';
import { migrateUp } from '../server/persistence/migrations.js';
import type { CommitListener } from '../server/persistence/storage.js';
import { GrowingPaper } from './growing-paper.js';
import type { ScenarioArgs, ScenarioResult } from './scenarios.js';
import { nowMs } from './stats.js';
import { PaperReplay, TRACE_FIXTURE, loadTrace } from './trace-replay.js';
import { countWrittenBytes, type WrittenBytes } from './written-bytes.js';
import { REPO_ROOT } from './run-info.js';

/** The tables a document's storage lives in. */
const TABLES = ['collaborations', 'documents', 'document_versions'] as const;
const TRACE_SEED = 20261207;
const GROWTH_SEED = 7;
/** Targets from issue 20. */
export const STORAGE_TARGETS = { traceDatabaseBytes: 8 * 1024 * 1024, amplification: 3, traceLoadMs: 100, growthLoadMs: 1500 } as const;

export interface TableBytes {
  name: string;
  /** pg_total_relation_size: heap, TOAST and indexes. */
  bytes: number;
  /** n_dead_tup from pg_stat_user_tables (dead row versions not yet vacuumed). */
  deadRows: number;
}

export interface ColdLoad {
  /** find + load in a fresh process, ms: the median of COLD_LOADS processes. */
  loadMs: number;
  /** Each process's find + load, ms. */
  samples: number[];
  /**
   * The process's CPU during find + load, ms (the median): on a busy machine the wall time is
   * mostly waiting for a core, this is the load's own work (the database's is not in it).
   */
  cpuMs: number;
  /** Bytes of the loaded state. */
  stateBytes: number;
  /** Building a Y.Doc from it afterwards (what a room does next), ms: the median. */
  applyMs: number;
  /** The loaded state holds exactly the expected document. */
  matches: boolean;
  /** How the load merged the log's tail (compaction.ts LoadedState.merge), and the tail's rows. */
  merge: string | null;
  tailRows: number | null;
}

export interface LogShape {
  rows: number;
  /** Updates the rows stand for (rows coarsened by compaction count all of theirs). */
  updates: number;
  sessions: number;
  /** Span between the first and the last row's time, s. */
  spanSec: number;
}

export interface TraceStorage {
  keystrokes: number;
  updates: number;
  updateBytes: number;
  yjsStateBytes: number;
  replaySec: number;
  tables: TableBytes[];
  totalBytes: number;
  liveTables: TableBytes[];
  liveTotalBytes: number;
  log: LogShape;
  written: WrittenBytes;
  coldLoad: ColdLoad;
  /** Waited before the release for other transactions in the cluster to end (see quietHorizon). */
  horizonWaitMs: number;
}

export interface GrowthStorage {
  targetBytes: number;
  updates: number;
  appendedBytes: number;
  yjsStateBytes: number;
  growSec: number;
  written: WrittenBytes;
  /** (documents.state + rewritten log rows + versions) / state growth. */
  amplification: number;
  /** documents.state alone / state growth. */
  stateAmplification: number;
  tables: TableBytes[];
  liveTables: TableBytes[];
  log: LogShape;
  coldLoad: ColdLoad;
  horizonWaitMs: number;
}

export interface StorageReport {
  trace: TraceStorage | null;
  growth: GrowthStorage | null;
}

const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });

async function withAdmin<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

async function tableBytes(db: Db): Promise<TableBytes[]> {
  const { rows } = await db.query<{ name: string; bytes: number; dead: number }>(
    `select relname as name, pg_total_relation_size(relid)::bigint as bytes, n_dead_tup::bigint as dead
       from pg_stat_user_tables where relname = any($1::text[]) order by relname`,
    [TABLES],
  );
  return rows.map((r) => ({ name: r.name, bytes: Number(r.bytes), deadRows: Number(r.dead) }));
}

async function logShape(db: Db, documentId: string): Promise<LogShape> {
  const coarsened = await db.query<{ n: number }>(
    `select count(*)::int as n from information_schema.columns where table_name = 'collaborations' and column_name = 'merged_updates'`,
  );
  const updates = (coarsened.rows[0]?.n ?? 0) > 0 ? 'sum(coalesce(merged_updates, 1))' : 'count(*)';
  const { rows } = await db.query<{ rows: number; updates: number; sessions: number; span: number }>(
    `select count(*)::bigint as rows, coalesce(${updates}, 0)::bigint as updates, count(distinct session_id)::int as sessions,
            coalesce(extract(epoch from max(created_at) - min(created_at)), 0)::float8 as span
       from collaborations where document_id = $1`,
    [documentId],
  );
  const r = rows[0];
  return { rows: Number(r?.rows ?? 0), updates: Number(r?.updates ?? 0), sessions: r?.sessions ?? 0, spanSec: r?.span ?? 0 };
}

/** Appends with at most `window` updates uncommitted, as rooms do under a typing client waiting for acks. */
class Appender implements CommitListener {
  private sent = 0;
  private committedCount = 0;
  private wake: (() => void) | undefined;
  private readonly refusals: Error[] = [];
  constructor(
    private readonly storage: DurableStorage,
    private readonly documentId: string,
    private readonly sessionId: string,
    private readonly window: number,
  ) {}

  async append(update: Uint8Array): Promise<void> {
    while (this.sent - this.committedCount >= this.window) await new Promise<void>((resolve) => (this.wake = resolve));
    this.sent++;
    this.storage.append(this.documentId, update, { userId: null, sessionId: this.sessionId }, this);
  }

  committed(count: number): void {
    this.committedCount += count;
    this.wake?.();
    this.wake = undefined;
  }

  refused(_meta: unknown, error: Error): void {
    this.refusals.push(error);
    this.committed(1); // settled, so the window moves on
  }

  /** Every update was stored (call after a flush). */
  check(): void {
    if (this.refusals.length > 0)
      throw new Error(`${this.refusals.length} of the bench's updates were refused: ${this.refusals[0]?.message}`);
  }
}

/** Cold loads measured, one process each: one load on a shared machine is at the mercy of its neighbours. */
const COLD_LOADS = 5;

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

function coldLoad(databaseUrl: string, name: string, expected: Uint8Array): ColdLoad {
  const runs = Array.from({ length: COLD_LOADS }, () => coldLoadOnce(databaseUrl, name, expected));
  const last = runs[runs.length - 1] as ColdLoad;
  return {
    ...last,
    loadMs: median(runs.map((r) => r.loadMs)),
    samples: runs.map((r) => r.loadMs),
    cpuMs: median(runs.map((r) => r.cpuMs)),
    applyMs: median(runs.map((r) => r.applyMs)),
    matches: runs.every((r) => r.matches),
  };
}

function coldLoadOnce(databaseUrl: string, name: string, expected: Uint8Array): ColdLoad {
  const script = join(REPO_ROOT, 'dist/bench/storage-cold-load.js');
  // The cold-load process stands for the restarted server: BENCH_SERVER_CPU_PROF profiles it.
  const profDir = process.env.BENCH_SERVER_CPU_PROF;
  const profile = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=cold-load-${name}-${Date.now()}.cpuprofile`] : [];
  const out = execFileSync(process.execPath, [...profile, script, databaseUrl, name], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const result = JSON.parse(out.trim().split('\n').pop() as string) as {
    loadMs: number;
    cpuMs: number;
    stateBytes: number;
    applyMs: number;
    stateVector: string;
    text: number;
    merge: string | null;
    tailRows: number | null;
  };
  const doc = new Y.Doc();
  Y.applyUpdate(doc, expected);
  const matches =
    result.stateVector === Buffer.from(Y.encodeStateVector(doc)).toString('base64') &&
    result.text === doc.getXmlFragment('default').toString().length;
  return {
    loadMs: result.loadMs,
    samples: [result.loadMs],
    cpuMs: result.cpuMs,
    stateBytes: result.stateBytes,
    applyMs: result.applyMs,
    matches,
    merge: result.merge,
    tailRows: result.tailRows,
  };
}

/**
 * Waits (up to a minute) until no transaction anywhere in the cluster is older than the
 * document's last row: a compaction folds only rows below that horizon (compaction.ts), and on
 * a shared test server other processes' transactions come and go. Returns the ms waited.
 */
async function quietHorizon(db: Db, documentId: string): Promise<number> {
  const t0 = nowMs();
  while (nowMs() - t0 < 60_000) {
    const { rows } = await db.query<{ n: number }>(
      `select count(*)::int as n from collaborations
        where document_id = $1 and tx >= pg_snapshot_xmin(pg_current_snapshot())::text::bigint`,
      [documentId],
    );
    if ((rows[0]?.n ?? 0) === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return nowMs() - t0;
}

async function vacuumFull(db: Db): Promise<void> {
  await db.exec(`vacuum full ${TABLES.join(', ')}`);
  await db.exec(`analyze ${TABLES.join(', ')}`);
}

async function runTraceStorage(url: string, a: ScenarioArgs, log: (s: string) => void): Promise<TraceStorage> {
  const trace = loadTrace(join(REPO_ROOT, TRACE_FIXTURE));
  const keystrokes = Math.min(a.keystrokes ?? (a.ci ? 20_000 : trace.txns.length), trace.txns.length);
  const counted = countWrittenBytes(createPgDb({ connectionString: url, logger }));
  const storage = new DurableStorage(counted.db, { logger, commitDelayMs: 5 });
  const name = 'storage-trace';
  const ref = await storage.create(name, { kind: 'paper' });
  await storage.load(ref);
  const appender = new Appender(storage, ref.id, 'trace-writer', a.window ?? 32);
  const doc = new Y.Doc();
  const queue: Uint8Array[] = [];
  let updateBytes = 0;
  doc.on('update', (u: Uint8Array) => {
    queue.push(u);
    updateBytes += u.byteLength;
  });
  const replay = new PaperReplay(trace, { seed: TRACE_SEED });
  replay.attach(doc);
  let updates = 0;
  const t0 = nowMs();
  let lastLog = t0;
  for (let i = 0; i < keystrokes; i++) {
    replay.keystroke(i);
    for (const u of queue.splice(0)) {
      await appender.append(u);
      updates++;
    }
    if (nowMs() - lastLog > 5000) {
      lastLog = nowMs();
      log(`trace: ${i + 1}/${keystrokes} keystrokes`);
    }
  }
  for (const u of queue.splice(0)) await appender.append(u);
  await storage.flush();
  appender.check();
  const replaySec = (nowMs() - t0) / 1000;
  const horizonWaitMs = await quietHorizon(counted.db, ref.id);
  log(`trace: ${updates} updates appended in ${replaySec.toFixed(1)} s; releasing the document`);
  await storage.release(ref.id);
  await storage.close(30_000);
  await counted.db.close();

  const db = createPgDb({ connectionString: url, logger });
  try {
    const yjsState = Y.encodeStateAsUpdate(doc);
    const tables = await tableBytes(db);
    const log1 = await logShape(db, ref.id);
    const load = coldLoad(url, name, yjsState);
    log(`trace: cold load ${load.loadMs.toFixed(1)} ms (${load.matches ? 'identical' : 'DIFFERS'})`);
    await vacuumFull(db);
    const liveTables = await tableBytes(db);
    const sum = (t: TableBytes[]): number => t.reduce((s, x) => s + x.bytes, 0);
    return {
      keystrokes,
      updates,
      updateBytes,
      yjsStateBytes: yjsState.byteLength,
      replaySec,
      tables,
      totalBytes: sum(tables),
      liveTables,
      liveTotalBytes: sum(liveTables),
      log: log1,
      written: counted.written,
      coldLoad: load,
      horizonWaitMs,
    };
  } finally {
    await db.close();
  }
}

async function runGrowthStorage(url: string, a: ScenarioArgs, log: (s: string) => void): Promise<GrowthStorage> {
  const targetBytes = (a.ci ? 2 : 20) * 1024 * 1024;
  const counted = countWrittenBytes(createPgDb({ connectionString: url, logger }));
  const storage = new DurableStorage(counted.db, { logger, commitDelayMs: 5 });
  const name = 'storage-growth';
  const ref = await storage.create(name, { kind: 'paper' });
  await storage.load(ref);
  const appender = new Appender(storage, ref.id, 'growth-writer', a.window ?? 32);
  const paper = new GrowingPaper(GROWTH_SEED);
  const t0 = nowMs();
  let lastLog = t0;
  // The state is measured now and then (encoding it costs a pass over the document); the
  // updates' bytes say when to look again.
  let stateBytes = 0;
  let checkedAt = 0;
  while (stateBytes < targetBytes) {
    for (const u of paper.step(10, 40).updates) await appender.append(u);
    if (paper.producedBytes - checkedAt >= Math.max(64 * 1024, (targetBytes - stateBytes) / 2)) {
      checkedAt = paper.producedBytes;
      stateBytes = Y.encodeStateAsUpdate(paper.doc).byteLength;
    }
    if (nowMs() - lastLog > 5000) {
      lastLog = nowMs();
      log(`growth: state ${mb(stateBytes)} of ${mb(targetBytes)}, ${paper.producedUpdates} updates`);
    }
  }
  await storage.flush();
  appender.check();
  const growSec = (nowMs() - t0) / 1000;
  const horizonWaitMs = await quietHorizon(counted.db, ref.id);
  log(`growth: ${paper.producedUpdates} updates in ${growSec.toFixed(1)} s; releasing the document`);
  await storage.release(ref.id);
  await storage.close(60_000);
  await counted.db.close();

  const db = createPgDb({ connectionString: url, logger });
  try {
    const yjsState = Y.encodeStateAsUpdate(paper.doc);
    const tables = await tableBytes(db);
    const shape = await logShape(db, ref.id);
    const load = coldLoad(url, name, yjsState);
    log(`growth: cold load ${load.loadMs.toFixed(1)} ms (${load.matches ? 'identical' : 'DIFFERS'})`);
    await vacuumFull(db);
    const liveTables = await tableBytes(db);
    const w = counted.written;
    const growth = yjsState.byteLength;
    return {
      targetBytes,
      updates: paper.producedUpdates,
      appendedBytes: w.appended,
      yjsStateBytes: growth,
      growSec,
      written: w,
      amplification: (w.state + w.rewritten + w.versions) / growth,
      stateAmplification: w.state / growth,
      tables,
      liveTables,
      log: shape,
      coldLoad: load,
      horizonWaitMs,
    };
  } finally {
    await db.close();
  }
}

/** Runs both parts, each in its own throwaway database on `adminUrl`'s server. */
export async function runStorage(adminUrl: string, a: ScenarioArgs, parts: { trace: boolean; growth: boolean }): Promise<ScenarioResult> {
  const log = (s: string): void => {
    if (a.progress ?? true) process.stderr.write(`[storage] ${s}\n`);
  };
  const run = async <T>(label: string, body: (url: string) => Promise<T>): Promise<T> => {
    const dbName = `bench_storage_${label}_${Date.now().toString(36)}`;
    await withAdmin(adminUrl, (c) => c.query(`create database ${dbName}`));
    const url = new URL(adminUrl);
    url.pathname = `/${dbName}`;
    try {
      const db = createPgDb({ connectionString: url.toString(), logger });
      try {
        await migrateUp(db);
      } finally {
        await db.close();
      }
      return await body(url.toString());
    } finally {
      await withAdmin(adminUrl, (c) => c.query(`drop database if exists ${dbName} with (force)`));
    }
  };
  const report: StorageReport = {
    trace: parts.trace ? await run('trace', (url) => runTraceStorage(url, a, log)) : null,
    growth: parts.growth ? await run('growth', (url) => runGrowthStorage(url, a, log)) : null,
  };
  return { scenario: 'storage', label: 'scriptorium-pg (storage layer)', protocol: 'hocuspocus', main: null, storage: report };
}

const mb = (bytes: number): string =>
  bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(2)} MB` : `${(bytes / 1024).toFixed(0)} KB`;
const tablesCell = (tables: TableBytes[]): string =>
  tables.map((t) => `${t.name} ${mb(t.bytes)}${t.deadRows > 0 ? ` (${t.deadRows.toLocaleString('en-US')} dead rows)` : ''}`).join(', ');
const verdict = (met: boolean): string => (met ? 'met' : '**missed**');
const route = (load: ColdLoad): string => (load.merge === null ? '' : `; tail ${load.tailRows ?? '?'} rows, merged: ${load.merge}`);
const samples = (load: ColdLoad): string => load.samples.map((ms) => ms.toFixed(0)).join(', ');

export function renderStorageMarkdown(rows: ScenarioResult[]): string {
  let out = '';
  for (const row of rows) {
    const r = row.storage;
    if (!r) continue;
    const t = r.trace;
    if (t) {
      out +=
        `### Trace (automerge-paper, ${t.keystrokes.toLocaleString('en-US')} keystrokes, ${t.updates.toLocaleString('en-US')} updates of ${mb(t.updateBytes)}; Yjs state ${mb(t.yjsStateBytes)})\n\n` +
        '| measure | value | target |\n|---|---|---|\n' +
        `| tables right after the replay and release (no VACUUM; autovacuum is off here) | ${mb(t.totalBytes)}: ${tablesCell(t.tables)} | |\n` +
        `| tables after VACUUM FULL (the data itself) | ${mb(t.liveTotalBytes)}: ${tablesCell(t.liveTables)} | ≤ ${mb(STORAGE_TARGETS.traceDatabaseBytes)}: ${verdict(t.liveTotalBytes <= STORAGE_TARGETS.traceDatabaseBytes)} |\n` +
        `| log | ${t.log.rows.toLocaleString('en-US')} rows for ${t.log.updates.toLocaleString('en-US')} updates, ${t.log.sessions} session(s), over ${t.log.spanSec.toFixed(0)} s | |\n` +
        `| Yjs bytes written | state ${mb(t.written.state)} (${t.written.stateWrites} folds), log appended ${mb(t.written.appended)}, log rewritten ${mb(t.written.rewritten)} | |\n` +
        `| cold load (fresh process: find + load; median of ${samples(t.coldLoad)}) | ${t.coldLoad.loadMs.toFixed(1)} ms for ${mb(t.coldLoad.stateBytes)}, ${t.coldLoad.cpuMs.toFixed(0)} ms of it CPU${t.coldLoad.matches ? '' : ' **DIFFERS**'} (then a Y.Doc from it: ${t.coldLoad.applyMs.toFixed(0)} ms${route(t.coldLoad)}) | ≤ ${STORAGE_TARGETS.traceLoadMs} ms: ${verdict(t.coldLoad.matches && t.coldLoad.loadMs <= STORAGE_TARGETS.traceLoadMs)} |\n` +
        `| replay | ${t.replaySec.toFixed(1)} s (then ${(t.horizonWaitMs / 1000).toFixed(1)} s for older transactions elsewhere to end) | |\n\n`;
    }
    const g = r.growth;
    if (g) {
      out +=
        `### Growth to ${mb(g.targetBytes)} (${g.updates.toLocaleString('en-US')} updates; Yjs state ${mb(g.yjsStateBytes)})\n\n` +
        '| measure | value | target |\n|---|---|---|\n' +
        `| written per byte of state growth: documents.state + rewritten log rows + versions | ${g.amplification.toFixed(2)} (state ${g.stateAmplification.toFixed(2)}: ${mb(g.written.state)} in ${g.written.stateWrites} folds; log rewritten ${mb(g.written.rewritten)}; versions ${mb(g.written.versions)}) | ≤ ${STORAGE_TARGETS.amplification}: ${verdict(g.amplification <= STORAGE_TARGETS.amplification)} |\n` +
        `| the log as appended (history, written once whatever the scheme) | ${mb(g.written.appended)} (${(g.written.appended / g.yjsStateBytes).toFixed(2)} per byte) | |\n` +
        `| tables after the growth (no VACUUM) | ${tablesCell(g.tables)} | |\n` +
        `| tables after VACUUM FULL | ${tablesCell(g.liveTables)} | |\n` +
        `| log | ${g.log.rows.toLocaleString('en-US')} rows for ${g.log.updates.toLocaleString('en-US')} updates | |\n` +
        `| cold load (fresh process: find + load; median of ${samples(g.coldLoad)}) | ${g.coldLoad.loadMs.toFixed(0)} ms for ${mb(g.coldLoad.stateBytes)}, ${g.coldLoad.cpuMs.toFixed(0)} ms of it CPU${g.coldLoad.matches ? '' : ' **DIFFERS**'} (then a Y.Doc from it: ${g.coldLoad.applyMs.toFixed(0)} ms${route(g.coldLoad)}) | ≤ ${STORAGE_TARGETS.growthLoadMs} ms: ${verdict(g.coldLoad.matches && g.coldLoad.loadMs <= STORAGE_TARGETS.growthLoadMs)} |\n` +
        `| growth | ${g.growSec.toFixed(1)} s (then ${(g.horizonWaitMs / 1000).toFixed(1)} s for older transactions elsewhere to end) | |\n\n`;
    }
  }
  out +=
    'Measured on the storage layer (DurableStorage, PostgreSQL, throwaway database), `commitDelayMs` 5 as the server. ' +
    'Bytes written: the Yjs payload of the statements (bench/written-bytes.ts), without row headers, indexes or WAL. ' +
    'Table sizes: `pg_total_relation_size` (heap, TOAST, indexes); dead rows: `n_dead_tup`. ' +
    "Before each release the bench waits until no transaction elsewhere in the cluster is older than the document's last row: " +
    "a compaction folds only rows below that horizon, and on a shared server other processes' transactions would hold the release's fold back.\n";
  return out;
}
