/**
 * Versions: what one costs to store, how long taking one of a large paper takes (and how long
 * it holds the event loop), and what taking versions costs editors of those documents.
 * Run: npm run build && node dist/bench/version-bench.js [options]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance as perf } from 'node:perf_hooks';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import * as Y from 'yjs';
import { parseCli } from '../server/command-line.js';
import { openDb } from '../server/persistence/db.js';
import { DEFAULT_PROJECT_ID, createDocument } from '../server/persistence/documents.js';
import { migrateUp } from '../server/persistence/migrations.js';
import { renderPaper } from '../server/documents/paper.js';
import { restoreUpdate } from '../server/documents/restore.js';
import { Durability } from '../server/rooms/durability.js';
import { stateHash } from '../server/versions/state-identity.js';
import { Versions, type VersionSource } from '../server/versions/versions.js';
import { describe as describeLoad, runLoad, type LoadResult } from './loader.js';
import { editPaper, generatePaper, paperDocument, seededRandom } from './paper-fixture.js';
import { gitCommit, machineDescription, REPO_ROOT } from './run-info.js';
import { pinSelf, startServer } from './servers.js';

const cli = parseCli({
  command: 'node dist/bench/version-bench.js',
  synopsis: '[options]',
  summary: `Three measurements of versions, on the PostgreSQL server of --pg:
1. storage: the bytes one version of a typical paper (--typical characters, after an editing
   session) takes as a Yjs state and as stored by PostgreSQL (TOAST-compressed);
2. taking a version of a --size MB paper in process (its state stored as documents.state, as
   after a compaction): the live state's identity (hash, main thread), the whole take (the
   version worker reads, merges, encodes, hashes and inserts on its own connection), how long
   the main thread was busy during each take and the longest the event loop was held, and for comparison encoding on the main thread (what the worker
   spares it) and renderPaper (GET of the content, not part of a take);
3. the hot path: fan-out latency for editors of --docs documents of --size MB each, with no
   versions taken and with a version of each taken every --every ms while they edit (the server
   process pinned to core 0, the loader to core 1). Writes bench/results/versions-<time>.{json,md}.`,
  options: {
    pg: {
      type: 'string',
      default: 'postgres://postgres@127.0.0.1:5432/postgres',
      value: 'URL',
      description: 'PostgreSQL maintenance URL (a throwaway database is created and dropped)',
    },
    size: { type: 'string', default: '1', value: 'MB', description: 'plain text of the large paper, in millions of characters' },
    typical: { type: 'string', default: '40000', value: 'CHARS', description: 'plain text of the typical paper (about 20 pages)' },
    iterations: { type: 'string', default: '10', value: 'N', description: 'versions taken of the large paper' },
    docs: { type: 'string', default: '10', value: 'N', description: 'large documents under load in the fan-out runs' },
    clients: { type: 'string', default: '20', value: 'N', description: 'clients per document (2 of them writers)' },
    rate: { type: 'string', default: '5', value: 'N', description: 'updates per second per writer' },
    every: {
      type: 'string',
      default: '2000',
      value: 'MS',
      description: 'AUTO_VERSION_MAX_MS of the "versions" run (a version of each document at least this often)',
    },
    duration: { type: 'string', default: '20', value: 'S', description: 'measured seconds of each fan-out run' },
    'skip-load': { type: 'boolean', default: false, description: 'only measurements 1 and 2' },
    'no-pin': {
      type: 'boolean',
      default: false,
      description: 'do not pin the server to core 0 (its version worker thread may then use another core)',
    },
    out: { type: 'string', default: join(REPO_ROOT, 'bench/results'), value: 'DIR', description: 'where results are written' },
  },
});
const v = cli.values;
const sizeMB = cli.number(v.size, '--size', { min: 0.001, max: 50 })!;
const typicalChars = cli.number(v.typical, '--typical', { integer: true, min: 100 })!;
const iterations = cli.number(v.iterations, '--iterations', { integer: true, min: 1, max: 1000 })!;
const docs = cli.number(v.docs, '--docs', { integer: true, min: 1, max: 1000 })!;
const clients = cli.number(v.clients, '--clients', { integer: true, min: 3, max: 1000 })!;
const rate = cli.number(v.rate, '--rate', { min: 0.1, max: 1000 })!;
const every = cli.number(v.every, '--every', { integer: true, min: 100 })!;
const duration = cli.number(v.duration, '--duration', { integer: true, min: 1 })!;

const silent = pino({ level: 'silent' });
const ms = (n: number) => Number(n.toFixed(2));
const stats = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: ms(sorted[Math.floor(sorted.length / 2)]!), max: ms(sorted[sorted.length - 1]!) };
};

async function withThrowawayDatabase<T>(run: (url: string) => Promise<T>): Promise<T> {
  const name = `scriptorium_vbench_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: v.pg });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(v.pg!);
  url.pathname = `/${name}`;
  try {
    return await run(url.toString());
  } finally {
    const drop = new pg.Client({ connectionString: v.pg });
    await drop.connect();
    await drop.query(`drop database if exists ${name} with (force)`);
    await drop.end();
  }
}

/** A paper of `chars` characters after an editing session (history, deletions). */
function paper(chars: number, seed: number): Y.Doc {
  const random = seededRandom(seed);
  const doc = paperDocument(generatePaper(chars, random));
  editPaper(doc, 200, random);
  return doc;
}

