/**
 * Authorship on a large paper: what GET …/authors and …/blame cost when the paper was typed by
 * a few editors in log rows of a given size (keystrokes as appended, or minutes of typing as a
 * compaction coarsens them), cold (the first request reads the whole log) and cached (later
 * requests read only new rows), and what the derived index keeps in memory.
 * Run: npm run build && node --expose-gc dist/bench/authorship-bench.js [options]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import * as Y from 'yjs';
import { AuthorIdentities } from '../server/authorship/author-identities.js';
import { listAuthors } from '../server/authorship/authors.js';
import { AuthorshipIndex, INDEX_OPTIONS } from '../server/authorship/authorship-index.js';
import { readAuthorshipLog, type AuthorshipLogRow } from '../server/authorship/authorship-log.js';
import { paperBlame } from '../server/authorship/paper-blame.js';
import { parseCli } from '../server/command-line.js';
import { paperTextOf } from '../server/documents/paper-text.js';
import { compactDocument, FOLD_EVERYTHING } from '../server/persistence/compaction.js';
import { openDb, type Db } from '../server/persistence/db.js';
import { createDocument, DEFAULT_PROJECT_ID } from '../server/persistence/documents.js';
import { migrateUp } from '../server/persistence/migrations.js';
import { createUser } from '../server/persistence/accounts.js';
import { startServer } from '../server/server.js';
import { generatePaper, seededRandom } from './paper-fixture.js';
import { gitCommit, machineDescription, otherCpuMeter, REPO_ROOT } from './run-info.js';

const cli = parseCli({
  command: 'node --expose-gc dist/bench/authorship-bench.js',
  synopsis: '[options]',
  summary: `Builds a paper of --size MB of text typed by --editors editors in log rows of --row-chars
characters each (one scenario per value; another editor deletes a few characters after every
--delete-every rows), stores the log in a throwaway PostgreSQL database and compacts it into
documents.state, keeping the rows as history: coarsened as the server's compaction does (one
row per session and minute), or with --history appended as they were appended (the log of a
document never compacted, the worst case). Measures:
- in process: reading the whole log, folding it into the index, the index's size (approximate,
  and the heap it retains: needs --expose-gc), the authors list, and the blame walk of the paper;
- over HTTP on an in-process server: the first /blame and /authors (cold: the whole log is read),
  then each again (cached: only new rows are read), and after --burst more rows were stored;
  with the CPU time this process (server and client) used per request.
Writes bench/results/authorship-<time>.{json,md}.`,
  options: {
    pg: {
      type: 'string',
      default: 'postgres://postgres@127.0.0.1:5432/postgres',
      value: 'URL',
      description: 'PostgreSQL maintenance URL (a throwaway database is created and dropped)',
    },
    size: { type: 'string', default: '1', value: 'MB', description: 'plain text of the paper, in millions of characters' },
    'row-chars': {
      type: 'string',
      default: '300,20',
      value: 'N[,N…]',
      description: 'characters typed per log row, one scenario each (1: one keystroke per row)',
    },
    history: {
      type: 'string',
      default: 'coarsened',
      value: 'coarsened|appended',
      description: 'the history rows compaction leaves: merged per session and minute, or as appended',
    },
    editors: { type: 'string', default: '3', value: 'N', description: 'editors taking turns by paragraph' },
    'delete-every': { type: 'string', default: '20', value: 'N', description: 'rows between two deletions by another editor' },
    burst: { type: 'string', default: '200', value: 'N', description: 'rows stored before the "after new rows" requests' },
    iterations: { type: 'string', default: '5', value: 'N', description: 'timed runs of each cached request' },
    seed: { type: 'string', default: '42', value: 'N', description: 'seed of the paper and the edits' },
    out: { type: 'string', default: join(REPO_ROOT, 'bench/results'), value: 'DIR', description: 'where results are written' },
  },
});
const v = cli.values;
const sizeMB = cli.number(v.size, '--size', { min: 0.001, max: 20 })!;
const rowChars = v['row-chars']!.split(',').map((value) => cli.number(value, '--row-chars', { integer: true, min: 1, max: 1_000_000 })!);
const coarsen = cli.oneOf(v.history, '--history', ['coarsened', 'appended'] as const) === 'coarsened';
const editorCount = cli.number(v.editors, '--editors', { integer: true, min: 1, max: 100 })!;
const deleteEvery = cli.number(v['delete-every'], '--delete-every', { integer: true, min: 1 })!;
const burst = cli.number(v.burst, '--burst', { integer: true, min: 1, max: 100_000 })!;
const iterations = cli.number(v.iterations, '--iterations', { integer: true, min: 1, max: 1000 })!;
const seed = cli.number(v.seed, '--seed', { integer: true, min: 0 })!;

const gc = (globalThis as { gc?: () => void }).gc;
const heapUsed = (): number => {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
};
const mb = (bytes: number): number => Number((bytes / 1e6).toFixed(1));
const ms = (value: number): number => Number(value.toFixed(1));
const median = (samples: number[]): number => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;

interface LogRow {
  readonly user: number;
  readonly update: Uint8Array;
}

/**
 * The paper typed in rows of `chars` characters, editors taking turns by paragraph. One Y.Doc
 * plays every editor by switching its client id before each of their transactions (what Yjs does
 * itself when it finds its id taken): each update then carries that editor's client id only,
 * as an editor's own update does, without keeping one replica per editor in sync.
 */
