/**
 * Webhooks end to end on PostgreSQL, token mode, with a real HTTP receiver: every event kind
 * delivered once with a valid signature and the contract's headers and body; project-scoped and
 * global webhooks; a document moved to the trash; a receiver that is down for a while and then
 * back gets exactly the expected set, retried with the same delivery id and body;
 * `document.updated` at most once per WEBHOOK_DEBOUNCE_MS per document; an event recorded in a
 * transaction that rolls back is never sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addComment, setCommentResolved } from '../../server/documents/comments.js';
import type { Db } from '../../server/persistence/db.js';
import { createPgDb } from '../../server/persistence/pg-db.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { recordEvent } from '../../server/webhooks/outbox.js';
import type { DeliveryRecord } from '../../server/webhooks/webhook-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { p, paperDoc } from '../helpers/documents.js';
import { apiClient } from '../helpers/http.js';
import { destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { hasValidSignature, WebhookReceiver } from '../helpers/webhook-receiver.js';

const AUTH_SECRET = 'test-secret-webhooks-0123456789abcdef';
const ADMIN = 'admin-webhooks-0123456789abcdef';
const HOOK_SECRET = 'hook-secret-0123456789';
const DEBOUNCE_MS = 500;

let database: TestDatabase;
let server: RunningServer;
let receiver: WebhookReceiver;
/** The test's own connection, for transactions of its own. */
let db: Db;
const api = apiClient(() => server.port);
const admin = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => api<T>(method, path, { token: ADMIN, body });

let user: { id: string; name: string; token: string };
let projectId: string;

async function registerWebhook(path: string, events: readonly string[], project: string | null = projectId): Promise<string> {
  const created = await admin<{ id: string }>('POST', '/api/admin/webhooks', {
    url: receiver.url(path),
    events,
    projectId: project,
    secret: HOOK_SECRET,
  });
  expect(created.status).toBe(201);
  return created.body.id;
}

async function createDocument(name: string, project = projectId, kind = 'paper'): Promise<string> {
  const created = await admin<{ id: string }>('POST', '/api/admin/documents', { projectId: project, name, kind });
  expect(created.status).toBe(201);
  return created.body.id;
}

async function deliveries(webhookId: string): Promise<DeliveryRecord[]> {
  const listed = await admin<DeliveryRecord[]>('GET', `/api/admin/webhooks/${webhookId}/deliveries?limit=1000`);
  expect(listed.status).toBe(200);
  return listed.body;
}

/** A provider on `name` as the test user, synced. */
async function openPaper(name: string): Promise<{ doc: Y.Doc; acked: () => Promise<void> }> {
  const doc = new Y.Doc();
  const provider = hocuspocusProvider(server.port, name, doc, { token: user.token });
  await waitFor(() => provider.synced, 10_000, `${name} synced`);
  return { doc, acked: () => waitFor(() => provider.unsyncedChanges === 0, 10_000, `${name} acknowledged`).then(() => undefined) };
}

beforeAll(async () => {
  database = await createTestDatabase('webhooks');
  receiver = await WebhookReceiver.start();
  server = await startServer({
    config: {
      port: 0,
      host: '127.0.0.1',
      storage: 'durable',
      databaseUrl: database.url,
      authSecret: AUTH_SECRET,
      adminToken: ADMIN,
      transport: 'ws',
      logLevel: 'silent',
      webhookPollMs: 50,
      webhookDebounceMs: DEBOUNCE_MS,
      webhookRetryFirstMs: 100,
      webhookRetryMaxMs: 400,
      httpRateLimitPerMinute: 100_000,
    },
  });
  db = createPgDb({ connectionString: database.url });
  const { body: created } = await admin<{ id: string }>('POST', '/api/admin/users', { email: 'ada@example.org', name: 'Ada' });
  const { body: token } = await admin<{ token: string }>('POST', '/api/admin/tokens', { userId: created.id });
  user = { id: created.id, name: 'Ada', token: token.token };
  projectId = (await admin<{ id: string }>('POST', '/api/admin/projects', { name: 'Webhooks', ownerId: user.id })).body.id;
});

afterAll(async () => {
  destroyProviders();
  await server?.close();
  await db?.close();
  await receiver?.down();
  await database?.drop();
});

