/**
 * The `join-storm` bench scenario at its `--ci` size, through the real command: every joiner
 * of a warm and (scriptorium-pg) cold paper gets the whole state, and each figure the table
 * promises is measured.
 */
import { describe, expect, it } from 'vitest';
import { runBenchCommand } from './bench-command.js';

interface Row {
  label: string;
  joinStorm: {
    rows: Array<{
      documentBytes: number;
      start: 'warm' | 'cold';
      clients: number;
      synced: number;
      failed: number;
      receivedMs: { count: number; p50: number | null; p99: number | null };
      applyMs: number | null;
      syncedMs: { p99: number | null };
      stateBytes: { min: number; max: number } | null;
      contentProblem: string | null;
      serverCpuSec: number | null;
      peakRssKb: number | null;
    }>;
  };
}

describe('bench join-storm scenario', () => {
  it('every joiner of the paper, warm and after a restart, receives the whole state; times, CPU and peak RSS measured', async () => {
    const run = await runBenchCommand<Row>('join-storm', ['--ci', '--servers', 'scriptorium-pg,hocuspocus']);
    expect(run.code, run.output).toBe(0);
    expect(run.rows.map((r) => r.label)).toEqual(['scriptorium-pg', 'hocuspocus']);
    const [pg, hocuspocus] = run.rows.map((r) => r.joinStorm.rows);
    expect(pg!.map((r) => r.start)).toEqual(['warm', 'cold']);
    // Documents in memory: nothing to load after a restart.
    expect(hocuspocus!.map((r) => r.start)).toEqual(['warm']);
    for (const r of [...pg!, ...hocuspocus!]) {
      expect(r.failed, run.output).toBe(0);
      expect(r.synced).toBe(r.clients);
      expect(r.receivedMs.count).toBe(r.clients);
      expect(r.contentProblem, run.output).toBeNull();
      // Every joiner got a state the paper's size (its bytes, give or take the encoding).
      expect(r.stateBytes!.min).toBeGreaterThan(r.documentBytes * 0.9);
      expect(r.applyMs).toBeGreaterThan(0);
      expect(r.syncedMs.p99).toBeGreaterThan(r.receivedMs.p99!);
      expect(r.serverCpuSec).not.toBeNull();
      expect(r.peakRssKb).toBeGreaterThan(0);
    }
    expect(run.markdown).toContain('| scriptorium-pg | 0.25 MiB | cold |');
  }, 60_000);
});
