/**
 * The dispatcher on its own, on PostgreSQL, driven by a manual Clock: the retry schedule (first
 * retry after WEBHOOK_RETRY_FIRST_MS, doubling, capped at WEBHOOK_RETRY_MAX_MS) and the give-up
 * after the retry window; a delivery in flight is leased, so a second dispatcher does not take
 * it; a delivered one is never attempted again; close() waits for an attempt in flight; comment
 * events stay exact while compaction coarsens the log under them.
 */
import pino from 'pino';
import * as Y from 'yjs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../server/persistence/db.js';
import { addComment, setCommentResolved } from '../../server/documents/comments.js';
import { compactDocument } from '../../server/persistence/compaction.js';
import { createDocument } from '../../server/persistence/documents.js';
import { DurableStorage } from '../../server/persistence/durable-storage.js';
import { migrateUp } from '../../server/persistence/migrations.js';
import { createPgDb } from '../../server/persistence/pg-db.js';
import { deadlineIn } from '../../server/persistence/deadline.js';
import { WebhookDispatcher, type DispatcherOptions } from '../../server/webhooks/dispatcher.js';
import { createWebhook } from '../../server/webhooks/webhook-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { p, paperDoc } from '../helpers/documents.js';
import { CountingListener } from '../helpers/storage.js';
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

  it('announces each comment once while compaction coarsens the log rows of several announcements into one', async () => {
    await createWebhook(db, {
      url: receiver.url('/comments'),
      events: ['comment.created', 'comment.resolved', 'document.updated'],
      projectId: null,
      secret: SECRET,
    });
    const storage = new DurableStorage(db, { logger: pino({ level: 'silent' }) });
    const ref = await storage.create('dispatch-coarsened', { kind: 'paper' });
    await storage.load(ref);
    const clock = new ManualClock();
    const target = dispatcher(clock);
    const client = new Y.Doc();
    const listener = new CountingListener();
    /** One session's edits, appended and committed like a socket's. */
    const edit = async (change: () => void): Promise<void> => {
      const updates: Uint8Array[] = [];
      const record = (update: Uint8Array) => updates.push(update);
      client.on('update', record);
      change();
      client.off('update', record);
      for (const update of updates) storage.append(ref.id, update, { userId: null, sessionId: 'one-session' }, listener);
      await storage.flush();
    };
    const announced = async (updates: number, event: string, count: number) => {
      clock.advance(1);
      await target.poll();
      await waitFor(
        () => receiver.ofEvent('document.updated', '/comments').length === updates && receiver.ofEvent(event, '/comments').length === count,
        5_000,
        `${event} × ${count}`,
      );
    };

    let commentId = '';
    await edit(() => paperDoc([p('Coarsened history')], client));
    await edit(() => (commentId = addComment(client, { anchor: { from: 0, to: 9 }, body: 'Once', author: { id: null, name: 'Ann' } })));
    await announced(1, 'comment.created', 1);

    // Typing in the same session: compaction merges the comment's rows, already announced, with
    // these into one row of the newest transaction.
    await edit(() => ((client.getXmlFragment('default').get(0) as Y.XmlElement).get(0) as Y.XmlText).insert(0, 'A '));
    await edit(() => client.getMap<number>('other').set('value', 1));
    // A compaction reads only rows below the cluster-wide transaction horizon, which another
    // test file's open transaction can hold back for a moment.
    await waitFor(
      async () =>
        (
          await db.query<{ n: number }>(
            `select count(*)::int as n from collaborations
              where document_id = $1 and tx >= pg_snapshot_xmin(pg_current_snapshot())::text::bigint`,
            [ref.id],
          )
        ).rows[0]?.n === 0,
      10_000,
      'every row below the horizon',
    );
    const before = (await db.query<{ n: number }>('select count(*)::int as n from collaborations where document_id = $1', [ref.id]))
      .rows[0]!.n;
    await compactDocument(db, ref.id);
    const after = (await db.query<{ n: number }>('select count(*)::int as n from collaborations where document_id = $1', [ref.id])).rows[0]!
      .n;
    expect(after).toBeLessThan(before);
    await announced(2, 'comment.created', 1);

    await edit(() => setCommentResolved(client, commentId, true));
    await compactDocument(db, ref.id);
    await announced(3, 'comment.resolved', 1);
    await sleep(100);
    expect(receiver.ofEvent('comment.created', '/comments').map((request) => request.body.data.comment?.id)).toEqual([commentId]);
    expect(receiver.ofEvent('comment.resolved', '/comments').map((request) => request.body.data.comment?.id)).toEqual([commentId]);
    await storage.close(5_000);
  });

  it('marks edited documents in the log commit only while a webhook subscribes to an event told from edits', async () => {
    const storage = new DurableStorage(db, { logger: pino({ level: 'silent' }) });
    const ref = await storage.create('dispatch-marks', { kind: 'paper' });
    await storage.load(ref);
    const client = new Y.Doc();
    const commit = async (): Promise<number> => {
      const updates: Uint8Array[] = [];
      const record = (update: Uint8Array) => updates.push(update);
      client.on('update', record);
      client.getMap<number>('m').set('k', Math.random());
      client.getMap<number>('m').set('j', Math.random());
      client.off('update', record);
      for (const update of updates) storage.append(ref.id, update, { userId: null, sessionId: 'marks' }, new CountingListener());
      await storage.flush();
      const { rows } = await db.query<{ n: number }>('select count(*)::int as n from webhook_changes where document_id = $1', [ref.id]);
      return rows[0]!.n;
    };
    expect(await commit()).toBe(0);
    await createWebhook(db, { url: receiver.url(), events: ['document.created', 'version.created'], projectId: null, secret: SECRET });
    expect(await commit()).toBe(0);
    await createWebhook(db, { url: receiver.url(), events: ['comment.resolved'], projectId: null, secret: SECRET });
    // One mark per document and commit, however many updates it held.
    expect(await commit()).toBe(1);
    expect(await commit()).toBe(2);
    await storage.close(5_000);
  });
});