function typePaper(chars: number): { rows: LogRow[]; doc: Y.Doc } {
  const random = seededRandom(seed);
  const paragraphs = generatePaper(Math.round(sizeMB * 1_000_000), random)
    .map((block) => paperTextOf([block]))
    .filter((text) => text.length > 0);
  const doc = new Y.Doc();
  const clientIds = Array.from({ length: editorCount }, (_, i) => 1_000 + i);
  const rows: LogRow[] = [];
  let user = 0;
  doc.on('update', (update: Uint8Array) => rows.push({ user, update }));
  const as = (editor: number, change: () => void): void => {
    user = editor;
    doc.clientID = clientIds[editor]!;
    doc.transact(change);
  };
  const fragment = doc.getXmlFragment('default');
  let sinceDeletion = 0;
  paragraphs.forEach((text, i) => {
    const editor = i % editorCount;
    const node = new Y.XmlText();
    as(editor, () => {
      const paragraph = new Y.XmlElement('paragraph');
      paragraph.insert(0, [node]);
      fragment.insert(fragment.length, [paragraph]);
    });
    for (let at = 0; at < text.length; at += chars) {
      as(editor, () => node.insert(node.length, text.slice(at, at + chars)));
      if (++sinceDeletion < deleteEvery || editorCount < 2) continue;
      sinceDeletion = 0;
      // Another editor deletes a few characters somewhere in a paragraph typed so far.
      const target = (fragment.get(Math.floor(random() * fragment.length)) as Y.XmlElement).get(0) as Y.XmlText;
      const length = Math.min(target.length, 1 + Math.floor(random() * 4));
      if (length === 0) continue;
      as((editor + 1) % editorCount, () => target.delete(Math.floor(random() * (target.length - length + 1)), length));
    }
  });
  return { rows, doc };
}

async function storeRows(db: Db, documentId: string, users: readonly string[], rows: readonly LogRow[], startAt: number): Promise<void> {
  const BATCH = 5_000;
  for (let from = 0; from < rows.length; from += BATCH) {
    const batch = rows.slice(from, from + BATCH);
    await db.query(
      `insert into collaborations (document_id, user_id, session_id, update, size, created_at)
       select $1, u, s, b, octet_length(b), t from unnest($2::uuid[], $3::text[], $4::bytea[], $5::timestamptz[]) as x(u, s, b, t)`,
      [
        documentId,
        batch.map((row) => users[row.user]!),
        batch.map((row) => `session-${row.user}`),
        batch.map((row) => row.update),
        batch.map((_, i) => new Date(startAt + (from + i) * 100)),
      ],
    );
  }
}

interface ScenarioResult {
  readonly rowChars: number;
  /** Rows as typed (appended), and in the log after the compaction. */
  readonly rows: number;
  readonly logRows: number;
  readonly logBytes: number;
  readonly textChars: number;
  readonly stateBytes: number;
  readonly inProcess: Record<string, number>;
  readonly http: Record<string, number>;
}

