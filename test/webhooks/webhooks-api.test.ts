/**
 * The webhook routes of the admin API: registering (bodies refused with a 400 that names the
 * field, an unknown project 404), listing without secrets, deleting (pending deliveries go with
 * it), the delivery log, the admin guard, and 501 with STORAGE=memory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../server/server.js';
import type { Webhook } from '../../server/webhooks/webhook-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { apiClient, type ErrorBody } from '../helpers/http.js';

const ADMIN = 'admin-webhooks-api-0123456789abcdef';
const SECRET = 'a-secret-of-16-chars+';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let database: TestDatabase;
let server: RunningServer;
let memoryServer: RunningServer;
const api = apiClient(() => server.port);
const admin = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => api<T>(method, path, { token: ADMIN, body });

beforeAll(async () => {
  database = await createTestDatabase('whapi');
  const config = { port: 0, host: '127.0.0.1', adminToken: ADMIN, transport: 'ws', logLevel: 'silent', webhookPollMs: 60_000 } as const;
  server = await startServer({ config: { ...config, storage: 'durable', databaseUrl: database.url } });
  memoryServer = await startServer({ config: { ...config, storage: 'memory' } });
});

afterAll(async () => {
  await server?.close();
  await memoryServer?.close();
  await database?.drop();
});

describe('the webhook admin routes', () => {
  it('refuse a bad registration with 400 naming the field, and change nothing', async () => {
    const good = { url: 'https://hooks.example.org/in', events: ['document.created'], secret: SECRET };
    const cases: Array<[unknown, RegExp]> = [
      [{ ...good, url: 'ftp://hooks.example.org' }, /^url: Invalid URL/],
      [{ ...good, url: 'not a url' }, /^url: Invalid URL/],
      [{ ...good, url: `https://example.org/${'a'.repeat(2048)}` }, /^url: /],
      [{ ...good, events: [] }, /^events: /],
      [{ ...good, events: ['document.renamed'] }, /^events\.0: /],
      [{ ...good, events: ['document.created', 'document.created'] }, /^events: must not name an event twice/],
      [{ ...good, secret: 'short' }, /^secret: /],
      [{ ...good, projectId: 'nope' }, /^projectId: Invalid UUID/],
      [{ ...good, extra: true }, /extra/],
      [{ url: good.url, events: good.events }, /^secret: Required/],
    ];
    for (const [body, error] of cases) {
      const answer = await admin<ErrorBody>('POST', '/api/admin/webhooks', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error).toMatch(error);
    }
    const unknownProject = await admin<ErrorBody>('POST', '/api/admin/webhooks', {
      ...good,
      projectId: '00000000-0000-4000-8000-00000000abcd',
    });
    expect(unknownProject).toMatchObject({
      status: 404,
      body: { error: 'projectId: no project with id 00000000-0000-4000-8000-00000000abcd' },
    });
    expect((await admin<Webhook[]>('GET', '/api/admin/webhooks')).body).toEqual([]);
  });

  it('register, list without the secret, list deliveries and delete', async () => {
    const created = await admin<{ id: string }>('POST', '/api/admin/webhooks', {
      url: 'http://127.0.0.1:9/in',
      events: ['document.created', 'version.created'],
      projectId: null,
      secret: SECRET,
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.stringMatching(UUID) });
    const scoped = await admin<{ id: string }>('POST', '/api/admin/webhooks', {
      url: 'https://hooks.example.org/project',
      events: ['comment.created'],
      projectId: '00000000-0000-4000-8000-000000000001',
      secret: SECRET,
    });
    expect(scoped.status).toBe(201);

    const listed = await admin<Webhook[]>('GET', '/api/admin/webhooks');
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([
      {
        id: created.body.id,
        url: 'http://127.0.0.1:9/in',
        events: ['document.created', 'version.created'],
        projectId: null,
        createdAt: expect.any(String),
      },
      {
        id: scoped.body.id,
        url: 'https://hooks.example.org/project',
        events: ['comment.created'],
        projectId: '00000000-0000-4000-8000-000000000001',
        createdAt: expect.any(String),
      },
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(SECRET);

    // A document created now has a pending delivery (nothing polls in this suite).
    expect(
      (await admin('POST', '/api/admin/documents', { projectId: '00000000-0000-4000-8000-000000000001', name: 'whapi-doc', kind: 'paper' }))
        .status,
    ).toBe(201);
    const log = await admin<Array<Record<string, unknown>>>('GET', `/api/admin/webhooks/${created.body.id}/deliveries`);
    expect(log.status).toBe(200);
    expect(log.body).toEqual([
      {
        id: expect.stringMatching(UUID),
        event: 'document.created',
        status: 'pending',
        attempts: 0,
        createdAt: expect.any(String),
        lastAttemptAt: null,
        deliveredAt: null,
        nextAttemptAt: null,
        responseStatus: null,
        lastError: null,
      },
    ]);
    expect((await admin('GET', `/api/admin/webhooks/${scoped.body.id}/deliveries`)).body).toEqual([]);
    expect((await admin<ErrorBody>('GET', `/api/admin/webhooks/${created.body.id}/deliveries?limit=0`)).status).toBe(400);

    expect((await admin('DELETE', `/api/admin/webhooks/${created.body.id}`)).status).toBe(204);
    expect((await admin<ErrorBody>('DELETE', `/api/admin/webhooks/${created.body.id}`)).body).toEqual({
      error: `no webhook with id ${created.body.id}`,
    });
    expect((await admin('GET', `/api/admin/webhooks/${created.body.id}/deliveries`)).status).toBe(404);
    expect((await admin('GET', '/api/admin/webhooks/nope/deliveries')).status).toBe(400);
    expect((await admin<Webhook[]>('GET', '/api/admin/webhooks')).body.map((webhook) => webhook.id)).toEqual([scoped.body.id]);

    const audit = await admin<{ entries: Array<{ action: string; details: Record<string, unknown> }> }>('GET', '/api/admin/audit');
    expect(audit.body.entries.map((entry) => entry.action)).toEqual(expect.arrayContaining(['webhook.create', 'webhook.delete']));
    expect(JSON.stringify(audit.body)).not.toContain(SECRET);
  });

  it('need the admin token', async () => {
    expect((await api('GET', '/api/admin/webhooks')).status).toBe(401);
    expect((await api('POST', '/api/admin/webhooks', { body: {} })).status).toBe(401);
  });

  it('answer 501 with STORAGE=memory', async () => {
    const memory = apiClient(() => memoryServer.port);
    const answer = await memory<ErrorBody>('GET', '/api/admin/webhooks', { token: ADMIN });
    expect(answer.status).toBe(501);
    expect(answer.body.error).toMatch(/STORAGE=memory/);
  });
});
