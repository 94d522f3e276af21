/**
 * The quiet-period / maximum-delay scheduler on a manual clock: when a run is due, one run
 * at a time per key, a change during a run, retries and failures, the bounded table, flush
 * and close (also while a run goes on).
 */
import { describe, expect, it } from 'vitest';
import { QuietPeriodScheduler, type QuietPeriodOptions, type RunOutcome, type RunReason } from '../../server/quiet-period-scheduler.js';
import { ManualClock } from '../helpers/rooms.js';

const QUIET = 100;
const MAX = 1_000;

interface Run {
  readonly key: string;
  readonly at: number;
  readonly reason: RunReason;
  /** Ends the run with this outcome (or rejects it). */
  finish(outcome: RunOutcome): Promise<void>;
  fail(error: Error): Promise<void>;
}

/** A scheduler whose runs stay open until the test finishes them. */
function setup(options: Partial<QuietPeriodOptions<string, { readonly name: string }>> = {}) {
  const clock = new ManualClock();
  const start = clock.now();
  const runs: Run[] = [];
  const failures: unknown[] = [];
  const refused: string[] = [];
  const removed: string[] = [];
  const created: string[] = [];
  const scheduler = new QuietPeriodScheduler<string, { readonly name: string }>({
    clock,
    quietMs: QUIET,
    maxDelayMs: MAX,
    maxKeys: 10,
    full: (key) => refused.push(key),
    removed: (key) => removed.push(key),
    create: (key) => (created.push(key), { name: key }),
    run: (key, _state, reason) =>
      new Promise<RunOutcome>((resolve, reject) => {
        runs.push({
          key,
          at: clock.now() - start,
          reason,
          finish: (outcome) => (resolve(outcome), settled()),
          fail: (error) => (reject(error), settled()),
        });
      }),
    failed: (_key, _state, error) => {
      failures.push(error);
      return { retryInMs: QUIET };
    },
    ...options,
  });
  const change = (key = 'a', now = false) => (now ? scheduler.changedDueNow(key) : scheduler.changed(key));
  /** Moves the manual clock on by `ms` (firing what falls due). */
  const advance = (ms: number) => clock.advance(ms);
  const elapsed = () => clock.now() - start;
  return { clock, scheduler, runs, failures, refused, removed, created, change, advance, elapsed };
}