describe('webhooks', () => {
  it('delivers every event kind once, signed, with the contract headers and body', async () => {
    const path = '/all';
    const webhookId = await registerWebhook(path, [
      'document.created',
      'document.updated',
      'document.deleted',
      'version.created',
      'comment.created',
      'comment.resolved',
    ]);
    const name = 'wh-every-event';
    const documentId = await createDocument(name);
    const document = { id: documentId, name, kind: 'paper', projectId };

    const { doc, acked } = await openPaper(name);
    paperDoc([p('Hello webhooks')], doc);
    const commentId = addComment(doc, { anchor: { from: 0, to: 5 }, body: 'Nice opening', author: { id: user.id, name: user.name } });
    await acked();
    await waitFor(() => receiver.ofEvent('comment.created', path).length === 1, 10_000, 'comment.created');
    setCommentResolved(doc, commentId, true);
    await acked();
    await waitFor(() => receiver.ofEvent('comment.resolved', path).length === 1, 10_000, 'comment.resolved');

    const version = await api<{ version: number }>('POST', `/api/documents/${name}/versions`, {
      token: user.token,
      body: { label: 'first draft' },
    });
    expect(version.status).toBe(201);

    // document.deleted is written by whoever deletes, in the deleting transaction: one that
    // rolls back sends nothing, one that commits is delivered.
    await expect(
      db.transaction(async (tx) => {
        await recordEvent(tx, { event: 'document.deleted', documentId, data: { rolledBack: true } });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await db.transaction((tx) => recordEvent(tx, { event: 'document.deleted', documentId, data: { deletedBy: user.id } }));

    await waitFor(
      () => receiver.ofEvent('version.created', path).length === 1 && receiver.ofEvent('document.deleted', path).length === 1,
      10_000,
      'the last events',
    );
    await sleep(3 * DEBOUNCE_MS); // anything late or duplicated would arrive by now

    const accepted = receiver.accepted(path);
    const count = (event: string) => accepted.filter((request) => request.body.event === event).length;
    expect(count('document.created')).toBe(1);
    expect(count('comment.created')).toBe(1);
    expect(count('comment.resolved')).toBe(1);
    expect(count('version.created')).toBe(1);
    expect(count('document.deleted')).toBe(1);
    expect(count('document.updated')).toBeGreaterThanOrEqual(1);
    expect(receiver.acceptedTwice()).toEqual([]);

    const now = Math.floor(Date.now() / 1000);
    for (const request of accepted) {
      expect(hasValidSignature(request, HOOK_SECRET), `signature of ${request.body.event}`).toBe(true);
      expect(hasValidSignature(request, `${HOOK_SECRET}x`)).toBe(false);
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['x-scriptorium-event']).toBe(request.body.event);
      expect(request.headers['x-scriptorium-delivery']).toBe(request.body.id);
      expect(Math.abs(Number(request.headers['x-scriptorium-timestamp']) - now)).toBeLessThan(60);
      expect(Object.keys(request.body).sort()).toEqual(['createdAt', 'data', 'event', 'id']);
      expect(new Date(request.body.createdAt).toISOString()).toBe(request.body.createdAt);
      expect(request.body.data.document).toEqual(document);
    }

    const updated = receiver.ofEvent('document.updated', path);
    expect(updated.flatMap((request) => request.body.data.authors ?? [])).toContainEqual({ userId: user.id, name: user.name });
    const [created] = receiver.ofEvent('comment.created', path);
    expect(created!.body.data.comment).toMatchObject({
      id: commentId,
      body: 'Nice opening',
      authorId: user.id,
      authorName: user.name,
      resolved: false,
      quote: 'Hello',
    });
    const [resolved] = receiver.ofEvent('comment.resolved', path);
    expect(resolved!.body.data.comment).toMatchObject({ id: commentId, resolved: true });
    const [versioned] = receiver.ofEvent('version.created', path);
    expect(versioned!.body.data.version).toMatchObject({
      version: version.body.version,
      label: 'first draft',
      kind: 'named',
      createdBy: user.id,
    });
    const [deleted] = receiver.ofEvent('document.deleted', path);
    expect(deleted!.body.data).toEqual({ document, deletedBy: user.id });

    // The delivery log: every one delivered at the first attempt.
    const log = await deliveries(webhookId);
    expect(log.map((entry) => entry.id).sort()).toEqual(accepted.map((request) => request.body.id).sort());
    for (const entry of log) {
      expect(entry).toMatchObject({ status: 'delivered', attempts: 1, responseStatus: 200, lastError: null, nextAttemptAt: null });
      expect(entry.deliveredAt).not.toBeNull();
      expect(entry.lastAttemptAt).not.toBeNull();
    }
  }, 60_000);

  it('sends a project webhook its project documents only, and a global one every project', async () => {
    const other = (await admin<{ id: string }>('POST', '/api/admin/projects', { name: 'Elsewhere', ownerId: user.id })).body.id;
    await registerWebhook('/global', ['document.created'], null);
    await registerWebhook('/other', ['document.created'], other);
    const here = await createDocument('wh-scope-here');
    const there = await createDocument('wh-scope-there', other);
    await waitFor(() => receiver.accepted('/global').length === 2 && receiver.accepted('/other').length === 1, 10_000, 'scoped deliveries');
    await sleep(300);
    expect(
      receiver
        .accepted('/global')
        .map((request) => request.body.data.document.id)
        .sort(),
    ).toEqual([here, there].sort());
    expect(receiver.accepted('/other').map((request) => request.body.data.document.id)).toEqual([there]);
  });

  it('announces a document moved to the trash, with who and when', async () => {
    await registerWebhook('/trash', ['document.deleted']);
    const documentId = await createDocument('wh-trashed');
    const deleted = await api('DELETE', '/api/documents/wh-trashed', { token: user.token });
    expect(deleted.status).toBe(204);
    await waitFor(() => receiver.ofEvent('document.deleted', '/trash').length === 1, 10_000, 'document.deleted');
    const [request] = receiver.ofEvent('document.deleted', '/trash');
    expect(request!.body.data).toEqual({
      document: { id: documentId, name: 'wh-trashed', kind: 'paper', projectId },
      deletedBy: user.id,
      deletedAt: expect.any(String),
    });
    // A second delete finds nothing to move, and announces nothing.
    expect((await api('DELETE', '/api/documents/wh-trashed', { token: user.token })).status).toBe(404);
    await sleep(300);
    expect(receiver.ofEvent('document.deleted', '/trash')).toHaveLength(1);
  });

  it('a receiver down for a while, then back, gets exactly the expected events, each retried under one delivery id', async () => {
    const path = '/outage';
    const webhookId = await registerWebhook(path, ['document.created', 'version.created']);
    await receiver.down();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await createDocument(`wh-outage-${i}`));
    // Every delivery has failed a few times (connection refused) before the receiver returns.
    await waitFor(
      async () => {
        const log = await deliveries(webhookId);
        return (
          log.length === 10 &&
          log.every(
            (entry) => entry.status === 'pending' && entry.attempts >= 3 && entry.responseStatus === null && entry.lastError !== null,
          )
        );
      },
      15_000,
      'several failed attempts each',
      100,
    );
    // Back, but answering 503 first: the retries keep their delivery id and body.
    receiver.status = 503;
    await receiver.up();
    await waitFor(
      () => new Set(receiver.requests.filter((request) => request.path === path).map((request) => request.body.id)).size === 10,
      10_000,
      'refused attempts',
    );
    receiver.status = 200;
    await waitFor(() => receiver.accepted(path).length === 10, 15_000, 'every delivery accepted');
    await sleep(500);

    const accepted = receiver.accepted(path);
    expect(accepted.map((request) => request.body.data.document.id).sort()).toEqual([...ids].sort());
    expect(accepted.every((request) => request.body.event === 'document.created')).toBe(true);
    expect(receiver.acceptedTwice()).toEqual([]);
    for (const request of accepted) {
      const refused = receiver.requests.filter(
        (other) => other.path === path && other.body.id === request.body.id && other.answered === 503,
      );
      expect(refused.length).toBeGreaterThanOrEqual(1);
      for (const earlier of refused) {
        expect(earlier.raw).toBe(request.raw);
        expect(earlier.headers['x-scriptorium-delivery']).toBe(request.body.id);
        expect(hasValidSignature(earlier, HOOK_SECRET)).toBe(true);
      }
    }
    const log = await deliveries(webhookId);
    expect(log.every((entry) => entry.status === 'delivered' && entry.attempts >= 4)).toBe(true);
  }, 60_000);

  it('sends document.updated at most once per WEBHOOK_DEBOUNCE_MS per document, and the last edits too', async () => {
    const path = '/debounce';
    await registerWebhook(path, ['document.updated']);
    const busyId = await createDocument('wh-debounce-busy');
    const quietId = await createDocument('wh-debounce-quiet');
    const busy = await openPaper('wh-debounce-busy');
    const quiet = await openPaper('wh-debounce-quiet');
    paperDoc([p('once')], quiet.doc);
    await quiet.acked();

    const text = new Y.XmlText();
    const paragraph = new Y.XmlElement('paragraph');
    paragraph.insert(0, [text]);
    busy.doc.getXmlFragment('default').insert(0, [paragraph]);
    const typingFor = 4 * DEBOUNCE_MS;
    const started = Date.now();
    while (Date.now() - started < typingFor) {
      text.insert(text.length, 'x');
      await sleep(25);
    }
    await busy.acked();
    const lastEdit = Date.now();
    await waitFor(
      () => receiver.ofEvent('document.updated', path).some((request) => request.at >= lastEdit),
      10_000,
      'an event after the last edit',
    );
    await sleep(3 * DEBOUNCE_MS);

    const times = (documentId: string): number[] =>
      receiver
        .ofEvent('document.updated', path)
        .filter((request) => request.body.data.document.id === documentId)
        .map((request) => Date.parse(request.body.createdAt));
    const busyTimes = times(busyId);
    expect(busyTimes.length).toBeGreaterThanOrEqual(3);
    expect(busyTimes.length).toBeLessThanOrEqual(typingFor / DEBOUNCE_MS + 2);
    for (let i = 1; i < busyTimes.length; i++) expect(busyTimes[i]! - busyTimes[i - 1]!).toBeGreaterThanOrEqual(DEBOUNCE_MS);
    expect(times(quietId)).toHaveLength(1);
    expect(receiver.acceptedTwice()).toEqual([]);
  }, 60_000);
});
