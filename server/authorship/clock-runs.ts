/**
 * What is known about the clocks of one Yjs client, first writer wins: a sorted list of
 * disjoint runs [start, end) of clocks, each with a value. Filling a range only fills the
 * parts nobody filled before, so when the log is read in time order, every clock keeps what
 * the earliest row that carried it said (who deleted it first, when it was first stored), and
 * reading a row twice (a duplicate, a coarsened copy, an overlapping incremental read)
 * changes nothing.
 *
 * A client's clocks grow as it edits, so rows mostly arrive at the end: that case is a push
 * (or a widening of the last run when `joins` allows it). Anything else is a binary search
 * and a splice. Neighbouring runs whose values `joins` accepts are kept as one, which is what
 * keeps a paper typed one keystroke per row down to a few runs per client.
 */

export interface ClockRun<V> {
  readonly start: number;
  end: number;
  readonly value: V;
}

export class ClockRuns<V> {
  private readonly runs: ClockRun<V>[] = [];

  /** `joins(left, right)`: may a run with `right` that starts where one with `left` ends be merged into it (keeping `left`)? */
  constructor(private readonly joins: (left: V, right: V) => boolean) {}

  get size(): number {
    return this.runs.length;
  }

  /** Fills the clocks of [start, end) that hold nothing yet with `value`. */
  fill(start: number, end: number, value: V): void {
    if (end <= start) return;
    const runs = this.runs;
    const last = runs[runs.length - 1];
    if (last === undefined || start >= last.end) {
      this.insertAt(runs.length, start, end, value);
      return;
    }
    let i = this.firstEndingAfter(start);
    let cursor = start;
    while (cursor < end) {
      const run = runs[i];
      if (run === undefined || run.start >= end) {
        this.insertAt(i, cursor, end, value);
        return;
      }
      if (run.start > cursor) {
        // insertAt may merge into the run before i (then nothing was inserted) or insert one.
        i += this.insertAt(i, cursor, run.start, value);
      }
      cursor = Math.max(cursor, run.end);
      i++;
    }
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

  /** Puts [start, end) before index `i`, merged into its left neighbour when it may be; returns the runs added (0 or 1). */
  private insertAt(i: number, start: number, end: number, value: V): number {
    const runs = this.runs;
    const left = runs[i - 1];
    if (left !== undefined && left.end === start && this.joins(left.value, value)) {
      left.end = end;
      return 0;
    }
    const run = { start, end, value };
    if (i === runs.length) runs.push(run);
    else runs.splice(i, 0, run);
    return 1;
  }
}
