/**
 * Every command-line entry point (the built bench/*.js, bench/peers/*.js, the migration CLI and cli/token.js)
 * answers `--help`/`-h` with its usage on stdout and exit 0 without opening a database or
 * starting a server, and answers an unknown option or a bad argument with exactly one line on
 * stderr ending in "(try --help)" and exit 2 — never a stack trace. Runs the built files
 * (`npm test` builds first) as child processes.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

interface Cli {
  /** Source file, relative to the repository root; run as dist/<same path>.js. */
  source: string;
  /** Words the usage must mention: every option and argument. */
  mentions: string[];
  /** A command line with a bad argument, and a word the error line must contain. */
  invalid: { args: string[]; names: string };
}

const CLIS: Cli[] = [
  {
    source: 'bench/compare.ts',
    mentions: [
      '--scenario',
      '--servers',
      '--url',
      '--protocol',
      '--server-pid',
      '--docs',
      '--clients',
      '--writers',
      '--probes',
      '--rate',
      '--awareness',
      '--duration',
      '--warmup',
      '--workers',
      '--connections',
      '--history',
      '--shape',
      '--concurrency',
      '--token',
      '--scriptorium-protocol',
      '--transport',
      '--pg',
      '--ci',
      '--smoke',
      '--no-pin',
      '--out',
      '--quiet',
      '--instances',
      '--ws-readers',
      '--help',
      'fanout',
      'cold-load',
      'scriptorium-pglite',
      'floor',
    ],
    invalid: { args: ['--scenario', 'nope'], names: '--scenario' },
  },
  {
    source: 'server/main.ts',
    mentions: ['PORT', 'HOST', 'DATABASE_URL', 'DATA_DIR', 'REDIS_URL', 'AUTH_SECRET', 'docs/contracts.md', '--help'],
    invalid: { args: ['--port', '8080'], names: '--port' },
  },
  {
    source: 'cli/migrate.ts',
    mentions: ['up', 'down', 'status', 'DATABASE_URL', 'DATA_DIR', '--help'],
    invalid: { args: ['sideways'], names: 'sideways' },
  },
  {
    source: 'bench/persist-bench.ts',
    mentions: ['seconds', 'BENCH_PG_ADMIN_URL', 'BENCH_SKIP_PG', 'BENCH_SKIP_PGLITE', '--help'],
    invalid: { args: ['soon'], names: 'seconds' },
  },
  {
    source: 'bench/log-insert-bench.ts',
    mentions: ['rows', 'rounds', 'BENCH_PG_ADMIN_URL', '--help'],
    invalid: { args: ['10', 'many'], names: 'rounds' },
  },
  {
    source: 'bench/connection-rate-bench.ts',
    mentions: ['admits', '--clock', 'performance', 'field', 'bare', '--help'],
    invalid: { args: ['--clock', 'sundial'], names: '--clock' },
  },
  {
    source: 'bench/hot-path.ts',
    mentions: ['updates', 'members', '--expose-gc', '--help'],
    invalid: { args: ['100'], names: 'updates' },
  },
  {
    source: 'bench/apply-cost.ts',
    mentions: ['updates', '--help'],
    invalid: { args: ['lots'], names: 'updates' },
  },
  {
    source: 'bench/memory-footprint.ts',
    mentions: ['--expose-gc', '--help'],
    // Run without node's --expose-gc: refused like a bad argument.
    invalid: { args: [], names: '--expose-gc' },
  },
  {
    source: 'bench/web-load.ts',
    mentions: ['--loads', '--size', '--typing-seconds', '--database-url', '--seed', '--out', 'chromium', '--help'],
    invalid: { args: ['--loads', 'many'], names: '--loads' },
  },
  {
    source: 'bench/paper-render.ts',
    mentions: ['--size', '--edits', '--comments', '--iterations', '--seed', '--out', '--help'],
    invalid: { args: ['--size', 'many'], names: '--size' },
  },
  {
    source: 'bench/version-bench.ts',
    mentions: [
      '--size',
      '--typical',
      '--iterations',
      '--docs',
      '--every',
      '--duration',
      '--skip-load',
      '--no-pin',
      '--pg',
      '--out',
      '--help',
    ],
    invalid: { args: ['--every', 'often'], names: '--every' },
  },
  {
    source: 'bench/tree-render.ts',
    mentions: ['--nodes', '--cycles', '--deletes', '--runs', '--warmup', '--seed', '--no-save', '--help'],
    invalid: { args: ['--nodes', 'many'], names: '--nodes' },
  },
  {
    source: 'bench/address-fanout.ts',
    mentions: ['--attackers', '--rate', '--seconds', '--micro-only', '--help'],
    invalid: { args: ['--attackers', 'many'], names: '--attackers' },
  },
  {
    source: 'bench/bus-cost.ts',
    mentions: ['--updates', '--rounds', '--per-turn', '--redis-server', '--no-pin', '--help'],
    invalid: { args: ['--updates', 'many'], names: '--updates' },
  },
  {
    source: 'bench/authorship-bench.ts',
    mentions: ['--size', '--row-chars', '--editors', '--burst', '--help'],
    invalid: { args: ['--size', 'many'], names: '--size' },
  },
  {
    source: 'bench/http-edits-bench.ts',
    mentions: ['requests', '--paragraphs', '--typing', '--help'],
    invalid: { args: ['--paragraphs', 'many'], names: '--paragraphs' },
  },
  {
    source: 'bench/webhook-latency.ts',
    mentions: ['--rounds', '--debounced', '--poll-ms', '--debounce-ms', 'BENCH_PG_ADMIN_URL', '--help'],
    invalid: { args: ['--rounds', 'many'], names: '--rounds' },
  },
  {
    source: 'bench/cpu-profile-summary.ts',
    mentions: ['cpuprofile', '--top', '--help'],
    invalid: { args: ['--top', 'many', 'x.cpuprofile'], names: '--top' },
  },
  {
    source: 'bench/storage-cold-load.ts',
    mentions: ['postgres-url', 'document-name', '--help'],
    invalid: { args: ['a', 'b', 'c'], names: "'c'" },
  },
  {
    source: 'cli/token.ts',
    mentions: ['--user', '--ttl', 'AUTH_SECRET', '--help'],
    invalid: { args: ['--user', 'not-a-uuid'], names: '--user' },
  },
  {
    source: 'bench/peers/hocuspocus.ts',
    mentions: ['PORT', 'HOST', '--help'],
    invalid: { args: ['extra'], names: 'extra' },
  },
  {
    source: 'bench/peers/relay-floor.ts',
    mentions: ['PORT', 'HOST', '--help'],
    invalid: { args: ['extra'], names: 'extra' },
  },
];