/** A document not held by a room: nothing of it waits to be stored. */
const source = (doc: Y.Doc): VersionSource => ({ doc, durability: new Durability() });

async function inProcess(url: string) {
  const db = await openDb({ databaseUrl: url, dataDir: '' });
  try {
    await migrateUp(db);
    const versions = new Versions(db, silent);

    // 1. Storage of a typical paper.
    const typical = paper(typicalChars, 7);
    const typicalRef = { ...(await createDocument(db, 'typical', 'paper', DEFAULT_PROJECT_ID)).document };
    await db.query('update documents set state = $2 where id = $1', [typicalRef.id, Y.encodeStateAsUpdate(typical)]);
    const taken = await versions.take(typicalRef, source(typical), { kind: 'named', label: 'typical', createdBy: null });
    const { rows } = await db.query<{ state_bytes: number; stored_bytes: number }>(
      `select octet_length(state) as state_bytes, pg_column_size(state) as stored_bytes from document_versions where id = $1`,
      [taken!.version.id],
    );
    const storage = { textChars: renderPaper(typical).text.length, stateBytes: rows[0]!.state_bytes, storedBytes: rows[0]!.stored_bytes };

    // 2. Taking versions of a large paper.
    const large = paper(sizeMB * 1_000_000, 11);
    const largeRef = (await createDocument(db, 'large', 'paper', DEFAULT_PROJECT_ID)).document;
    const random = seededRandom(3);
    const hash: number[] = [];
    const encodeAndHash: number[] = [];
    const take: number[] = [];
    const render: number[] = [];
    const busy: number[] = [];
    const loop = monitorEventLoopDelay({ resolution: 1 });
    let loopMaxMs = 0;
    for (let i = 0; i < iterations; i++) {
      editPaper(large, 5, random); // a new state each time
      let t = performance.now();
      stateHash(large);
      hash.push(performance.now() - t);
      t = performance.now();
      Y.encodeStateAsUpdate(large);
      stateHash(large);
      encodeAndHash.push(performance.now() - t);
      editPaper(large, 5, random);
      await db.query('update documents set state = $2 where id = $1', [largeRef.id, Y.encodeStateAsUpdate(large)]);
      await new Promise((resolve) => setTimeout(resolve, 20));
      loop.reset();
      loop.enable();
      t = performance.now();
      const elu = perf.eventLoopUtilization();
      const stored = await versions.take(largeRef, source(large), { kind: 'auto', label: null, createdBy: null });
      busy.push(perf.eventLoopUtilization(elu).active);
      take.push(performance.now() - t);
      loop.disable();
      loopMaxMs = Math.max(loopMaxMs, loop.max / 1e6);
      if (!stored?.created) throw new Error('the benchmark took no new version');
      t = performance.now();
      renderPaper(large);
      render.push(performance.now() - t);
    }
    // Restoring the first state of the paper after all those edits: computed on the main thread.
    const restore: number[] = [];
    const first = Y.encodeStateAsUpdate(paper(sizeMB * 1_000_000, 11));
    for (let i = 0; i < Math.min(iterations, 5); i++) {
      const t = performance.now();
      restoreUpdate('paper', large, first);
      restore.push(performance.now() - t);
    }
    const stateBytes = Y.encodeStateAsUpdate(large).byteLength;
    await versions.close();
    return {
      storage,
      large: {
        textChars: renderPaper(large).text.length,
        stateBytes,
        hashMs: stats(hash),
        encodeAndHashMs: stats(encodeAndHash),
        takeMs: stats(take),
        mainThreadBusyMs: stats(busy),
        eventLoopMaxDelayMs: ms(loopMaxMs),
        renderPaperMs: stats(render),
        restoreUpdateMs: stats(restore),
      },
    };
  } finally {
    await db.close();
  }
}

