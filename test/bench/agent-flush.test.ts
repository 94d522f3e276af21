/**
 * The `agent-flush` bench scenario at its `--ci` size, through the real command: the agents'
 * flushes all acknowledged and, on scriptorium-pg, loaded whole after a restart; every
 * keystroke of the person delivered and timed.
 */
import { describe, expect, it } from 'vitest';
import { runBenchCommand } from './bench-command.js';

interface Row {
  label: string;
  agentFlush: {
    agents: number;
    flushBytes: number;
    bytesOut: number;
    agentAckMs: { count: number };
    acked: number;
    refused: number;
    keystrokes: number;
    deliveryMs: { count: number; p99: number | null };
    undelivered: number;
    personAckMs: { count: number } | null;
    held: number | null;
    stored: number | null;
    loadProblem: string | null;
    serverCpuSec: number | null;
  };
}

describe('bench agent-flush scenario', () => {
  it('acknowledges and keeps every flush, and delivers every keystroke typed meanwhile', async () => {
    const run = await runBenchCommand<Row>('agent-flush', ['--ci', '--servers', 'scriptorium-pg,hocuspocus']);
    expect(run.code, run.output).toBe(0);
    expect(run.rows.map((r) => r.label)).toEqual(['scriptorium-pg', 'hocuspocus']);
    for (const { label, agentFlush: f } of run.rows) {
      const what = `${label}\n${run.output}`;
      expect(f.agents).toBe(5);
      expect(f.flushBytes).toBeGreaterThan(30_000);
      // Each agent receives the others' flushes.
      expect(f.bytesOut).toBeGreaterThan(f.agents * (f.agents - 1) * f.flushBytes * 0.9);
      expect(f.acked, what).toBe(f.agents);
      expect(f.refused).toBe(0);
      expect(f.agentAckMs.count).toBe(f.agents);
      expect(f.keystrokes).toBeGreaterThan(3);
      expect(f.undelivered, what).toBe(0);
      expect(f.deliveryMs.count, what).toBe(f.keystrokes);
      expect(f.personAckMs!.count).toBeGreaterThan(0);
      expect(f.loadProblem, what).toBeNull();
      expect(f.held, what).toBe(f.agents);
      expect(f.serverCpuSec).not.toBeNull();
    }
    // Durable: every flush is there after a restart; Hocuspocus keeps documents in memory only.
    expect(run.rows[0]!.agentFlush.stored).toBe(5);
    expect(run.rows[1]!.agentFlush.stored).toBeNull();
  }, 60_000);
});
