/**
 * What is known about the clocks of one Yjs client: a sorted list of disjoint runs [start, end)
 * of clocks, each with a value. Filling a range fills the clocks that hold nothing yet and,
 * where something is there already, keeps whichever value `precedes` says comes first (for
 * "the earliest row that deleted it": the row's time and position). So the result does not
 * depend on the order ranges are filled in, and filling the same range again changes nothing:
 * the log can be read in pages, incrementally, with duplicates and rewritten rows.
 *
 * A client's clocks grow as it edits, so ranges mostly arrive at the end: that case is a push
 * (or a widening of the last run when `joins` allows it). Anything else is a binary search and
 * one splice. Neighbouring runs whose values `joins` accepts are kept as one, which is what
 * keeps a paper typed one keystroke per row down to a few runs per client.
 */

export interface ClockRun<V> {
  readonly start: number;
  end: number;
  readonly value: V;
}

export interface ClockRunRules<V> {
  /** May a run with `right` that starts where one with `left` ends be merged into it (keeping `left`)? */
  readonly joins: (left: V, right: V) => boolean;
  /** Does `candidate` replace `held` where both cover a clock? Never, when absent: the first value stays. */
  readonly precedes?: ((candidate: V, held: V) => boolean) | undefined;
}

export class ClockRuns<V> {
  private readonly runs: ClockRun<V>[] = [];

  constructor(private readonly rules: ClockRunRules<V>) {}

  get size(): number {
    return this.runs.length;
  }

  /** Fills [start, end) with `value` where nothing is, and where `value` precedes what is. */
  fill(start: number, end: number, value: V): void {
    if (end <= start) return;
    const runs = this.runs;
    const last = runs[runs.length - 1];
    if (last === undefined || start >= last.end) {
      this.place(runs.length, 0, [{ start, end, value }]);
      return;
    }
    const first = this.firstEndingAfter(start);
    let after = first;
    while (after < runs.length && runs[after]!.start < end) after++;
    const precedes = this.rules.precedes;
    const pieces: ClockRun<V>[] = [];
    let cursor = start;
    for (let i = first; i < after; i++) {
      const run = runs[i]!;
      if (run.start < start) pieces.push({ start: run.start, end: start, value: run.value });
      const from = Math.max(run.start, start);
      const to = Math.min(run.end, end);
      if (cursor < from) pieces.push({ start: cursor, end: from, value });
      pieces.push({ start: from, end: to, value: precedes !== undefined && precedes(value, run.value) ? value : run.value });
      if (run.end > end) pieces.push({ start: end, end: run.end, value: run.value });
      cursor = to;
    }
    if (cursor < end) pieces.push({ start: cursor, end, value });
    this.place(first, after - first, pieces);
  }

  /** The run holding `clock`, or undefined. */
  at(clock: number): ClockRun<V> | undefined {
    const run = this.runs[this.firstEndingAfter(clock)];
    return run !== undefined && run.start <= clock ? run : undefined;
  }

  /** Calls `visit` for each run overlapping [start, end), with the overlap. */
  forEachIn(start: number, end: number, visit: (from: number, to: number, run: ClockRun<V>) => void): void {
    const runs = this.runs;
    for (let i = this.firstEndingAfter(start); i < runs.length; i++) {
      const run = runs[i]!;
      if (run.start >= end) return;
      visit(Math.max(start, run.start), Math.min(end, run.end), run);
    }
  }

  /** Every run, in clock order. */
  all(): readonly ClockRun<V>[] {
    return this.runs;
  }

  /** Index of the first run whose end is after `clock` (runs.length when none). */
  private firstEndingAfter(clock: number): number {
    const runs = this.runs;
    let low = 0;
    let high = runs.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (runs[mid]!.end > clock) high = mid;
      else low = mid + 1;
    }
    return low;
  }

  /** Replaces `count` runs at `index` with `pieces` (contiguous, in order), merging neighbours that join. */
  private place(index: number, count: number, pieces: readonly ClockRun<V>[]): void {
    const runs = this.runs;
    const joins = this.rules.joins;
    const merged: ClockRun<V>[] = [];
    let left: ClockRun<V> | undefined = runs[index - 1];
    for (const piece of pieces) {
      const previous = merged[merged.length - 1] ?? left;
      if (
        previous !== undefined &&
        previous.end === piece.start &&
        (previous.value === piece.value || joins(previous.value, piece.value))
      ) {
        previous.end = piece.end;
        continue;
      }
      merged.push({ ...piece });
      left = undefined;
    }
    if (count === 0 && merged.length === 0) return;
    if (count === 0 && index === runs.length) {
      for (const run of merged) runs.push(run);
      return;
    }
    runs.splice(index, count, ...merged);
  }
}
