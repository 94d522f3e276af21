/**
 * The dispatcher on its own, on PostgreSQL, driven by a manual Clock: the retry schedule (first
 * retry after WEBHOOK_RETRY_FIRST_MS, doubling, capped at WEBHOOK_RETRY_MAX_MS) and the give-up
 * after the retry window; a delivery in flight is leased, so a second dispatcher does not take
 * it; a delivered one is never attempted again; close() waits for an attempt in flight.
 */
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../server/persistence/db.js';
import { createDocument } from '../../server/persistence/documents.js';
import { migrateUp } from '../../server/persistence/migrations.js';
import { createPgDb } from '../../server/persistence/pg-db.js';
import { deadlineIn } from '../../server/persistence/deadline.js';
import { WebhookDispatcher, type DispatcherOptions } from '../../server/webhooks/dispatcher.js';
import { createWebhook } from '../../server/webhooks/webhook-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { ManualClock } from '../helpers/rooms.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { hasValidSignature, WebhookReceiver } from '../helpers/webhook-receiver.js';

const SECRET = 'dispatcher-secret-0123456789';
const RETRY = { firstMs: 1_000, maxMs: 4_000, windowMs: 20_000 };

let database: TestDatabase;
let db: Db;
let receiver: WebhookReceiver;
const dispatchers: WebhookDispatcher[] = [];

function dispatcher(clock: ManualClock, overrides: Partial<DispatcherOptions> = {}): WebhookDispatcher {
  const started = new WebhookDispatcher({
    db,
    clock,
    logger: pino({ level: 'silent' }),
    debounceMs: 0,
    pollMs: 60_000,
    concurrency: 4,
    timeoutMs: 10_000,
    retry: RETRY,
    ...overrides,
  });
  dispatchers.push(started);
  return started;
}

interface Row {
  status: string;
  attempts: number;
  next_attempt_at: Date | null;
  last_attempt_at: Date | null;
}

async function onlyDelivery(): Promise<Row> {
  const { rows } = await db.query<Row>('select status, attempts, next_attempt_at, last_attempt_at from webhook_deliveries');
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

/** Polls once and waits until `attempts` attempts are recorded (the lease replaced by the outcome). */
async function attemptOnce(target: WebhookDispatcher, clock: ManualClock, attempts: number): Promise<Row> {
  await target.poll();
  return waitFor<Row | null>(
    async () => {
      const row = await onlyDelivery();
      const recorded = row.status !== 'pending' || (row.next_attempt_at !== null && row.next_attempt_at.getTime() < clock.now() + 10_000);
      return row.attempts === attempts && recorded ? row : null;
    },
    5_000,
    `attempt ${attempts} recorded`,
  ) as Promise<Row>;
}

beforeAll(async () => {
  database = await createTestDatabase('whdispatch');
  db = createPgDb({ connectionString: database.url });
  await migrateUp(db);
  receiver = await WebhookReceiver.start();
});

beforeEach(async () => {
  for (const started of dispatchers.splice(0)) await started.close(deadlineIn(1_000));
  await db.query('delete from webhooks');
  receiver.status = 200;
  receiver.delayMs = 0;
  receiver.requests.length = 0;
});

afterAll(async () => {
  for (const started of dispatchers.splice(0)) await started.close(deadlineIn(1_000));
  await receiver?.down();
  await db?.close();
  await database?.drop();
});

describe('the dispatcher', () => {
  it('retries after the first delay, doubling up to the cap, and gives up after the window', async () => {
    await createWebhook(db, { url: receiver.url(), events: ['document.created'], projectId: null, secret: SECRET });
    await createDocument(db, 'dispatch-retries', 'paper');
    receiver.status = 500;
    const clock = new ManualClock();
    const target = dispatcher(clock);
    const start = clock.now();

    let row = await attemptOnce(target, clock, 1);
    const gaps: number[] = [];
    for (let attempt = 2; row.status === 'pending'; attempt++) {
      const gap = row.next_attempt_at!.getTime() - row.last_attempt_at!.getTime();
      gaps.push(gap);
      // Not a moment before it is due…
      clock.advance(gap - 1);
      await target.poll();
      await sleep(50);
      expect(receiver.requests).toHaveLength(attempt - 1);
      // …and at once when it is.
      clock.advance(1);
      row = await attemptOnce(target, clock, attempt);
    }
    expect(gaps.slice(0, 5)).toEqual([1_000, 2_000, 4_000, 4_000, 4_000]);
    expect(row.status).toBe('failed');
    expect(row.next_attempt_at).toBeNull();
    // Given up at the first failure at or after the window's end, not before.
    expect(row.last_attempt_at!.getTime() - start).toBeGreaterThanOrEqual(RETRY.windowMs);
    expect(row.last_attempt_at!.getTime() - start).toBeLessThan(RETRY.windowMs + RETRY.maxMs);
    // One delivery id and one body throughout, each attempt signed.
    expect(new Set(receiver.requests.map((request) => request.raw)).size).toBe(1);
    expect(receiver.requests.every((request) => hasValidSignature(request, SECRET))).toBe(true);

    clock.advance(RETRY.windowMs);
    await target.poll();
    await sleep(50);
    expect(receiver.requests).toHaveLength(row.attempts);
  });

  it('leases a delivery in flight: a second dispatcher does not take it, and a delivered one is not attempted again', async () => {
    await createWebhook(db, { url: receiver.url(), events: ['document.created'], projectId: null, secret: SECRET });
    await createDocument(db, 'dispatch-lease', 'paper');
    receiver.delayMs = 500;
    const clock = new ManualClock();
    const first = dispatcher(clock);
    const second = dispatcher(clock);
    await first.poll();
    await waitFor(() => receiver.requests.length === 1, 5_000, 'the first attempt');
    await second.poll();
    clock.advance(5_000); // still within the lease (timeout + margin)
    await second.poll();
    await waitFor(async () => (await onlyDelivery()).status === 'delivered', 5_000, 'delivered');
    clock.advance(60_000);
    await Promise.all([first.poll(), second.poll()]);
    await sleep(100);
    expect(receiver.requests).toHaveLength(1);
    expect(await onlyDelivery()).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('close() waits for an attempt in flight and records it', async () => {
    await createWebhook(db, { url: receiver.url(), events: ['document.created'], projectId: null, secret: SECRET });
    await createDocument(db, 'dispatch-close', 'paper');
    receiver.delayMs = 300;
    const target = dispatcher(new ManualClock());
    await target.poll();
    await waitFor(() => receiver.requests.length === 1, 5_000, 'the attempt');
    await target.close(deadlineIn(5_000));
    expect(await onlyDelivery()).toMatchObject({ status: 'delivered', attempts: 1 });
  });
});