async function scenario(url: string, chars: number): Promise<ScenarioResult> {
  const { rows, doc } = typePaper(chars);
  const stateBytes = Y.encodeStateAsUpdate(doc).byteLength;
  const db = await openDb({ databaseUrl: url, dataDir: '' });
  try {
    await migrateUp(db);
    const users: string[] = [];
    for (let i = 0; i < editorCount; i++)
      users.push((await createUser(db, { email: `editor${i}-${chars}@example.org`, name: `Editor ${i}` }))!.id);
    const name = `authorship-bench-${chars}`;
    const { document } = await createDocument(db, name, 'paper', DEFAULT_PROJECT_ID);
    const started = Date.now() - rows.length * 100;
    await storeRows(db, document.id, users, rows, started);
    // The room loads documents.state; the rows stay as history, coarsened or not. (A window of 0
    // merges nothing: every update stays a row of its own.)
    await compactDocument(db, document.id, 1, coarsen ? FOLD_EVERYTHING : { ...FOLD_EVERYTHING, historyWindowMs: 0 });
    const { rows: log } = await db.query<{ rows: number; bytes: number }>(
      'select count(*)::int as rows, coalesce(sum(size), 0)::int as bytes from collaborations where document_id = $1',
      [document.id],
    );
    const logRowCount = log[0]!.rows;
    const logBytes = log[0]!.bytes;

    // In process: the phases of a cold request.
    const inProcess: Record<string, number> = {};
    // The log's pages kept, to time reading and folding apart (a request folds each page and drops it).
    const logRows: AuthorshipLogRow[] = [];
    let t = performance.now();
    await readAuthorshipLog(db, document.id, null, (page) => {
      for (const row of page) logRows.push(row);
    });
    inProcess.readLogMs = ms(performance.now() - t);
    // Once untimed, so the timed fold runs compiled code like a server that has folded before.
    new AuthorshipIndex(INDEX_OPTIONS.paper).add(logRows);
    const before = heapUsed();
    t = performance.now();
    const index = new AuthorshipIndex(INDEX_OPTIONS.paper);
    index.add(logRows);
    inProcess.foldMs = ms(performance.now() - t);
    // What the index holds beyond the rows.
    inProcess.indexRetainedMB = gc ? mb(heapUsed() - before) : Number.NaN;
    logRows.length = 0;
    inProcess.indexApproximateMB = mb(index.approximateBytes());
    const identities = new AuthorIdentities(index, new Map(users.map((id, i) => [id, `Editor ${i}`])), new Map());
    listAuthors(index, identities);
    t = performance.now();
    const authors = listAuthors(index, identities);
    inProcess.authorsListMs = ms(performance.now() - t);
    paperBlame(doc, (client) => identities.ofClient(client));
    t = performance.now();
    const blame = paperBlame(doc, (client) => identities.ofClient(client));
    inProcess.blameWalkMs = ms(performance.now() - t);
    inProcess.spans = blame.spans.length;
    if (!blame.attributed || authors.length !== editorCount)
      throw new Error(`unexpected derivation: ${authors.length} authors, attributed ${blame.attributed}`);

    // Over HTTP: a fresh server (empty cache) on the same database.
    const http: Record<string, number> = {};
    const server = await startServer({
      config: {
        port: 0,
        host: '127.0.0.1',
        storage: 'durable',
        databaseUrl: url,
        transport: 'uws',
        logLevel: 'error',
        authSecret: undefined,
      },
    });
    try {
      /** The CPU this process (the server, and the request's client) used in the last get(), ms. */
      let lastCpuMs = 0;
      const get = async (route: string): Promise<number> => {
        const cpuBefore = process.cpuUsage();
        const begin = performance.now();
        const response = await fetch(`http://127.0.0.1:${server.port}/api/documents/${encodeURIComponent(name)}/${route}`);
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`${route}: ${response.status}`);
        const elapsed = performance.now() - begin;
        const cpu = process.cpuUsage(cpuBefore);
        lastCpuMs = (cpu.user + cpu.system) / 1000;
        return elapsed;
      };
      const heapBefore = heapUsed();
      http.authorsColdMs = ms(await get('authors'));
      http.authorsColdCpuMs = ms(lastCpuMs);
      http.heapAfterColdAuthorsMB = mb(heapUsed() - heapBefore);
      const cachedAuthors: number[] = [];
      for (let i = 0; i < iterations; i++) cachedAuthors.push(await get('authors'));
      http.authorsCachedMs = ms(median(cachedAuthors));
      http.authorsCachedCpuMs = ms(lastCpuMs);
      // The room is opened for the first blame (loading documents.state): timed apart.
      http.blameFirstMs = ms(await get('blame'));
      http.blameFirstCpuMs = ms(lastCpuMs);
      const cachedBlame: number[] = [];
      for (let i = 0; i < iterations; i++) cachedBlame.push(await get('blame'));
      http.blameCachedMs = ms(median(cachedBlame));
      http.blameCachedCpuMs = ms(lastCpuMs);
      // More typing, then the next requests read only the new rows.
      const more = typePaper(chars).rows.slice(0, burst);
      await storeRows(db, document.id, users, more, Date.now());
      http.authorsAfterBurstMs = ms(await get('authors'));
    } finally {
      await server.close();
    }
    return {
      rowChars: chars,
      rows: rows.length,
      logRows: logRowCount,
      logBytes,
      textChars: blame.text.length,
      stateBytes,
      inProcess,
      http,
    };
  } finally {
    await db.close();
  }
}

