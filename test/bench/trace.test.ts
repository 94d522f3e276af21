/**
 * The `trace` bench scenario (bench/trace-scenario.ts) on a short prefix of the editing trace,
 * through the real command (`node dist/bench/compare.js --scenario trace`, built by `npm test`),
 * against its default servers: every keystroke acknowledged, the reader and every fresh load
 * holding exactly the writer's paper, and each figure the report promises present.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_URL } from '../helpers/databases.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const KEYSTROKES = 400;

interface Load {
  ms: number | null;
  matches: boolean | null;
}
interface Row {
  label: string;
  trace: {
    keystrokes: number;
    formats: number;
    ackedBy: string;
    ackedEditsPerSec: number;
    serverCpuSec: number | null;
    yjsStateBytes: number;
    textMatches: boolean;
    readerMatches: boolean;
    mismatch: string | null;
    storageAfterRun: { databaseBytes: number; tablesBytes: number | null } | null;
    warmLoad: Load;
    coldLoad: Load;
    secondColdLoad: Load;
  };
}

const out = mkdtempSync(path.join(tmpdir(), 'scriptorium-trace-bench-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function runBench(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/bench/compare.js'), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('bench trace scenario', () => {
  it('replays a prefix against scriptorium-pg and hocuspocus, losing nothing and reporting every figure', async () => {
    const { code, output } = await runBench([
      '--scenario',
      'trace',
      '--keystrokes',
      String(KEYSTROKES),
      '--no-pin',
      '--quiet',
      '--pg',
      ADMIN_URL,
      '--out',
      out,
    ]);
    expect(code, output).toBe(0);
    const file = readdirSync(out).find((f) => f.startsWith('trace-') && f.endsWith('.json'));
    expect(file, output).toBeDefined();
    const { rows } = JSON.parse(readFileSync(path.join(out, file!), 'utf8')) as { rows: Row[] };
    expect(rows.map((r) => r.label)).toEqual(['scriptorium-pg', 'hocuspocus']);
    for (const { label, trace: t } of rows) {
      expect(t.mismatch, label).toBeNull();
      expect(t.keystrokes).toBe(KEYSTROKES);
      expect(t.formats).toBeGreaterThan(0);
      expect(t.ackedBy).toBe('acks');
      expect(t.textMatches).toBe(true);
      expect(t.readerMatches).toBe(true);
      expect(t.ackedEditsPerSec).toBeGreaterThan(0);
      expect(t.serverCpuSec).not.toBeNull();
      expect(t.yjsStateBytes).toBeGreaterThan(0);
      expect(t.warmLoad.matches).toBe(true);
      expect(t.warmLoad.ms).toBeGreaterThan(0);
    }
    const [pg, hocuspocus] = [rows[0]!.trace, rows[1]!.trace];
    // Durable: bytes in PostgreSQL, and the paper back after each restart.
    expect(pg.storageAfterRun!.databaseBytes).toBeGreaterThan(0);
    expect(pg.storageAfterRun!.tablesBytes).toBeGreaterThan(0);
    for (const load of [pg.coldLoad, pg.secondColdLoad]) {
      expect(load.matches).toBe(true);
      expect(load.ms).toBeGreaterThan(0);
    }
    // The Hocuspocus peer keeps documents in memory: no storage, nothing to load after a restart.
    expect(hocuspocus.storageAfterRun).toBeNull();
    expect(hocuspocus.coldLoad.ms).toBeNull();
    expect(readFileSync(path.join(out, file!.replace(/\.json$/, '.md')), 'utf8')).toContain('| scriptorium-pg |');
  }, 180_000);
});