async function fanOut(label: string, env: Record<string, string>, state: Uint8Array): Promise<{ result: LoadResult; versions: number }> {
  const server = await startServer('scriptorium-pg', {
    cpu: v['no-pin'] ? null : 0,
    scriptoriumProtocol: 'hocuspocus',
    pgAdminUrl: v.pg!,
    env,
  });
  const dbUrl = new URL(v.pg!);
  dbUrl.pathname = `/${server.database}`;
  const docPrefix = `vbench-${Date.now().toString(36)}-`;
  const sql = new pg.Client({ connectionString: dbUrl.toString() });
  await sql.connect();
  try {
    // The large papers, stored before anyone opens them.
    for (let d = 0; d < docs; d++) {
      await sql.query(`insert into documents (project_id, name, kind, state) values ($1, $2, 'paper', $3)`, [
        DEFAULT_PROJECT_ID,
        `${docPrefix}${d}`,
        state,
      ]);
    }
    const result = await runLoad({
      label,
      protocol: 'hocuspocus',
      urls: [server.url],
      token: 'bench',
      docPrefix,
      docs,
      clientsPerDoc: clients,
      writersPerDoc: 2,
      probesPerDoc: 2,
      rate,
      awarenessRate: 0,
      connectConcurrency: 50,
      connectTimeoutMs: 30_000,
      rawReaders: true,
      warmupSec: 3,
      durationSec: duration,
      drainMs: 5000,
      workers: 1,
      serverPids: [server.pid()],
      progress: false,
    });
    const { rows } = await sql.query<{ n: number }>(`select count(*)::int as n from document_versions`);
    return { result, versions: rows[0]!.n };
  } finally {
    await sql.end();
    await server.stop();
  }
}

const started = new Date();
const measured = await withThrowawayDatabase(inProcess);
console.log(
  `typical paper (${measured.storage.textChars} chars): version state ${measured.storage.stateBytes} B, stored ${measured.storage.storedBytes} B`,
);
console.log(`large paper (${measured.large.textChars} chars, state ${measured.large.stateBytes} B):`, JSON.stringify(measured.large));

let load: { none: { result: LoadResult; versions: number }; versions: { result: LoadResult; versions: number }; p99Ratio: number } | null =
  null;
if (!v['skip-load']) {
  if (!pinSelf(1)) process.stderr.write('warning: could not pin the loader (taskset missing?)\n');
  const large = paper(sizeMB * 1_000_000, 11);
  const state = Y.encodeStateAsUpdate(large);
  const none = await fanOut('no versions', { AUTO_VERSION_QUIET_MS: '3600000', AUTO_VERSION_MAX_MS: '3600000' }, state);
  console.log(describeLoad(none.result), `versions stored: ${none.versions}`);
  const withVersions = await fanOut(
    `a version every ${every} ms`,
    { AUTO_VERSION_QUIET_MS: String(every), AUTO_VERSION_MAX_MS: String(every) },
    state,
  );
  console.log(describeLoad(withVersions.result), `versions stored: ${withVersions.versions}`);
  const p99Ratio = (withVersions.result.latencyMs.p99 ?? NaN) / (none.result.latencyMs.p99 ?? NaN);
  load = { none, versions: withVersions, p99Ratio };
  console.log(`fan-out p99 with versions / without: ${p99Ratio.toFixed(2)} (target ≤ 1.20)`);
}

