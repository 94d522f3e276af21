/**
 * No webhook event is lost to a `kill -9`: the server runs as a child process (dist/, built by
 * `npm test`) on PostgreSQL and on the embedded PGlite, and is killed with SIGKILL
 * - between commit and delivery: its dispatcher never ran (a poll period longer than the test),
 *   so every event exists only in the outbox and the update log's change marks; after a restart
 *   each is delivered, exactly the set expected;
 * - in the middle of deliveries: attempts in flight are never recorded; after a restart they are
 *   attempted again under the same delivery id once their lease ends, so every delivery reaches
 *   the receiver at least once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addComment } from '../../server/documents/comments.js';
import { migrateUp } from '../../server/persistence/migrations.js';
import { createPgliteDb } from '../../server/persistence/pglite-db.js';
import type { DeliveryRecord } from '../../server/webhooks/webhook-store.js';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { createTestDatabase } from '../helpers/databases.js';
import { p, paperDoc } from '../helpers/documents.js';
import { apiClient } from '../helpers/http.js';
import { destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { hasValidSignature, WebhookReceiver } from '../helpers/webhook-receiver.js';

const ADMIN = 'admin-webhooks-kill9-0123456789abcdef';
const HOOK_SECRET = 'kill9-secret-0123456789';
const DEFAULT_PROJECT = '00000000-0000-4000-8000-000000000001';
const ALL_EVENTS = ['document.created', 'document.updated', 'document.deleted', 'version.created', 'comment.created', 'comment.resolved'];

interface Backend {
  readonly env: Record<string, string>;
  remove(): Promise<void>;
}

const BACKENDS: ReadonlyArray<{ name: string; open(): Promise<Backend> }> = [
  {
    name: 'PostgreSQL',
    async open() {
      const database = await createTestDatabase('whkill9');
      return { env: { DATABASE_URL: database.url }, remove: () => database.drop() };
    },
  },
  {
    name: 'embedded PGlite',
    async open() {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'scriptorium-whkill9-'));
      // Migrated here, so the child's first start is not also the (slow) creation of the database.
      const db = await createPgliteDb({ dataDir });
      await migrateUp(db);
      await db.close();
      return { env: { DATABASE_URL: '', DATA_DIR: dataDir }, remove: async () => rmSync(dataDir, { recursive: true, force: true }) };
    },
  },
];

describe.each(BACKENDS)('webhooks across kill -9 ($name)', ({ open }) => {
  let backend: Backend;
  let receiver: WebhookReceiver;
  let server: ChildServer | null = null;
  const api = apiClient(() => server!.port);
  const admin = <T = Record<string, unknown>>(method: string, route: string, body?: unknown) =>
    api<T>(method, route, { token: ADMIN, body });
  const start = (env: Record<string, string>) =>
    startChildServer({ ...backend.env, ADMIN_TOKEN: ADMIN, HTTP_RATE_LIMIT_PER_MINUTE: '100000', ...env });
  const log = async (webhookId: string) =>
    (await admin<DeliveryRecord[]>('GET', `/api/admin/webhooks/${webhookId}/deliveries?limit=1000`)).body;

  beforeAll(async () => {
    backend = await open();
    receiver = await WebhookReceiver.start();
  });

  afterAll(async () => {
    destroyProviders();
    if (server?.process.exitCode === null && server.process.signalCode === null) await server.kill9();
    await receiver?.down();
    await backend?.remove();
  });

  it('delivers every event committed before the kill, exactly the set expected', async () => {
    // The dispatcher never runs before the kill.
    server = await start({ WEBHOOK_POLL_MS: '60000' });
    const hook = await admin<{ id: string }>('POST', '/api/admin/webhooks', {
      url: receiver.url('/committed'),
      events: ALL_EVENTS,
      secret: HOOK_SECRET,
    });
    expect(hook.status).toBe(201);
    const created = await admin<{ id: string }>('POST', '/api/admin/documents', {
      projectId: DEFAULT_PROJECT,
      name: 'kill9-events',
      kind: 'paper',
    });
    expect(created.status).toBe(201);

    const doc = new Y.Doc();
    const provider = hocuspocusProvider(server.port, 'kill9-events', doc);
    await waitFor(() => provider.synced, 10_000, 'synced');
    paperDoc([p('Killed before delivery')], doc);
    const commentId = addComment(doc, { anchor: { from: 0, to: 6 }, body: 'Still here?', author: { id: null, name: 'Ann' } });
    for (let i = 0; i < 50; i++) doc.getMap<number>('more').set(`k${i}`, i);
    await waitFor(() => provider.unsyncedChanges === 0, 15_000, 'every edit acknowledged');
    const version = await api('POST', '/api/documents/kill9-events/versions', { body: { label: 'before the kill' } });
    expect(version.status).toBe(201);
    expect((await log(hook.body.id)).every((entry) => entry.status === 'pending' && entry.attempts === 0)).toBe(true);

    await server.kill9();
    provider.destroy();
    server = await start({ WEBHOOK_POLL_MS: '50', WEBHOOK_DEBOUNCE_MS: '200' });
    await waitFor(
      () =>
        ['document.created', 'document.updated', 'comment.created', 'version.created'].every(
          (event) => receiver.ofEvent(event, '/committed').length >= 1,
        ),
      30_000,
      'every event',
    );
    await sleep(1_500);

    const accepted = receiver.accepted('/committed');
    expect(accepted.map((request) => request.body.event).sort()).toEqual([
      'comment.created',
      'document.created',
      'document.updated',
      'version.created',
    ]);
    expect(accepted.every((request) => request.body.data.document.id === created.body.id && hasValidSignature(request, HOOK_SECRET))).toBe(
      true,
    );
    expect(receiver.ofEvent('comment.created', '/committed')[0]!.body.data.comment).toMatchObject({
      id: commentId,
      body: 'Still here?',
      quote: 'Killed',
    });
    expect(receiver.ofEvent('version.created', '/committed')[0]!.body.data.version).toMatchObject({ label: 'before the kill' });
    expect(receiver.acceptedTwice()).toEqual([]);
    expect((await log(hook.body.id)).every((entry) => entry.status === 'delivered')).toBe(true);
    await server.kill9();
  }, 120_000);

  it('attempts again, under the same delivery id, what was in flight at the kill', async () => {
    server = await start({ WEBHOOK_POLL_MS: '50', WEBHOOK_TIMEOUT_MS: '1000' });
    const hook = await admin<{ id: string }>('POST', '/api/admin/webhooks', {
      url: receiver.url('/in-flight'),
      events: ['document.created'],
      secret: HOOK_SECRET,
    });
    // The receiver takes its time: deliveries are in flight when the kill lands.
    receiver.delayMs = 800;
    const ids: string[] = [];
    for (let i = 0; i < 6; i++)
      ids.push(
        (
          await admin<{ id: string }>('POST', '/api/admin/documents', {
            projectId: DEFAULT_PROJECT,
            name: `kill9-flight-${i}`,
            kind: 'paper',
          })
        ).body.id,
      );
    await waitFor(() => receiver.requests.some((request) => request.path === '/in-flight'), 10_000, 'a delivery in flight');
    await server.kill9();
    const beforeRestart = new Set(receiver.requests.filter((request) => request.path === '/in-flight').map((request) => request.body.id));
    expect(beforeRestart.size).toBeGreaterThan(0);

    receiver.delayMs = 0;
    server = await start({ WEBHOOK_POLL_MS: '50', WEBHOOK_TIMEOUT_MS: '1000' });
    await waitFor(
      async () => (await log(hook.body.id)).every((entry) => entry.status === 'delivered'),
      30_000,
      'every delivery recorded delivered',
      100,
    );
    const entries = await log(hook.body.id);
    expect(entries).toHaveLength(6);
    const accepted = receiver.accepted('/in-flight');
    expect(accepted.map((request) => request.body.data.document.id).sort()).toEqual([...ids].sort());
    expect(new Set(accepted.map((request) => request.body.id))).toEqual(new Set(entries.map((entry) => entry.id)));
    // What was in flight at the kill came again, with its id: receivers deduplicate by it.
    for (const id of beforeRestart) expect(receiver.requests.filter((request) => request.body.id === id).length).toBeGreaterThanOrEqual(2);
    await server.kill9();
  }, 120_000);
});
