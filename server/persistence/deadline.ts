/** Bounding a wait during shutdown: what does not finish in time is left to finish (or fail) on its own. */

/** A point in time on the `performance.now()` clock, `ms` from now. */
export function deadlineIn(ms: number): number {
  return performance.now() + Math.max(0, ms);
}

/**
 * Resolves with `work`'s value, or with `late` once `deadline` has passed. A
 * rejection of `work` after the deadline is swallowed here (the caller already
 * moved on); before it, it propagates.
 */
export function beforeDeadline<T>(work: Promise<T>, deadline: number, late: T): Promise<T> {
  // Even a deadline already past waits one timer turn, so work that is as good as
  // done (settled, or a few microtasks away) still counts.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(
      () => {
        work.catch(() => undefined);
        resolve(late);
      },
      Math.max(0, deadline - performance.now()),
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