/** Lets the promise chains of a finished run settle. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('QuietPeriodScheduler', () => {
  it('runs a quiet period after the last change, once', async () => {
    const { runs, change, advance, scheduler } = setup();
    expect(change()).toEqual({ name: 'a' });
    advance(60);
    change();
    advance(60);
    expect(runs).toHaveLength(0); // 120 ms after the first change, 60 after the last
    advance(40);
    expect(runs.map((run) => [run.key, run.at, run.reason])).toEqual([['a', 160, 'due']]);
    await runs[0]!.finish('done');
    expect(scheduler.size).toBe(0);
    advance(10 * MAX);
    expect(runs).toHaveLength(1);
  });

  it('runs at the latest the maximum delay after the first change under continuous changes', async () => {
    const { runs, change, advance, elapsed } = setup();
    change();
    while (elapsed() < 2.5 * MAX) {
      advance(QUIET / 2);
      change(); // at the moment a run starts, this one comes during it
      for (const run of runs) await run.finish('done');
    }
    // The quiet period never comes: a run each MAX, the next counted from the first change
    // made during the one before.
    expect(runs.map((run) => run.at)).toEqual([MAX, 2 * MAX]);
  });

  it('runs one key at a time, and again after a change made while it ran', async () => {
    const { runs, change, advance, scheduler } = setup();
    change();
    advance(QUIET);
    expect(runs).toHaveLength(1);
    advance(50);
    change(); // during the run
    advance(10 * QUIET);
    expect(runs).toHaveLength(1); // no second run while the first goes on
    await runs[0]!.finish('done');
    expect(scheduler.size).toBe(1);
    advance(QUIET - 1);
    expect(runs).toHaveLength(1);
    advance(1);
    expect(runs.map((run) => run.at)).toEqual([QUIET, 12 * QUIET + 50]); // a quiet period after it ended
    await runs[1]!.finish('done');
    expect(scheduler.size).toBe(0);
  });

  it('counts the maximum delay of a change made during a run from that change', async () => {
    const { runs, change, advance } = setup();
    change();
    advance(QUIET);
    advance(300);
    change(); // during the run, 400 ms in
    await runs[0]!.finish('done'); // still 400 ms: the rerun is due MAX after 400 at the latest
    for (let i = 0; i < 20 && runs.length === 1; i++) {
      advance(QUIET / 2);
      change();
    }
    expect(runs.map((run) => run.at)).toEqual([QUIET, 400 + MAX]);
  });

  it('retries what a run left unhandled, no sooner than it asked', async () => {
    const { runs, change, advance, scheduler } = setup();
    change();
    advance(QUIET);
    await runs[0]!.finish({ retryInMs: 500 });
    advance(499);
    expect(runs).toHaveLength(1);
    advance(1);
    expect(runs.map((run) => run.at)).toEqual([QUIET, QUIET + 500]);
    await runs[1]!.finish('done');
    expect(scheduler.size).toBe(0);
  });

  it('hands a rejected run to `failed`, which says what follows', async () => {
    const { runs, change, advance, failures, scheduler } = setup();
    change();
    advance(QUIET);
    await runs[0]!.fail(new Error('database down'));
    expect(failures).toEqual([new Error('database down')]);
    expect(scheduler.size).toBe(1);
    advance(QUIET);
    expect(runs).toHaveLength(2);
    await runs[1]!.finish('drop');
    expect(scheduler.size).toBe(0);
  });

  it('tells every key that leaves the table, however it leaves', async () => {
    const { runs, change, advance, scheduler, removed } = setup();
    change('done');
    change('dropped');
    change('forgotten');
    scheduler.check('checked');
    advance(QUIET);
    await runs.find((run) => run.key === 'done')!.finish('done');
    await runs.find((run) => run.key === 'dropped')!.finish('drop');
    scheduler.forget('forgotten');
    const flushed = scheduler.flush('checked'); // `checked` is running: flush waits for it
    expect(removed).toEqual(['done', 'dropped', 'forgotten']);
    await runs.find((run) => run.key === 'checked')!.finish('done');
    await flushed;
    expect(removed).toEqual(['done', 'dropped', 'forgotten', 'checked']);
  });

  it('drops a key whose `failed` throws instead of leaving it stuck', async () => {
    const { runs, change, advance, scheduler } = setup({
      failed: () => {
        throw new Error('logger broke');
      },
    });
    change();
    advance(QUIET);
    await runs[0]!.fail(new Error('first'));
    expect(scheduler.size).toBe(0);
  });

  it('a change due now runs at once, or right after the run going on', async () => {
    const { runs, change, advance } = setup();
    change();
    change('a', true);
    advance(0);
    expect(runs.map((run) => run.at)).toEqual([0]);
    change('a', true); // during the run
    await runs[0]!.finish('done');
    advance(0);
    expect(runs.map((run) => run.at)).toEqual([0, 0]);
    // A retry of an urgent change runs as soon as the retry delay is over, not after a quiet period.
    change();
    await runs[1]!.finish({ retryInMs: 10 });
    advance(10);
    expect(runs).toHaveLength(3);
  });

  it('a check runs a quiet period later without a change, and only for a key not in the table', async () => {
    const { runs, change, advance, scheduler, created } = setup();
    scheduler.check('loaded');
    scheduler.check('loaded');
    expect(created).toEqual(['loaded']);
    advance(QUIET);
    expect(runs.map((run) => [run.key, run.at])).toEqual([['loaded', QUIET]]);
    await runs[0]!.finish('done');
    expect(scheduler.size).toBe(0);
    // Changed after a check: the quiet period and maximum delay count from that change.
    scheduler.check('b');
    advance(QUIET - 10);
    change('b');
    advance(10);
    expect(runs).toHaveLength(1);
    advance(QUIET - 10);
    expect(runs.map((run) => [run.key, run.at])).toEqual([
      ['loaded', QUIET],
      ['b', 3 * QUIET - 10],
    ]);
  });

  it('refuses new keys while the table is full and takes them again once there is room', async () => {
    const { runs, change, advance, scheduler, refused } = setup({ maxKeys: 2 });
    expect(change('a')).not.toBeNull();
    expect(change('b')).not.toBeNull();
    expect(change('c')).toBeNull();
    expect(change('a')).not.toBeNull(); // keys already in keep going
    scheduler.check('d');
    expect(scheduler.keys()).toEqual(['a', 'b']);
    expect(refused).toEqual(['c', 'd']);
    advance(QUIET);
    await Promise.all(runs.map((run) => run.finish('done')));
    expect(change('c')).not.toBeNull();
  });

  it('flush runs pending work now, waits for a run going on, and forgets a key with nothing to do', async () => {
    const { runs, change, advance, scheduler } = setup();
    change('a');
    const flushed = scheduler.flush('a');
    expect(runs.map((run) => [run.key, run.reason])).toEqual([['a', 'flush']]);
    expect(scheduler.flush('a')).toBe(flushed); // the same run, not another
    await runs[0]!.finish('done');
    await flushed;
    expect(scheduler.size).toBe(0);
    advance(10 * MAX);
    expect(runs).toHaveLength(1); // its timer was cancelled

    scheduler.check('checked');
    await scheduler.flush('checked');
    expect(scheduler.size).toBe(0);
    expect(runs).toHaveLength(1);
    await scheduler.flush('unknown');
  });

  it('forget: no timer, and a run going on changes nothing once it ends', async () => {
    const { runs, change, advance, scheduler } = setup();
    change('a');
    advance(QUIET);
    change('a');
    scheduler.forget('a');
    await runs[0]!.finish({ retryInMs: 1 });
    advance(10 * MAX);
    expect(runs).toHaveLength(1);
    expect(scheduler.size).toBe(0);
    change('b');
    scheduler.forget('b');
    advance(10 * MAX);
    expect(runs).toHaveLength(1);
  });

  it('close while a run goes on: waits for it, arms nothing after, and keeps or drops what is pending', async () => {
    const { clock, runs, change, advance, scheduler } = setup();
    change('a');
    change('b');
    advance(QUIET);
    expect(runs).toHaveLength(2);
    change('a'); // during its run
    await runs[1]!.finish('done');
    let closed = false;
    const closing = scheduler.close({ dropPending: false }).then(() => (closed = true));
    await settled();
    expect(closed).toBe(false);
    await runs[0]!.finish('done');
    await closing;
    expect(clock.pendingTimers).toBe(0);
    expect(scheduler.keys()).toEqual(['a']); // changed during its run: pending, for a flush
    expect(change('c')).toBeNull(); // no new key
    expect(change('a')).not.toBeNull(); // a key in the table still counts its changes
    advance(10 * MAX);
    expect(runs).toHaveLength(2);
    const flushed = scheduler.flush('a');
    expect(runs.map((run) => run.reason)).toEqual(['due', 'due', 'flush']);
    await runs[2]!.finish({ retryInMs: 1 }); // a retry after close arms nothing
    await flushed;
    expect(clock.pendingTimers).toBe(0);
    expect(scheduler.keys()).toEqual(['a']);
  });

  it('close dropping what is pending', async () => {
    const { clock, runs, change, scheduler, removed } = setup();
    change('a');
    change('b');
    await scheduler.close({ dropPending: true });
    expect(scheduler.size).toBe(0);
    expect(removed).toEqual(['a', 'b']);
    expect(clock.pendingTimers).toBe(0);
    await scheduler.flush('a');
    expect(runs).toHaveLength(0);
  });
});
