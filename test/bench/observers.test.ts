/**
 * The `observers` bench scenario at its `--ci` size, through the real command: one writer and
 * its observers, without and with awareness; every observer times and counts every edit (also
 * when Hocuspocus merges several into one message), and nothing is lost.
 */
import { describe, expect, it } from 'vitest';
import { runBenchCommand } from './bench-command.js';

interface Summary {
  count: number;
  p99: number | null;
}
interface Row {
  label: string;
  observers: Array<{
    clients: number;
    awareness: boolean;
    result: {
      connections: { failed: number; disconnects: number };
      updatesPerSec: number;
      loss: { expectedEdits: number; missingEdits: number };
      observers: { latencyMs: Summary; readers: number; expectedEdits: number; missingEdits: number };
      presence: { latencyMs: Summary; expected: number; missing: number };
      server: { cpuSecPerMillionDeliveries: number | null };
    };
  }>;
}

describe('bench observers scenario', () => {
  it('times every edit at every observer, loses nothing, and measures CPU per update per observer', async () => {
    const run = await runBenchCommand<Row>('observers', [
      '--ci',
      '--servers',
      'scriptorium-mem,hocuspocus',
      '--warmup',
      '0.5',
      '--duration',
      '1',
    ]);
    expect(run.code, run.output).toBe(0);
    expect(run.rows.map((r) => r.label)).toEqual(['scriptorium-mem', 'hocuspocus']);
    for (const row of run.rows) {
      expect(row.observers.map((o) => o.awareness)).toEqual([false, true]);
      for (const { clients, awareness, result: r } of row.observers) {
        const what = `${row.label} ${clients}${awareness ? ' +awareness' : ''}\n${run.output}`;
        expect(r.connections.failed, what).toBe(0);
        expect(r.connections.disconnects, what).toBe(0);
        expect(r.updatesPerSec).toBeGreaterThan(0);
        // Observers (all but the writer and the probes) count every edit of the run.
        expect(r.observers.readers).toBe(clients - 4);
        expect(r.observers.expectedEdits, what).toBeGreaterThan(0);
        expect(r.observers.missingEdits, what).toBe(0);
        expect(r.loss.missingEdits, what).toBe(0);
        expect(r.observers.latencyMs.count, what).toBeGreaterThan(0);
        expect(r.server.cpuSecPerMillionDeliveries).toBeGreaterThan(0);
        // With awareness, the probes measured the others' presence and lost none of it.
        if (awareness) {
          expect(r.presence.latencyMs.count, what).toBeGreaterThan(0);
          expect(r.presence.missing, what).toBe(0);
        } else expect(r.presence.expected).toBe(0);
      }
    }
    expect(run.markdown).toContain('| scriptorium-mem | 20 | yes |');
  }, 60_000);
});