function run({ result, versions }: { result: LoadResult; versions: number }) {
  const round = (x: number | null | undefined) => (x === null || x === undefined ? null : ms(x));
  return {
    p50: round(result.latencyMs.p50),
    p99: round(result.latencyMs.p99),
    ackP99: round(result.ackMs?.p99),
    cpuPct: result.server.cpuPct,
    versions,
    loss: result.loss,
  };
}

mkdirSync(v.out!, { recursive: true });
const stamp = started.toISOString().replace(/[:.]/g, '-');
const file = join(v.out!, `versions-${stamp}`);
const summary = {
  commit: gitCommit(),
  machine: machineDescription(),
  startedAt: started.toISOString(),
  options: { sizeMB, typicalChars, iterations, docs, clients, rate, every, duration, serverPinned: !v['no-pin'] },
  ...measured,
  load: load && {
    none: run(load.none),
    versions: run(load.versions),
    p99Ratio: load.p99Ratio,
    loaderNotes: [load.none.result.loader.note, load.versions.result.loader.note],
    otherCpuPct: [load.none.result.otherCpuPct, load.versions.result.otherCpuPct],
  },
};
writeFileSync(`${file}.json`, JSON.stringify(summary, null, 2));
const l = measured.large;
const md = [
  `# Versions (${summary.startedAt}, commit ${summary.commit})`,
  '',
  `Machine: ${summary.machine}`,
  '',
  `Typical paper, ${measured.storage.textChars} characters: one version = ${measured.storage.stateBytes} bytes of Yjs state, ${measured.storage.storedBytes} bytes stored (PostgreSQL TOAST).`,
  '',
  `Large paper, ${l.textChars} characters (state ${l.stateBytes} bytes), ${iterations} versions, median / max ms:`,
  '',
  '| step | median | max |',
  '|---|---|---|',
  `| live state identity (hash, main thread) | ${l.hashMs.median} | ${l.hashMs.max} |`,
  `| whole take (hash and newest version on the main thread; read, merge + encode + hash, insert on the worker's connection) | ${l.takeMs.median} | ${l.takeMs.max} |`,
  `| main thread busy during a take (event-loop utilization) | ${l.mainThreadBusyMs.median} | ${l.mainThreadBusyMs.max} |`,
  `| for comparison: encode + identity on the main thread (what the worker spares it) | ${l.encodeAndHashMs.median} | ${l.encodeAndHashMs.max} |`,
  `| for comparison: renderPaper on the main thread (GET of the content, not part of a take) | ${l.renderPaperMs.median} | ${l.renderPaperMs.max} |`,
  `| computing a restore of the paper's first state (main thread, not part of a take) | ${l.restoreUpdateMs.median} | ${l.restoreUpdateMs.max} |`,
  '',
  `Longest event-loop delay while the versions were taken: ${l.eventLoopMaxDelayMs} ms (on a busy machine this includes time the process was not scheduled).`,
  '',
  ...(summary.load
    ? [
        `Fan-out, ${docs} documents of that paper × ${clients} clients (2 writers × ${rate}/s), ${duration} s, server ${v['no-pin'] ? 'not pinned' : 'pinned to core 0 (the version worker thread shares it)'}:`,
        '',
        '| run | latency p50 ms | p99 ms | ack p99 ms | server CPU % | versions stored |',
        '|---|---|---|---|---|---|',
        `| no versions | ${summary.load.none.p50} | ${summary.load.none.p99} | ${summary.load.none.ackP99} | ${summary.load.none.cpuPct} | ${summary.load.none.versions} |`,
        `| a version of each every ${every} ms | ${summary.load.versions.p50} | ${summary.load.versions.p99} | ${summary.load.versions.ackP99} | ${summary.load.versions.cpuPct} | ${summary.load.versions.versions} |`,
        '',
        `p99 ratio: ${summary.load.p99Ratio.toFixed(2)} (target ≤ 1.20). Other CPU on the machine: ${summary.load.otherCpuPct.map((x) => (x === null ? '?' : `${x.toFixed(0)} %`)).join(', ')}.`,
      ]
    : []),
].join('\n');
writeFileSync(`${file}.md`, md + '\n');
console.log(`results: ${file}.{json,md}`);
