import type { Logger } from 'pino';

/**
 * `promise.then(onFulfilled, onRejected)` where the handlers themselves are guarded:
 * whatever they throw is logged, never left as an unhandled rejection. Use it
 * wherever a callback-style owner (a socket, a timer) starts async work.
 */
export function settle<T>(
  promise: Promise<T>,
  onFulfilled: (value: T) => void,
  onRejected: (error: unknown) => void,
  logger: Logger,
  what: string,
): void {
  promise.then(onFulfilled, onRejected).catch((error: unknown) => {
    logger.error({ err: error }, `${what}: handler failed`);
  });
}
