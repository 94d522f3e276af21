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
  const remaining = deadline - performance.now();
  if (remaining <= 0) {
    work.catch(() => undefined);
    return Promise.race([work, Promise.resolve(late)]);
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => {
      work.catch(() => undefined);
      resolve(late);
    }, remaining);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
