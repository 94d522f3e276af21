/**
 * Scale-out bench smoke: the `--scenario scaleout` code on a tiny load — one instance with
 * Redis, then two instances over a throwaway redis-server, on a throwaway PostgreSQL
 * database. Nothing is lost, edits cross between the instances, and Redis saw exactly one
 * PUBLISH per edit (its commandstats are only ours: the bench starts that Redis itself).
 */
import { describe, expect, it } from 'vitest';
// @ts-ignore -- compiled output, built by `npm test` before vitest runs
import { runScaleout, scaleoutTargets } from '../../dist/bench/scaleout.js';
import { ADMIN_URL } from '../helpers/databases.js';

interface Summary {
  count: number;
  p99: number | null;
}
interface Row {
  label: string;
  main: {
    connections: { failed: number; disconnects: number };
    loss: { expectedEdits: number; missingEdits: number };
    latencyByPlacement: { same: Summary; cross: Summary };
    totals: { updatesSent: number };
  };
  scaleout: {
    configuration: string;
    instances: Array<{ deliveryShare: number; cpuSec: number | null }>;
    redis: { updates: number; publishes: number; commands: Array<{ command: string; calls: number }> } | null;
  };
}

describe('bench scale-out smoke', () => {
  it('two instances over Redis: no loss, cross-instance deliveries, one PUBLISH per update; one instance publishes nothing', async () => {
    const rows = (await runScaleout({
      kind: 'scriptorium-pg',
      pgAdminUrl: ADMIN_URL,
      cpu: null,
      redisCpu: null,
      redisServer: 'redis-server',
      configurations: ['one-redis', 'two-redis'],
      args: { docs: 4, clients: 4, writers: 1, probes: 2, rate: 10, warmup: 0.5, duration: 1.5, workers: 0, progress: false },
    })) as Row[];
    expect(rows.map((r) => r.scaleout.configuration)).toEqual(['one-redis', 'two-redis']);
    for (const row of rows) {
      const { main, scaleout } = row;
      expect(main.connections.failed, row.label).toBe(0);
      expect(main.connections.disconnects, row.label).toBe(0);
      expect(main.loss.expectedEdits, row.label).toBeGreaterThan(0);
      expect(main.loss.missingEdits, row.label).toBe(0);
      // Every edit of the run, counted by the loader, against PUBLISH counted by Redis.
      expect(scaleout.redis!.updates, row.label).toBe(main.totals.updatesSent);
      expect(scaleout.redis!.updates, row.label).toBeGreaterThan(0);
      // Two instances: one PUBLISH per update. One instance: none (nobody else to tell).
      const perUpdate = scaleout.configuration === 'two-redis' ? 1 : 0;
      expect(scaleout.redis!.publishes, `${row.label}: ${JSON.stringify(scaleout.redis!.commands)}`).toBe(
        perUpdate * scaleout.redis!.updates,
      );
    }
    const two = rows[1]!;
    expect(two.scaleout.instances).toHaveLength(2);
    expect(two.main.latencyByPlacement.cross.count).toBeGreaterThan(0);
    expect(two.main.latencyByPlacement.same.count).toBeGreaterThan(0);
    const publishTargets = scaleoutTargets(rows).filter((t: { name: string }) => t.name.includes('PUBLISH'));
    expect(publishTargets.map((t: { met: boolean | null }) => t.met)).toEqual([true, true]);
  }, 60_000);
});
