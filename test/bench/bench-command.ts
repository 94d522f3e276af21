/**
 * Runs `npm run bench` as users do (`node dist/bench/compare.js`, built by `npm test`) into a
 * throwaway results folder and reads the JSON it wrote: the crowd scenarios' smoke tests.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_URL } from '../helpers/databases.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface BenchRun<Row> {
  code: number | null;
  /** stdout and stderr, for failure messages. */
  output: string;
  rows: Row[];
  markdown: string;
}

/** Runs one scenario (`--no-pin --quiet` and this machine's PostgreSQL added); the results folder is removed afterwards. */
export async function runBenchCommand<Row>(scenario: string, args: string[]): Promise<BenchRun<Row>> {
  const out = mkdtempSync(path.join(tmpdir(), `scriptorium-${scenario}-bench-`));
  try {
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [path.join(ROOT, 'dist/bench/compare.js'), '--scenario', scenario, '--no-pin', '--quiet', '--pg', ADMIN_URL, '--out', out, ...args],
        {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('exit', (exitCode) => resolve({ code: exitCode, output: text }));
    });
    const file = readdirSync(out).find((f) => f.startsWith(`${scenario}-`) && f.endsWith('.json'));
    if (!file) return { code, output, rows: [], markdown: '' };
    const { rows } = JSON.parse(readFileSync(path.join(out, file), 'utf8')) as { rows: Row[] };
    return { code, output, rows, markdown: readFileSync(path.join(out, file.replace(/\.json$/, '.md')), 'utf8') };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
