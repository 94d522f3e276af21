/**
 * Keeps V8's young generation at its start-up size.
 *
 * V8 doubles the young generation (two semi-spaces) whenever many objects survive a
 * scavenge, up to 2 × 16 MiB on 64-bit, and gives it back only in a memory-reducing
 * full GC, which an idle server rarely gets. A connection storm (thousands of sockets
 * opening, all their objects surviving) grows it to the maximum, and the touched
 * semi-space pages then stay in RSS for as long as the process idles: at 10,000 idle
 * connections a large share of the RSS per connection (`npm run bench -- --scenario
 * density`, BENCHMARKS.md "Idle connections"). The
 * server's steady work (relaying updates, acks) allocates short-lived frames that die
 * young at any semi-space size, so its per-message cost does not depend on growth
 * (`node dist/bench/hot-path.js` with and without).
 *
 * The sizing flags (`--max-semi-space-size`) only act when the heap is configured, before
 * any of our code runs, and `node dist/server/main.js` must behave like `npm start`, so
 * the growth factor is set here instead: V8 reads it each time it grows the new space.
 * (V8 raises a command-line factor below 2 to 2 while configuring the heap; a factor of 1
 * set afterwards makes growth keep the current capacity. Shrinking is unaffected.)
 * main.ts applies it once the modules are loaded, when the semi-spaces are 4 MiB each:
 * what the server started with is what it keeps. An operator who sizes the young
 * generation explicitly keeps their choice.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

const SIZING_FLAGS = /--(max-semi-space-size|min-semi-space-size|semi-space-growth-factor|max-heap-size)\b/;

/** True when the process was started with an explicit young-generation size. */
export function youngGenerationSizedByOperator(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return execArgv.some((arg) => SIZING_FLAGS.test(arg.replaceAll('_', '-'))) || SIZING_FLAGS.test((nodeOptions ?? '').replaceAll('_', '-'));
}

/** Stops young-generation growth unless the operator sized it; returns whether it did. */
export function capYoungGeneration(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS): boolean {
  if (youngGenerationSizedByOperator(execArgv, nodeOptions)) return false;
  setFlagsFromString('--semi-space-growth-factor=1');
  return true;
}

/** The young generation the server runs with: 2 semi-spaces of 4 MiB. */
export const YOUNG_GENERATION_BYTES = 8 * 1024 * 1024;

const newSpaceBytes = (): number => getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;

/**
 * After `capYoungGeneration` was applied before the modules loaded (which would otherwise
 * grow the young generation to its maximum), grows it once, deliberately, to `targetBytes`:
 * a short burst of surviving objects makes V8 grow the semi-spaces, and the size is polled
 * inside the burst so growth is frozen again the moment the target is reached. A few
 * milliseconds at start; the server then keeps exactly this size. Returns the new size.
 */
export function growYoungGenerationTo(targetBytes = YOUNG_GENERATION_BYTES): number {
  const start = newSpaceBytes();
  if (start === 0 || start >= targetBytes) return start;
  setFlagsFromString(`--semi-space-growth-factor=${Math.max(2, Math.ceil(targetBytes / start))}`);
  let survivors: unknown[] = [];
  try {
    for (let round = 0; round < 2_000 && newSpaceBytes() < targetBytes; round++) {
      for (let i = 0; i < 2_000; i++) survivors.push({ round, i, tag: 'grow' });
      if (survivors.length > 400_000) survivors = [];
    }
  } finally {
    setFlagsFromString('--semi-space-growth-factor=1');
  }
  return newSpaceBytes();
}
