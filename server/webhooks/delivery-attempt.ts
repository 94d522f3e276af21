/**
 * One attempt at a delivery: `POST <url>` with the signed JSON body. Any 2xx within the timeout
 * delivers it; anything else (another status, a redirect — not followed —, no connection, no
 * answer in time) is a failed attempt, described for the delivery log.
 */
import type { Clock } from '../clock.js';
import { signDelivery } from './signature.js';
import type { WebhookDeliveryBody } from './webhook-events.js';

export type AttemptResult =
  | { readonly delivered: true; readonly status: number }
  | { readonly delivered: false; readonly status: number | null; readonly error: string };

export interface AttemptOptions {
  readonly clock: Clock;
  readonly timeoutMs: number;
  /** Aborts the attempt (the server stopping). */
  readonly signal: AbortSignal;
}

/** Posts `body` to `url` signed with `secret`; never rejects. */
export async function attemptDelivery(
  url: string,
  secret: string,
  body: WebhookDeliveryBody,
  options: AttemptOptions,
): Promise<AttemptResult> {
  const raw = JSON.stringify(body);
  const timestamp = Math.floor(options.clock.now() / 1000);
  const timeout = new AbortController();
  const cancelTimeout = options.clock.after(options.timeoutMs, () => timeout.abort());
  try {
    const response = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.any([timeout.signal, options.signal]),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Scriptorium-Webhooks',
        'x-scriptorium-event': body.event,
        'x-scriptorium-delivery': body.id,
        'x-scriptorium-timestamp': String(timestamp),
        'x-scriptorium-signature': signDelivery(secret, timestamp, raw),
      },
      body: raw,
    });
    // The answer's body is not read, only released (its connection goes back to the pool).
    await response.body?.cancel().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return { delivered: true, status: response.status };
    return { delivered: false, status: response.status, error: `HTTP ${response.status}` };
  } catch (error) {
    if (timeout.signal.aborted) return { delivered: false, status: null, error: `no answer within ${options.timeoutMs} ms` };
    if (options.signal.aborted) return { delivered: false, status: null, error: 'attempt interrupted: the server stopped' };
    return { delivered: false, status: null, error: describe(error) };
  } finally {
    cancelTimeout();
  }
}

/** fetch's errors say "fetch failed" and keep the reason (ECONNREFUSED…) in `cause`. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error) return `${error.message}: ${(cause as { code?: unknown }).code ?? cause.message}`;
  return error.message;
}
