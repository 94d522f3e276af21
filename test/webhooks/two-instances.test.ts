/**
 * Two instances on one database deliver one outbox: every event reaches the receiver, and none
 * is attempted twice (the normal case: nobody dies, the receiver answers in time), also while
 * both instances take deliveries at the same moments; edits of one document through both
 * instances still make `document.updated` at most once per WEBHOOK_DEBOUNCE_MS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { apiClient } from '../helpers/http.js';
import { destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { hasValidSignature, WebhookReceiver } from '../helpers/webhook-receiver.js';

const ADMIN = 'admin-webhooks-two-0123456789abcdef';
const HOOK_SECRET = 'two-instances-secret-0123';
const DEFAULT_PROJECT = '00000000-0000-4000-8000-000000000001';
const DEBOUNCE_MS = 400;

let database: TestDatabase;
let receiver: WebhookReceiver;
const servers: RunningServer[] = [];

async function start(): Promise<RunningServer> {
  const server = await startServer({
    config: {
      port: 0,
      host: '127.0.0.1',
      storage: 'durable',
      databaseUrl: database.url,
      adminToken: ADMIN,
      transport: 'ws',
      logLevel: 'silent',
      webhookPollMs: 20,
      webhookConcurrency: 4,
      webhookDebounceMs: DEBOUNCE_MS,
    },
  });
  servers.push(server);
  return server;
}

const adminOf = (server: RunningServer) => {
  const api = apiClient(() => server.port);
  return <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => api<T>(method, path, { token: ADMIN, body });
};

beforeAll(async () => {
  database = await createTestDatabase('whtwo');
  receiver = await WebhookReceiver.start();
  await start();
  await start();
});

afterAll(async () => {
  destroyProviders();
  await Promise.all(servers.map((server) => server.close()));
  await receiver?.down();
  await database?.drop();
});

describe('two instances on one database', () => {
  it('deliver every event exactly once between them', async () => {
    const [a, b] = [adminOf(servers[0]!), adminOf(servers[1]!)];
    expect(
      (await a('POST', '/api/admin/webhooks', { url: receiver.url('/created'), events: ['document.created'], secret: HOOK_SECRET })).status,
    ).toBe(201);
    // Slow enough answers that both instances have deliveries in flight at once.
    receiver.delayMs = 30;
    const ids = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const created = await (i % 2 === 0 ? a : b)<{ id: string }>('POST', '/api/admin/documents', {
        projectId: DEFAULT_PROJECT,
        name: `two-${i}`,
        kind: 'paper',
      });
      expect(created.status).toBe(201);
      ids.add(created.body.id);
    }
    await waitFor(() => receiver.accepted('/created').length === 60, 20_000, 'every delivery');
    await sleep(500);
    const requests = receiver.requests.filter((request) => request.path === '/created');
    expect(requests).toHaveLength(60);
    expect(new Set(requests.map((request) => request.body.data.document.id))).toEqual(ids);
    expect(receiver.acceptedTwice()).toEqual([]);
    expect(requests.every((request) => hasValidSignature(request, HOOK_SECRET))).toBe(true);
    receiver.delayMs = 0;
  }, 60_000);

  it('debounce document.updated across instances', async () => {
    const a = adminOf(servers[0]!);
    expect(
      (await a('POST', '/api/admin/webhooks', { url: receiver.url('/updated'), events: ['document.updated'], secret: HOOK_SECRET })).status,
    ).toBe(201);
    const created = await a<{ id: string }>('POST', '/api/admin/documents', {
      projectId: DEFAULT_PROJECT,
      name: 'two-shared',
      kind: 'paper',
    });
    const docs = servers.map((server) => {
      const doc = new Y.Doc();
      const provider = hocuspocusProvider(server.port, 'two-shared', doc);
      return { doc, provider };
    });
    await waitFor(() => docs.every(({ provider }) => provider.synced), 10_000, 'both synced');
    const started = Date.now();
    for (let i = 0; Date.now() - started < 5 * DEBOUNCE_MS; i++) {
      docs[i % 2]!.doc.getMap<number>('counts').set(`k${i}`, i);
      await sleep(20);
    }
    await waitFor(() => docs.every(({ provider }) => provider.unsyncedChanges === 0), 10_000, 'every edit acknowledged');
    const lastEdit = Date.now();
    await waitFor(
      () => receiver.ofEvent('document.updated', '/updated').some((request) => request.at >= lastEdit),
      10_000,
      'an event after the last edit',
    );
    await sleep(3 * DEBOUNCE_MS);

    const times = receiver
      .ofEvent('document.updated', '/updated')
      .filter((request) => request.body.data.document.id === created.body.id)
      .map((request) => Date.parse(request.body.createdAt))
      .sort((x, y) => x - y);
    expect(times.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(DEBOUNCE_MS);
    expect(receiver.acceptedTwice()).toEqual([]);
    expect(receiver.requests.filter((request) => request.path === '/updated')).toHaveLength(times.length);
  }, 60_000);
});
