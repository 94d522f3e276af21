/**
 * `node dist/bench/bus-cost.js`: what the Redis bus costs an instance per update — one PUBLISH on
 * the publisher connection, its reply, and the instance's own copy of the message coming back on
 * the subscriber connection (pub/sub delivers to every subscriber, the publisher included) — in
 * CPU of this process, against a baseline that does the same loop without publishing. Paced like
 * a server under the fan-out load: a few updates per event-loop turn, one turn per millisecond.
 */
import { availableParallelism } from 'node:os';
import pino from 'pino';
import { parseCli } from '../server/command-line.js';
import { BusKind, encodeBusMessage } from '../server/codec/bus-codec.js';
import { RedisBus } from '../server/cluster/redis-bus.js';
import { startThrowawayRedis } from './redis-server.js';
import { pinSelf } from './servers.js';

const cli = parseCli({
  command: 'node dist/bench/bus-cost.js',
  summary: `CPU per update of the Redis bus (PUBLISH, its reply, the echo on the subscriber) in this
process, against the same paced loop without publishing. Starts a throwaway redis-server; this
process is pinned to core 0 and Redis to core 1.`,
  options: {
    updates: { type: 'string', default: '20000', value: 'N', description: 'updates per measurement' },
    'per-turn': {
      type: 'string',
      default: '1,10',
      value: 'LIST',
      description: 'updates per event-loop turn (one turn per ms), comma-separated',
    },
    rounds: { type: 'string', default: '3', value: 'N', description: 'alternating baseline/publish rounds; the median is reported' },
    'redis-server': { type: 'string', default: 'redis-server', value: 'PATH', description: 'the redis-server binary' },
    'no-pin': { type: 'boolean', default: false, description: 'do not pin this process and Redis to cores' },
  },
});
const updates = cli.number(cli.values.updates, '--updates', { integer: true, min: 100 })!;
const rounds = cli.number(cli.values.rounds, '--rounds', { integer: true, min: 1 })!;
const perTurnList = cli.values['per-turn'].split(',').map((v) => cli.number(v.trim(), '--per-turn', { integer: true, min: 1 })!);

const DOCUMENTS = 100;
/** A fan-out edit's size: one map key set to a number. */
const UPDATE = new Uint8Array(40).fill(7);

interface Sample {
  userUs: number;
  systemUs: number;
}

/**
 * Sends `updates` updates, `perTurn` per 1 ms timer turn; returns this process's CPU per update
 * once every echo is back. `publish`: none (baseline), on the subscribed channels (the echo comes
 * back, as on a server), or on channels nobody subscribes to (the PUBLISH and its reply only).
 */
async function measure(bus: RedisBus, publish: 'none' | 'echo' | 'no-echo', perTurn: number, received: () => number): Promise<Sample> {
  const start = received();
  let sent = 0;
  const cpu = process.cpuUsage();
  await new Promise<void>((resolve) => {
    const turn = (): void => {
      for (let i = 0; i < perTurn && sent < updates; i++, sent++) {
        const message = encodeBusMessage(BusKind.Update, bus.instanceId, sent, UPDATE);
        if (publish !== 'none') bus.publish(`${publish === 'echo' ? 'bench-bus' : 'bench-nobody'}-${sent % DOCUMENTS}`, message);
      }
      if (sent < updates) setTimeout(turn, 1);
      else resolve();
    };
    turn();
  });
  const deadline = Date.now() + 30_000;
  while (publish === 'echo' && received() - start < updates) {
    if (Date.now() > deadline) throw new Error(`only ${received() - start} of ${updates} echoes came back`);
    await new Promise((r) => setTimeout(r, 2));
  }
  const used = process.cpuUsage(cpu);
  return { userUs: used.user / updates, systemUs: used.system / updates };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const pin = !cli.values['no-pin'] && availableParallelism() >= 2;
  if (pin && !pinSelf(0)) process.stderr.write('warning: could not pin (taskset missing?)\n');
  const redis = await startThrowawayRedis({ binary: cli.values['redis-server'], cpu: pin ? 1 : null });
  const bus = new RedisBus(redis.url, 'bench-bus:', pino({ level: 'silent' }));
  try {
    let received = 0;
    for (let d = 0; d < DOCUMENTS; d++) await bus.subscribe(`bench-bus-${d}`, () => received++);
    // Warm up the JIT and the connections.
    await measure(bus, 'echo', 10, () => received);
    console.log(
      '| updates per turn | baseline µs CPU per update (user + sys) | PUBLISH, own echo received (a server) | PUBLISH costs | PUBLISH to a channel nobody subscribes (no echo) | costs |',
    );
    console.log('|---|---|---|---|---|---|');
    for (const perTurn of perTurnList) {
      const base: number[] = [];
      const pub: number[] = [];
      const quiet: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const total = (s: Sample): number => s.userUs + s.systemUs;
        base.push(total(await measure(bus, 'none', perTurn, () => received)));
        pub.push(total(await measure(bus, 'echo', perTurn, () => received)));
        quiet.push(total(await measure(bus, 'no-echo', perTurn, () => received)));
      }
      const [mb, mp, mq] = [median(base), median(pub), median(quiet)];
      console.log(
        `| ${perTurn} | ${mb.toFixed(1)} | ${mp.toFixed(1)} | ${(mp - mb).toFixed(1)} µs | ${mq.toFixed(1)} | ${(mq - mb).toFixed(1)} µs |`,
      );
    }
    console.log(
      `\nµs of this process's CPU per update; ${updates} updates per measurement, median of ${rounds} alternating rounds, ${DOCUMENTS} channels.`,
    );
  } finally {
    await bus.close();
    await redis.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
