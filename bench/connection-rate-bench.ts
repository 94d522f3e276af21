/**
 * What the per-connection rate limit costs per incoming frame: ConnectionRate.admit in a
 * tight loop with the real monotonic clock (performance.now), with a clock that is only a
 * field read (the arithmetic alone), or the bare clock read for comparison; plus the
 * garbage collections during the runs (allocation per call shows up as collections).
 * Run: npm run build && node dist/bench/connection-rate-bench.js [--clock performance|field|bare] [admits]
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { parseCli } from '../server/command-line.js';
import { ConnectionRate, monotonicClock, type ConnectionRateLimits } from '../server/protocol/connection-rate.js';

const cli = parseCli({
  command: 'node dist/bench/connection-rate-bench.js',
  summary: `What the per-connection rate limit costs per incoming frame: ConnectionRate.admit in a tight
loop (limits high enough that every frame is admitted: the path every well-behaved frame takes).
Prints ns per call (best of five runs) and the garbage collections counted during the runs:
allocation per call shows up as collections. One clock per process, so the clock call site
stays monomorphic as in the server.`,
  options: {
    clock: {
      type: 'string',
      value: 'KIND',
      default: 'performance',
      description:
        'performance: admit with performance.now() (as in the server)\nfield: admit with a clock that is a field read (the arithmetic alone)\nbare: performance.now() alone, no admit\n',
    },
  },
  arguments: [{ name: 'admits', description: 'calls per run (default: 10000000)' }],
});
const clock = cli.oneOf(cli.values.clock, '--clock', ['performance', 'field', 'bare'] as const) ?? 'performance';
const admits = cli.number(cli.positionals[0], 'admits', { integer: true, min: 1_000 }) ?? 10_000_000;

// Never refuse: the bench measures the admitted path.
const limits: ConnectionRateLimits = { messagesPerSecond: 1e15, messageBurst: 1e15, bytesPerSecond: 1e18, byteBurst: 1e18 };

/** Time that moves 1 µs per read, kept in a field (a double updated in place: no allocation). */
class FieldClock {
  declare private time: number;
  constructor() {
    this.time = 0.5;
  }
  now(): number {
    return (this.time += 0.001);
  }
}

let collections = 0;
const observer = new PerformanceObserver((list) => (collections += list.getEntries().length));
observer.observe({ entryTypes: ['gc'] });
const settle = () => new Promise((resolve) => setImmediate(resolve));

async function measure(label: string, loop: () => number): Promise<void> {
  loop(); // warm-up: let the optimizer settle
  await settle();
  const before = collections;
  let bestNs = Infinity;
  for (let run = 0; run < 5; run++) {
    const started = process.hrtime.bigint();
    const admitted = loop();
    bestNs = Math.min(bestNs, Number(process.hrtime.bigint() - started) / admits);
    if (admitted !== admits) throw new Error(`${label}: ${admits - admitted} calls refused; the limits are meant never to refuse`);
  }
  await settle();
  console.log(`${label.padEnd(40)} ${bestNs.toFixed(1).padStart(5)} ns/call   ${collections - before} GCs in ${5 * admits} calls`);
}

/** Frame sizes vary a little, as keystroke updates do. */
function admitLoop(rate: ConnectionRate): number {
  let admitted = 0;
  for (let i = 0; i < admits; i++) if (rate.admit(20 + (i & 15))) admitted++;
  return admitted;
}

console.log(`${admits} calls per run, best of 5`);
if (clock === 'performance') await measure('admit, performance.now() clock', () => admitLoop(new ConnectionRate(limits)));
else if (clock === 'field')
  await measure('admit, field clock (arithmetic alone)', () => admitLoop(new ConnectionRate(limits, new FieldClock())));
else {
  await measure('performance.now() alone', () => {
    let positive = 0;
    for (let i = 0; i < admits; i++) if (monotonicClock.now() > 0) positive++;
    return positive;
  });
}
observer.disconnect();
