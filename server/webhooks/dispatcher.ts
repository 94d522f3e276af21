/**
 * Delivers the outbox, on every instance at once without stepping on each other (the database
 * decides who takes what: change-events.ts, delivery-store.ts). Every `pollMs` one round runs
 * (never two at once): the update log's change marks become events, then due deliveries are
 * taken up to `concurrency` in flight and attempted; finished ones are purged now and then.
 *
 * At least once: a delivery leaves `pending` only when its receiver answered 2xx (or its retry
 * window is over), recorded after the answer; an instance that dies before recording leaves it
 * leased, and it is attempted again when the lease ends. Memory is bounded by `concurrency`
 * attempts and one round's documents.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Db } from '../persistence/db.js';
import { beforeDeadline } from '../persistence/deadline.js';
import { convertChanges } from './change-events.js';
import { attemptDelivery } from './delivery-attempt.js';
import { claimDue, purgeFinished, recordAttempt, type AttemptRecord, type ClaimedDelivery } from './delivery-store.js';
import { nextAttemptAt, type RetryPolicy } from './retry-policy.js';

export interface DispatcherOptions {
  readonly db: Db;
  readonly clock: Clock;
  readonly logger: Logger;
  /** `document.updated` (and the comment events) at most once per document per this long. */
  readonly debounceMs: number;
  readonly pollMs: number;
  /** Attempts in flight at once on this instance. */
  readonly concurrency: number;
  /** An attempt without a 2xx within this long failed. */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
}

/** Documents whose changes one round turns into events at most. */
const DOCUMENTS_PER_ROUND = 100;
/** A taken delivery stays leased this long past the attempt's timeout (recording its end included). */
const LEASE_MARGIN_MS = 5_000;
/** Delivered and given-up deliveries are kept this long in the log… */
const LOG_RETENTION_MS = 7 * 86_400_000;
/** …and looked for this often. */
const PURGE_EVERY_MS = 3_600_000;
/** Between tries to record an attempt's end while the database is unreachable. */
const RECORD_RETRY_MS = 1_000;

export class WebhookDispatcher {
  private readonly stopPolling: () => void;
  private round: Promise<void> | null = null;
  private readonly attempts = new Set<Promise<void>>();
  /** Aborts the attempts in flight when the server stops. */
  private readonly stopping = new AbortController();
  private closed = false;
  private lastPurge = 0;
  private failing = false;

  constructor(private readonly options: DispatcherOptions) {
    this.stopPolling = options.clock.every(options.pollMs, () => void this.poll());
  }

  /**
   * Starts a round unless one runs or the dispatcher is closed; settles (never rejects) when
   * the round, or the one running, has taken its deliveries (their attempts go on).
   */
  poll(): Promise<void> {
    if (this.round !== null) return this.round;
    if (this.closed) return Promise.resolve();
    this.round = this.runRound()
      .then(
        () => {
          if (this.failing) this.options.logger.info('webhook dispatcher: the database answers again');
          this.failing = false;
        },
        (error: unknown) => {
          // Most likely the database is unreachable: the next round tries again, nothing is lost.
          if (!this.failing) this.options.logger.error({ err: error }, 'webhook dispatcher round failed; retrying every poll');
          this.failing = true;
        },
      )
      .finally(() => {
        this.round = null;
      });
    return this.round;
  }

  /** Stops taking deliveries; waits for attempts in flight until `deadline` (performance.now()), then aborts them. */
  async close(deadline: number): Promise<void> {
    this.closed = true;
    this.stopPolling();
    if (this.round !== null) await beforeDeadline(this.round, deadline, undefined);
    await beforeDeadline(Promise.all(this.attempts), deadline, undefined);
    // An attempt cut short is not recorded: its lease ends and another instance (or the next start) tries again.
    this.stopping.abort();
    await Promise.all(this.attempts);
  }

  private async runRound(): Promise<void> {
    const { db, clock, logger, debounceMs, concurrency, timeoutMs } = this.options;
    await convertChanges(db, clock, debounceMs, DOCUMENTS_PER_ROUND, logger);
    const free = concurrency - this.attempts.size;
    if (free > 0 && !this.closed) {
      const now = clock.now();
      for (const delivery of await claimDue(db, now, now + timeoutMs + LEASE_MARGIN_MS, free)) this.start(delivery);
    }
    if (clock.now() - this.lastPurge >= PURGE_EVERY_MS) {
      const purged = await purgeFinished(db, clock.now() - LOG_RETENTION_MS);
      this.lastPurge = clock.now();
      if (purged > 0) logger.info({ purged }, 'webhook deliveries older than the log retention purged');
    }
  }

  private start(delivery: ClaimedDelivery): void {
    const attempt = this.attempt(delivery).finally(() => this.attempts.delete(attempt));
    this.attempts.add(attempt);
  }

  /** Attempts one delivery and records how it went; never rejects. */
  private async attempt(delivery: ClaimedDelivery): Promise<void> {
    const { clock, logger, timeoutMs, retry } = this.options;
    const leaseEnd = clock.now() + timeoutMs + LEASE_MARGIN_MS;
    const result = await attemptDelivery(delivery.url, delivery.secret, delivery.body, { clock, timeoutMs, signal: this.stopping.signal });
    if (this.stopping.signal.aborted && !result.delivered) return;
    const now = clock.now();
    const record: AttemptRecord = result.delivered
      ? { outcome: 'delivered', at: now, responseStatus: result.status }
      : {
          outcome: 'failed',
          retryAt: nextAttemptAt(retry, delivery.attempts, delivery.firstAttemptAt, now),
          responseStatus: result.status,
          error: result.error,
        };
    const context = { delivery: delivery.id, event: delivery.body.event, attempts: delivery.attempts };
    if (record.outcome === 'failed') {
      if (record.retryAt === null) logger.warn({ ...context, error: record.error }, 'webhook delivery given up: its retry window is over');
      else logger.debug({ ...context, error: record.error }, 'webhook delivery attempt failed; retrying later');
    }
    await this.record(delivery.id, record, leaseEnd);
  }

  /**
   * Records an attempt's end, trying again while the database is unreachable until the lease
   * ends (after which another instance may attempt it again: the receiver deduplicates by id).
   */
  private async record(id: string, record: AttemptRecord, leaseEnd: number): Promise<void> {
    const { db, clock, logger } = this.options;
    for (;;) {
      try {
        await recordAttempt(db, id, record);
        return;
      } catch (error) {
        if (clock.now() + RECORD_RETRY_MS >= leaseEnd || this.stopping.signal.aborted) {
          logger.warn({ err: error, delivery: id }, 'webhook attempt could not be recorded; it will be attempted again');
          return;
        }
        await new Promise<void>((resolve) => clock.after(RECORD_RETRY_MS, resolve));
      }
    }
  }
}
