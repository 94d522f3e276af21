#!/usr/bin/env node
/**
 * `npm run bench:start`: how long `npm start` takes until GET /healthz answers 200, on the
 * embedded default (PGlite in a fresh temporary DATA_DIR, a free PORT), in three situations:
 *
 * - first start: nothing built and no database yet (a new checkout: tsc, vite build, initdb);
 * - after an edit: one server source changed since the last build (tsc again), database kept;
 * - second start: nothing changed, database kept (the everyday restart).
 *
 * It runs in a copy of the repository (tracked and untracked files, node_modules linked), so the
 * checkout's own dist/ is never deleted or rebuilt. Prints a Markdown table: the median, fastest
 * and slowest of the runs, and the CPU time the command's processes used until ready (Linux).
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './build-stamp.mjs';

const USAGE = `usage: npm run bench:start -- [--runs N] [--only first|edit|second] [--keep]

Times \`npm start\` from spawn to the first 200 of GET /healthz on the embedded default (PGlite in
a fresh temporary DATA_DIR, a free PORT), in a copy of the repository: a first start (nothing
built, no database), a start after one server source was edited, and a second start (nothing
changed). Prints the median, fastest and slowest of N runs of each, and their CPU time.

  --runs N   runs of each kind (default 5)
  --only K   time only this kind (the others still run where it needs them, untimed)
  --keep     keep the temporary copy and data folders (their path is printed)
  -h, --help this help
`;

/** Longest a start may take before the run counts as failed (a first start on a busy machine is slow). */
const READY_TIMEOUT_MS = 300_000;
/** Longest the stopped server may take to flush and exit. */
const STOP_TIMEOUT_MS = 30_000;
/** The server source "edited" before each after-an-edit run. */
const EDITED_SOURCE = path.join('server', 'main.ts');

