/**
 * The `presence` bench scenario at its `--ci` size, through the real command: every client
 * present at 1 Hz, the probes receive the others' states (Hocuspocus may coalesce them: a later
 * state of a client stands for the earlier) and lose none; the server's CPU is measured.
 */
import { describe, expect, it } from 'vitest';
import { runBenchCommand } from './bench-command.js';

interface Row {
  label: string;
  presence: Array<{
    clients: number;
    result: {
      connections: { connected: number; failed: number };
      awarenessSentPerSec: number;
      awarenessFramesInPerSec: number;
      presence: { sent: number; latencyMs: { count: number; p99: number | null }; expected: number; missing: number; unheard: number };
      server: { cpuPct: number | null };
    };
  }>;
}

describe('bench presence scenario', () => {
  it("delivers every client's presence to the probes, measured, and the server's CPU", async () => {
    const run = await runBenchCommand<Row>('presence', [
      '--ci',
      '--servers',
      'scriptorium-mem,hocuspocus',
      '--warmup',
      '1.2',
      '--duration',
      '1.5',
    ]);
    expect(run.code, run.output).toBe(0);
    expect(run.rows.map((r) => r.label)).toEqual(['scriptorium-mem', 'hocuspocus']);
    for (const row of run.rows) {
      const [{ clients, result: r }] = row.presence as [Row['presence'][number]];
      const what = `${row.label}\n${run.output}`;
      expect(r.connections.connected, what).toBe(clients);
      expect(r.awarenessSentPerSec).toBeGreaterThan(clients * 0.5);
      expect(r.awarenessFramesInPerSec).toBeGreaterThan(0);
      // Each probe expects every update of every other client of the run.
      expect(r.presence.expected, what).toBeGreaterThanOrEqual(10 * (clients - 1));
      expect(r.presence.missing, what).toBe(0);
      expect(r.presence.unheard, what).toBe(0);
      expect(r.presence.latencyMs.count, what).toBeGreaterThan(0);
      expect(r.presence.latencyMs.p99).toBeGreaterThan(0);
      expect(r.server.cpuPct).not.toBeNull();
    }
    expect(run.markdown).toContain('| hocuspocus | 30 |');
  }, 60_000);
});
