/**
 * Scale-out scenario: in one run, the same fan-out load against Scriptorium
 *   one      — one instance, no Redis;
 *   one-redis — one instance with REDIS_URL set (every accepted edit published, nobody else listening);
 *   two-redis — two instances over Redis, each document's writers on one instance and its other
 *              clients split across both, so half of its probes and readers get every edit
 *              through the other instance.
 * Redis is a throwaway redis-server started here, so its command statistics are only ours.
 * Reports same- and cross-instance latency, CPU per delivery of each instance, Redis CPU and
 * Redis commands per update, and checks the targets (see scaleoutTargets).
 */
import { describe, type LoadResult, runLoad } from './loader.js';
import { RedisSampler, type RedisLoadStats, type ThrowawayRedis, startThrowawayRedis } from './redis-server.js';
import { type ScenarioArgs, type ScenarioResult, fanoutOptions } from './scenarios.js';
import { type RunningServer, type ServerKind, startServer } from './servers.js';

export type ScaleoutConfiguration = 'one' | 'one-redis' | 'two-redis';
export const SCALEOUT_CONFIGURATIONS: ScaleoutConfiguration[] = ['one', 'one-redis', 'two-redis'];
/** The server kinds the scenario can scale out (instances must be able to share storage). */
export const SCALEOUT_KINDS = ['scriptorium-pg', 'scriptorium-mem'] as const satisfies readonly ServerKind[];
export type ScaleoutKind = (typeof SCALEOUT_KINDS)[number];

const SHAPES: Record<ScaleoutConfiguration, { instances: number; redis: boolean; label: string }> = {
  one: { instances: 1, redis: false, label: '1 instance, no Redis' },
  'one-redis': { instances: 1, redis: true, label: '1 instance, Redis' },
  'two-redis': { instances: 2, redis: true, label: '2 instances, Redis' },
};

export interface ScaleoutInstance {
  /** Share of the deliveries this instance makes (its clients, per edit). */
  deliveryShare: number;
  cpuSec: number | null;
  cpuSecPerMillionDeliveries: number | null;
}

/** What a configuration adds to the fan-out result. */
export interface ScaleoutRow {
  configuration: ScaleoutConfiguration;
  instances: ScaleoutInstance[];
  redis: RedisLoadStats | null;
}

export interface ScaleoutOptions {
  kind: ScaleoutKind;
  pgAdminUrl: string;
  /** Core for the servers (the loader is pinned elsewhere by the caller); null = no pinning. */
  cpu: number | null;
  /**
   * Core for redis-server; null = no pinning. The bench puts it on the loader's core: sharing
   * the servers' core, every PUBLISH would wake Redis there and the servers would pay for the
   * context switches, which a deployment with Redis on its own machine does not.
   */
  redisCpu: number | null;
  redisServer: string;
  args: ScenarioArgs;
  configurations?: readonly ScaleoutConfiguration[];
  transport?: string;
  /** Called with each configuration's result as soon as it is done. */
  onRow?: (row: ScenarioResult) => void;
}

/** Runs the configurations one after another against one throwaway Redis; one ScenarioResult each. */
export async function runScaleout(opts: ScaleoutOptions): Promise<ScenarioResult[]> {
  const redis = await startThrowawayRedis({ binary: opts.redisServer, cpu: opts.redisCpu });
  const rows: ScenarioResult[] = [];
  try {
    for (const configuration of opts.configurations ?? SCALEOUT_CONFIGURATIONS) {
      const row = await runConfiguration(configuration, redis, opts);
      rows.push(row);
      opts.onRow?.(row);
    }
  } finally {
    await redis.stop();
  }
  return rows;
}

async function runConfiguration(
  configuration: ScaleoutConfiguration,
  redis: ThrowawayRedis,
  opts: ScaleoutOptions,
): Promise<ScenarioResult> {
  const shape = SHAPES[configuration];
  // Each configuration its own key prefix: the presence keys of one never meet the next's.
  // REDIS_URL='' means "no Redis" even when the bench itself runs with REDIS_URL set.
  const env: Record<string, string> = shape.redis
    ? { REDIS_URL: redis.url, REDIS_PREFIX: `bench-${configuration}-${Date.now().toString(36)}:` }
    : { REDIS_URL: '' };
  const servers: RunningServer[] = [];
  try {
    for (let i = 0; i < shape.instances; i++) {
      // Instances share the first one's throwaway database, as a scaled-out deployment does.
      servers.push(
        await startServer(opts.kind, {
          cpu: opts.cpu,
          transport: opts.transport,
          scriptoriumProtocol: 'hocuspocus',
          pgAdminUrl: opts.pgAdminUrl,
          database: servers[0]?.database ?? null,
          env,
        }),
      );
    }
    const label = `${servers[0]!.label}: ${shape.label}`;
    const load = fanoutOptions(
      { label, protocol: 'hocuspocus', urls: servers.map((s) => s.url), pids: () => servers.map((s) => s.pid()) },
      opts.args,
    );
    load.label = `${label} scaleout`;
    load.placement = 'writers-together';
    const sampler = shape.redis ? new RedisSampler(redis) : null;
    if (sampler) load.observers = [sampler];
    const result = await runLoad(load);
    process.stderr.write(describe(result) + '\n');
    const windowUpdates = result.updatesPerSec * result.windowSec;
    return {
      scenario: 'scaleout',
      label,
      protocol: 'hocuspocus',
      main: result,
      scaleout: {
        configuration,
        instances: instancesOf(result),
        redis: sampler ? await sampler.stats(result.totals.updatesSent, result.windowSec, windowUpdates) : null,
      },
    };
  } catch (err) {
    throw new Error(`${configuration}: ${(err as Error).message}\n${servers.map((s) => s.tail()).join('\n')}`);
  } finally {
    // The first instance owns the throwaway database: stop it last.
    for (const server of servers.reverse())
      await server.stop().catch((e: Error) => process.stderr.write(`stopping ${opts.kind}: ${e.message}\n`));
  }
}