// Anything that opened storage or a database would touch one of these: DATA_DIR would be created
// by PGlite, and the PostgreSQL URLs point at a closed port (a connection attempt fails, exit 1).
const scratch = mkdtempSync(path.join(tmpdir(), 'scriptorium-cli-'));
const DATA_DIR = path.join(scratch, 'data-must-not-exist');
const NOWHERE = 'postgres://postgres@127.0.0.1:1/nowhere';
const ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'DATABASE_URL')),
  NODE_OPTIONS: '',
  DATA_DIR,
  BENCH_PG_ADMIN_URL: NOWHERE,
  BENCH_PG_URL: NOWHERE,
  PORT: '1',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'silent',
};

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Result {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs the built file with `args`; a process that does not exit (it started something) is killed. */
function run(cli: Cli, args: string[]): Promise<Result> {
  const file = path.join(ROOT, 'dist', cli.source.replace(/\.ts$/, '.js'));
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { cwd: ROOT, env: ENV, timeout: 20_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      const failure = error as (Error & { code?: number | string; signal?: string | null }) | null;
      resolve({
        code: failure ? (typeof failure.code === 'number' ? failure.code : null) : 0,
        signal: failure?.signal ?? null,
        stdout,
        stderr,
      });
    });
  });
}

const STACK_FRAME = /^\s+at /m;

function expectHelp(cli: Cli, result: Result): void {
  expect({ code: result.code, signal: result.signal, stderr: result.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  expect(result.stdout).toMatch(/^Usage: /);
  for (const word of cli.mentions) expect(result.stdout, `usage mentions ${word}`).toContain(word);
  expect(result.stdout).not.toMatch(STACK_FRAME);
}

function expectRefusal(result: Result, names: string): void {
  expect({ code: result.code, signal: result.signal, stdout: result.stdout }).toEqual({ code: 2, signal: null, stdout: '' });
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toContain(names);
  expect(lines[0]).toMatch(/\(try --help\)$/);
  expect(result.stderr).not.toMatch(STACK_FRAME);
}

describe('command-line entry points', () => {
  it.each(CLIS.map((cli) => [cli.source, cli] as const))('%s: --help, -h, unknown option, bad argument', async (_name, cli) => {
    const [help, short, unknown, invalid, helpWins] = await Promise.all([
      run(cli, ['--help']),
      run(cli, ['-h']),
      run(cli, ['--no-such-option']),
      run(cli, cli.invalid.args),
      run(cli, ['--no-such-option', '--help']),
    ]);
    expectHelp(cli, help);
    expectHelp(cli, short);
    expect(short.stdout).toBe(help.stdout);
    expectHelp(cli, helpWins);
    expectRefusal(unknown, "'--no-such-option'");
    expect(unknown.stderr).toMatch(/unknown option/);
    expectRefusal(invalid, cli.invalid.names);
    expect(existsSync(DATA_DIR), 'no storage was opened').toBe(false);
  });

  it('covers every file in bench/ and cli/ that is run directly', () => {
    // Entry points are the bench/ and cli/ files no other of them imports (worker-main.ts is forked by
    // the loader with IPC and is not a command).
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
        const relative = path.join(dir, entry.name);
        if (entry.isDirectory() && entry.name !== 'results') walk(relative);
        else if (entry.isFile() && entry.name.endsWith('.ts')) files.push(relative);
      }
    };
    walk('bench');
    walk('cli');
    const imported = new Set<string>();
    for (const file of files) {
      const text = readFileSync(path.join(ROOT, file), 'utf8');
      for (const match of text.matchAll(/from '(\.\.?\/[^']+)\.js'/g)) {
        imported.add(path.join(path.dirname(file), `${match[1]}.ts`));
      }
    }
    const entryPoints = files.filter((file) => !imported.has(file) && file !== path.join('bench', 'worker-main.ts')).sort();
    expect(entryPoints).toEqual(
      CLIS.map((cli) => cli.source)
        .filter((source) => /^(bench|cli)\//.test(source))
        .sort(),
    );
  });
});