let options;
try {
  options = parseArgs({
    options: {
      runs: { type: 'string', default: '5' },
      only: { type: 'string' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values;
} catch (error) {
  process.stderr.write(`npm run bench:start: ${error instanceof Error ? error.message : String(error)} (try --help)\n`);
  process.exit(2);
}
if (options.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const runs = Number(options.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 100) {
  process.stderr.write('npm run bench:start: --runs must be an integer from 1 to 100 (try --help)\n');
  process.exit(2);
}
const KINDS = ['first', 'edit', 'second'];
if (options.only !== undefined && !KINDS.includes(options.only)) {
  process.stderr.write(`npm run bench:start: --only must be one of ${KINDS.join(', ')} (try --help)\n`);
  process.exit(2);
}
/** @param {string} kind */
const timed = (kind) => options.only === undefined || options.only === kind;

/** A copy of the checkout as it is now (uncommitted edits included), sharing its node_modules. */
function copyRepository(into) {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    const target = path.join(into, file);
    mkdirSync(path.dirname(target), { recursive: true });
    try {
      cpSync(path.join(ROOT, file), target);
    } catch {
      // listed but deleted in the working tree: not part of the checkout as it is now
    }
  }
  symlinkSync(realpathSync(path.join(ROOT, 'node_modules')), path.join(into, 'node_modules'), 'dir');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

function healthy(port) {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 1_000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.once('error', () => resolve(false));
    request.once('timeout', () => request.destroy());
  });
}

/** CPU seconds used so far by the process group `group` (its live members and the children they reaped); null off Linux. */
function groupCpuSeconds(group) {
  const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  let total = 0;
  let entries;
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  for (const pid of entries) {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // After the command name (which may contain spaces) in parentheses: state, ppid, pgrp, ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== group) continue;
    // utime, stime, cutime, cstime are fields 14-17 of the whole line, 12-15 after the name.
    total += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  }
  return total / ticks;
}

/** Runs `npm start` in `cwd` with `dataDir`; resolves with the seconds to the first 200 of /healthz and the CPU seconds used. */
async function timeStart(cwd, dataDir) {
  const port = await freePort();
  const env = { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
  // The embedded default: no external database, no Redis, durable storage.
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'STORAGE', 'AUTH_SECRET']) delete env[name];
  const started = performance.now();
  // Its own process group, so npm, the shell and the server are stopped together.
  const child = spawn('npm', ['start'], { cwd, env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4_000);
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let exitedEarly = null;
  void exited.then((status) => {
    exitedEarly = status;
  });
  let seconds = null;
  let cpu = null;
  while (performance.now() - started < READY_TIMEOUT_MS && !exitedEarly) {
    if (await healthy(port)) {
      seconds = (performance.now() - started) / 1000;
      cpu = groupCpuSeconds(child.pid);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  if (!exitedEarly) {
    process.kill(-child.pid, 'SIGTERM');
    const stopped = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve(null), STOP_TIMEOUT_MS))]);
    if (!stopped) process.kill(-child.pid, 'SIGKILL');
  }
  if (seconds === null)
    throw new Error(
      `npm start never answered /healthz (${exitedEarly ? `exited ${JSON.stringify(exitedEarly)}` : 'timed out'}):\n${stderr}`,
    );
  return { seconds, cpu };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const work = mkdtempSync(path.join(os.tmpdir(), 'scriptorium-start-'));
const repo = path.join(work, 'repo');
const loadBefore = os.loadavg();
process.stderr.write(`copying the checkout to ${repo}\n`);
copyRepository(repo);

/** @type {Record<string, { seconds: number, cpu: number | null }[]>} */
const results = { first: [], edit: [], second: [] };
try {
  // Without timed first starts, one untimed start builds and creates the database the others use.
  let dataDir = mkdtempSync(path.join(work, 'data-'));
  if (!timed('first')) await timeStart(repo, dataDir);
  for (let run = 1; run <= runs; run++) {
    if (timed('first')) {
      // First start: nothing built, no database.
      rmSync(path.join(repo, 'dist'), { recursive: true, force: true });
      rmSync(path.join(repo, 'clients', 'web', 'dist'), { recursive: true, force: true });
      if (!options.keep) rmSync(dataDir, { recursive: true, force: true });
      dataDir = mkdtempSync(path.join(work, 'data-'));
      results.first.push(await timeStart(repo, dataDir));
    }
    if (timed('edit')) {
      // After an edit: a line added to one server source, as a save in an editor would.
      appendFileSync(path.join(repo, EDITED_SOURCE), `// edited by the start-time benchmark, run ${run}\n`);
      results.edit.push(await timeStart(repo, dataDir));
    }
    if (timed('second')) results.second.push(await timeStart(repo, dataDir));
    const lastOf = KINDS.filter((kind) => timed(kind)).map((kind) => `${kind} ${results[kind].at(-1).seconds.toFixed(2)} s`);
    process.stderr.write(`run ${run}/${runs}: ${lastOf.join(', ')}\n`);
  }
} finally {
  if (!options.keep) rmSync(work, { recursive: true, force: true });
  else process.stderr.write(`kept ${work}\n`);
}

const rows = [
  ['first start', 'nothing built, no database: tsc, vite build, initdb', results.first],
  ['after an edit', `a line added to ${EDITED_SOURCE}: tsc (incremental); database kept`, results.edit],
  ['second start', 'nothing changed; database kept', results.second],
].filter(([, , measured]) => measured.length > 0);
const seconds = (value) => `${value.toFixed(2)} s`;
const cpus = os.cpus();
const loadAfter = os.loadavg();
const lines = [
  `Machine: ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, Node ${process.version}; load average ${loadBefore[0].toFixed(1)} before, ${loadAfter[0].toFixed(1)} after`,
  `Command: npm start (embedded PGlite, fresh DATA_DIR), ${runs} runs each, time from spawn to the first 200 of GET /healthz`,
  '',
  '| start | what it does | median | fastest | slowest | CPU (median) |',
  '|---|---|---:|---:|---:|---:|',
  ...rows.map(([name, what, measured]) => {
    const times = measured.map((run) => run.seconds);
    const cpu = measured.every((run) => run.cpu !== null) ? seconds(median(measured.map((run) => run.cpu))) : '–';
    return `| ${name} | ${what} | ${seconds(median(times))} | ${seconds(Math.min(...times))} | ${seconds(Math.max(...times))} | ${cpu} |`;
  }),
];
process.stdout.write(`${lines.join('\n')}\n`);