function instancesOf(r: LoadResult): ScaleoutInstance[] {
  const deliveries = r.deliveriesPerSec * r.windowSec;
  return r.deliveryShareByUrl.map((share, i) => {
    const cpuSec = r.server.cpuSecByPid?.[i] ?? null;
    const mine = deliveries * share;
    return { deliveryShare: share, cpuSec, cpuSecPerMillionDeliveries: cpuSec === null || mine === 0 ? null : cpuSec / (mine / 1e6) };
  });
}

export interface ScaleoutTarget {
  name: string;
  /** The measured figure, as text. */
  measured: string;
  /** null: not measured in this run (a configuration was left out). */
  met: boolean | null;
}

/**
 * The targets of the scale-out work:
 * - cross-instance p99 (two instances) ≤ 2 × the p99 of one instance without Redis;
 * - exactly one PUBLISH per update where another instance holds the document (two
 *   instances), none where no other instance does (one instance with Redis: the relay
 *   does not publish to nobody);
 * - one instance with Redis: CPU per delivery within 10 % of one instance without.
 */
export function scaleoutTargets(rows: readonly ScenarioResult[]): ScaleoutTarget[] {
  const of = (c: ScaleoutConfiguration) => rows.find((r) => r.scaleout?.configuration === c);
  const one = of('one')?.main;
  const two = of('two-redis')?.main;
  const oneRedis = of('one-redis')?.main;
  const f = (v: number | null | undefined, d = 2) => (v === null || v === undefined ? '–' : v.toFixed(d));
  const targets: ScaleoutTarget[] = [];

  const cross = two?.latencyByPlacement.cross.p99 ?? null;
  const single = one?.latencyMs.p99 ?? null;
  targets.push({
    name: 'cross-instance p99 ≤ 2 × single-instance p99',
    measured: `${f(cross)} ms vs 2 × ${f(single)} = ${f(single === null ? null : 2 * single)} ms`,
    met: cross === null || single === null ? null : cross <= 2 * single,
  });

  for (const [c, expected, what] of [
    ['one-redis', 0, 'no PUBLISH'],
    ['two-redis', 1, 'exactly one PUBLISH per update'],
  ] as const) {
    const redis = of(c)?.scaleout?.redis;
    targets.push({
      name: `${what} (${SHAPES[c].label})`,
      measured: redis
        ? `${redis.publishes} PUBLISH / ${redis.updates} updates = ${f(redis.updates ? redis.publishes / redis.updates : null, 4)}`
        : '–',
      met: redis ? redis.updates > 0 && redis.publishes === expected * redis.updates : null,
    });
  }

  const a = one?.server.cpuSecPerMillionDeliveries ?? null;
  const b = oneRedis?.server.cpuSecPerMillionDeliveries ?? null;
  targets.push({
    name: 'one instance: CPU per delivery with Redis within 10 % of without',
    measured: `${f(b, 1)} vs ${f(a, 1)} s per M deliveries (${a && b !== null ? `${((b / a - 1) * 100).toFixed(1)} %` : '–'})`,
    met: a === null || b === null ? null : Math.abs(b / a - 1) <= 0.1,
  });

  // Issue 20: both instances apply every edit; the pair should cost little more than one.
  const pair = two?.server.cpuSecPerMillionDeliveries ?? null;
  targets.push({
    name: 'two instances: CPU per delivery, both together, ≤ 1.25 × one instance without Redis',
    measured: `${f(pair, 1)} vs 1.25 × ${f(a, 1)} = ${f(a === null ? null : 1.25 * a, 1)} s per M deliveries${a && pair !== null ? ` (×${(pair / a).toFixed(2)})` : ''}`,
    met: a === null || pair === null ? null : pair <= 1.25 * a,
  });
  return targets;
}