async function withThrowawayDatabase<T>(run: (url: string) => Promise<T>): Promise<T> {
  const name = `scriptorium_authbench_${process.pid}_${Date.now()}`;
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

const meter = otherCpuMeter();
const results: ScenarioResult[] = [];
for (const chars of rowChars) {
  process.stderr.write(`scenario: ${chars} characters per row…\n`);
  results.push(await withThrowawayDatabase((url) => scenario(url, chars)));
}
const otherCpu = meter();

const when = new Date().toISOString();
const command = `node dist/bench/authorship-bench.js ${process.argv.slice(2).join(' ')}`.trim();
const table = [
  '| characters per row | rows typed | log rows (MB) | read log ms | fold ms | index MB (approx / retained) | authors list ms | blame walk ms | HTTP /authors cold ms (CPU) | cached ms (CPU, last) | after new rows ms | heap after cold MB | /blame first ms (CPU) | cached ms (CPU, last) |',
  '|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...results
    .map((r) =>
      [
        r.rowChars,
        r.rows.toLocaleString('en'),
        `${r.logRows.toLocaleString('en')} (${mb(r.logBytes)})`,
        r.inProcess.readLogMs,
        r.inProcess.foldMs,
        `${r.inProcess.indexApproximateMB} / ${Number.isNaN(r.inProcess.indexRetainedMB) ? '(no --expose-gc)' : r.inProcess.indexRetainedMB}`,
        r.inProcess.authorsListMs,
        r.inProcess.blameWalkMs,
        `${r.http.authorsColdMs} (${r.http.authorsColdCpuMs})`,
        `${r.http.authorsCachedMs} (${r.http.authorsCachedCpuMs})`,
        r.http.authorsAfterBurstMs,
        r.http.heapAfterColdAuthorsMB,
        `${r.http.blameFirstMs} (${r.http.blameFirstCpuMs})`,
        `${r.http.blameCachedMs} (${r.http.blameCachedCpuMs})`,
      ].join(' | '),
    )
    .map((line) => `| ${line} |`),
].join('\n');
const describe = [
  `Paper: ${results[0]!.textChars.toLocaleString('en')} characters of text (Yjs state ${mb(results[0]!.stateBytes)} MB), typed by ${editorCount} editors taking turns by paragraph,`,
  `a deletion of 1–4 characters by another editor every ${deleteEvery} rows; ${burst} new rows before "after new rows". Spans in the blame: ${results.map((r) => r.inProcess.spans).join(' / ')}.`,
  `History: ${coarsen ? 'coarsened by the compaction (one row per session and minute; typed rows are 100 ms apart)' : 'as appended (a compaction that merges nothing)'}.`,
  `Other CPU during the run: ${otherCpu === null ? 'unknown' : `${otherCpu.toFixed(2)} cores`} (the machine is shared).`,
].join('\n');
const markdown = `## authorship — ${when}\n\nMachine: ${machineDescription()}\nCommit: ${gitCommit()}\nCommand: \`${command}\`\n\n${describe}\n\n${table}\n`;
console.log(markdown);
mkdirSync(v.out!, { recursive: true });
const stamp = when.replace(/[:.]/g, '-');
writeFileSync(join(v.out!, `authorship-${stamp}.md`), markdown);
writeFileSync(
  join(v.out!, `authorship-${stamp}.json`),
  JSON.stringify({ scenario: 'authorship', when, machine: machineDescription(), commit: gitCommit(), command, otherCpu, results }, null, 2),
);
process.stderr.write(`results written to ${v.out}/authorship-${stamp}.{json,md}\n`);
