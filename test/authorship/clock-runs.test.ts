/**
 * ClockRuns against a plain per-clock model: after any fills, in any order, each clock holds
 * the value that precedes all others filled over it (or the first, without a rule), and
 * neighbouring runs that may join are one.
 */
import { describe, expect, it } from 'vitest';
import { ClockRuns } from '../../server/authorship/clock-runs.js';

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Value {
  readonly rank: number;
  readonly tag: string;
}

/** Clock → value, as the runs say. */
function expand(runs: ClockRuns<Value>): Map<number, Value> {
  const clocks = new Map<number, Value>();
  let previousEnd = -1;
  for (const run of runs.all()) {
    expect(run.start).toBeGreaterThanOrEqual(previousEnd);
    expect(run.end).toBeGreaterThan(run.start);
    previousEnd = run.end;
    for (let clock = run.start; clock < run.end; clock++) clocks.set(clock, run.value);
  }
  return clocks;
}

describe('ClockRuns', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`keeps the preceding value of every clock, whatever the order of fills (seed ${seed})`, () => {
      const random = seeded(seed);
      const fills = Array.from({ length: 200 }, (_, i) => {
        const start = Math.floor(random() * 300);
        return { start, end: start + 1 + Math.floor(random() * 20), value: { rank: Math.floor(random() * 50), tag: `v${i}` } };
      });
      const precedes = (a: Value, b: Value) => a.rank < b.rank || (a.rank === b.rank && a.tag < b.tag);
      const model = new Map<number, Value>();
      for (const { start, end, value } of fills) {
        for (let clock = start; clock < end; clock++) {
          const held = model.get(clock);
          if (held === undefined || precedes(value, held)) model.set(clock, value);
        }
      }
      for (const order of [fills, [...fills].reverse(), [...fills].sort(() => random() - 0.5)]) {
        const runs = new ClockRuns<Value>({ joins: (a, b) => a.rank === b.rank && a.tag === b.tag, precedes });
        for (const { start, end, value } of order) runs.fill(start, end, value);
        // Filling everything again changes nothing.
        for (const { start, end, value } of order) runs.fill(start, end, value);
        const clocks = expand(runs);
        expect(new Map([...clocks].map(([clock, value]) => [clock, value.tag]))).toEqual(
          new Map([...model].map(([clock, value]) => [clock, value.tag])),
        );
        // Runs that may join are one.
        const all = runs.all();
        for (let i = 1; i < all.length; i++) expect(all[i - 1]!.end === all[i]!.start && all[i - 1]!.value === all[i]!.value).toBe(false);
      }
    });
  }

  it('without a rule, the first value stays and neighbours of a kind join', () => {
    const runs = new ClockRuns<string>({ joins: (a, b) => a === b });
    runs.fill(0, 5, 'a');
    runs.fill(5, 10, 'a');
    runs.fill(3, 12, 'b');
    runs.fill(20, 25, 'b');
    runs.fill(15, 22, 'c');
    expect(runs.all().map(({ start, end, value }) => [start, end, value])).toEqual([
      [0, 10, 'a'],
      [10, 12, 'b'],
      [15, 20, 'c'],
      [20, 25, 'b'],
    ]);
    expect(runs.at(11)?.value).toBe('b');
    expect(runs.at(13)).toBeUndefined();
    const seen: [number, number, string][] = [];
    runs.forEachIn(8, 18, (from, to, run) => seen.push([from, to, run.value]));
    expect(seen).toEqual([
      [8, 10, 'a'],
      [10, 12, 'b'],
      [15, 18, 'c'],
    ]);
  });
});
