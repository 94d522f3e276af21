/**
 * PostgreSQL goes away while webhooks are being delivered and documents edited: no event is
 * lost. A delivery in flight when the database dies is answered by the receiver and recorded
 * once the database is back; edits and a comment made during the outage are committed when it
 * returns, and their events follow. Runs against a throwaway cluster, never the shared one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addComment } from '../../server/documents/comments.js';
import { startServer, type RunningServer } from '../../server/server.js';
import type { DeliveryRecord } from '../../server/webhooks/webhook-store.js';
import { p, paperDoc } from '../helpers/documents.js';
import { apiClient } from '../helpers/http.js';
import { destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../helpers/throwaway-postgres.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { hasValidSignature, WebhookReceiver } from '../helpers/webhook-receiver.js';

const ADMIN = 'admin-webhooks-outage-0123456789abcdef';
const HOOK_SECRET = 'outage-secret-0123456789';
const DEFAULT_PROJECT = '00000000-0000-4000-8000-000000000001';

let cluster: ThrowawayPostgres;
let receiver: WebhookReceiver;
let server: RunningServer | null = null;
const api = apiClient(() => server!.port);
const admin = <T = Record<string, unknown>>(method: string, route: string, body?: unknown) => api<T>(method, route, { token: ADMIN, body });

beforeAll(async () => {
  cluster = await startThrowawayPostgres();
  receiver = await WebhookReceiver.start();
}, 60_000);

afterAll(async () => {
  destroyProviders();
  await server?.close();
  await receiver?.down();
  await cluster?.destroy();
});

describe('webhooks through a database outage', () => {
  it('lose no event: what was in flight is recorded, what was edited during the outage is announced', async () => {
    server = await startServer({
      config: {
        port: 0,
        host: '127.0.0.1',
        databaseUrl: cluster.url,
        storage: 'durable',
        adminToken: ADMIN,
        transport: 'ws',
        logLevel: 'silent',
        shutdownTimeoutMs: 20_000,
        httpRateLimitPerMinute: 100_000,
        webhookPollMs: 50,
        webhookDebounceMs: 200,
        webhookRetryFirstMs: 100,
        webhookRetryMaxMs: 400,
      },
    });
    const hook = await admin<{ id: string }>('POST', '/api/admin/webhooks', {
      url: receiver.url('/outage'),
      events: ['document.created', 'document.updated', 'comment.created'],
      secret: HOOK_SECRET,
    });
    expect(hook.status).toBe(201);
    const first = await admin<{ id: string }>('POST', '/api/admin/documents', {
      projectId: DEFAULT_PROJECT,
      name: 'outage-paper',
      kind: 'paper',
    });
    await waitFor(() => receiver.ofEvent('document.created', '/outage').length === 1, 10_000, 'the first delivery');

    const doc = new Y.Doc();
    const provider = hocuspocusProvider(server.port, 'outage-paper', doc);
    await waitFor(() => provider.synced, 10_000, 'synced');
    paperDoc([p('Written before the outage')], doc);
    await waitFor(() => provider.unsyncedChanges === 0, 10_000, 'acknowledged before the outage');

    // A delivery is in flight (the receiver takes its time) when the database goes away.
    receiver.delayMs = 1_500;
    const second = await admin<{ id: string }>('POST', '/api/admin/documents', {
      projectId: DEFAULT_PROJECT,
      name: 'outage-second',
      kind: 'paper',
    });
    await waitFor(
      () => receiver.requests.some((request) => request.body.data.document.id === second.body.id),
      10_000,
      'the second delivery in flight',
    );
    await cluster.crash();
    receiver.delayMs = 0;

    // Edits and a comment while the database is down: applied, not acknowledged yet.
    const commentId = addComment(doc, { anchor: { from: 0, to: 7 }, body: 'Made during the outage', author: { id: null, name: 'Ann' } });
    doc.getMap<number>('during').set('edit', 1);
    await sleep(1_500);
    expect(provider.unsyncedChanges).toBeGreaterThan(0);

    await cluster.start();
    await waitFor(() => provider.unsyncedChanges === 0, 30_000, 'acknowledged after the outage');
    await waitFor(() => receiver.ofEvent('comment.created', '/outage').length === 1, 30_000, 'the outage comment announced');
    await waitFor(
      async () => {
        const log = await admin<DeliveryRecord[]>('GET', `/api/admin/webhooks/${hook.body.id}/deliveries`);
        return log.status === 200 && log.body.every((entry) => entry.status === 'delivered');
      },
      30_000,
      'every delivery recorded delivered',
      100,
    );
    await sleep(1_000);

    const accepted = receiver.accepted('/outage');
    expect(
      receiver
        .ofEvent('document.created', '/outage')
        .map((request) => request.body.data.document.id)
        .sort(),
    ).toEqual([first.body.id, second.body.id].sort());
    expect(receiver.ofEvent('comment.created', '/outage').map((request) => request.body.data.comment?.id)).toEqual([commentId]);
    const updated = receiver.ofEvent('document.updated', '/outage');
    expect(updated.length).toBeGreaterThanOrEqual(2); // before, and after the outage
    expect(updated.every((request) => request.body.data.document.id === first.body.id)).toBe(true);
    expect(accepted.every((request) => hasValidSignature(request, HOOK_SECRET))).toBe(true);
    // Every delivery the outbox holds reached the receiver (a repeat would carry the same id).
    const log = await admin<DeliveryRecord[]>('GET', `/api/admin/webhooks/${hook.body.id}/deliveries`);
    expect(new Set(log.body.map((entry) => entry.id))).toEqual(new Set(accepted.map((request) => request.body.id)));
  }, 120_000);
});
