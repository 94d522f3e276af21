import pino from 'pino';
import { testRedis } from '../helpers/redis.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient } from '../../server/cluster/redis-client.js';
import { InProcessPresence, PRESENCE_TTL_MS, type PresenceEntry } from '../../server/cluster/presence.js';
import { RedisPresence } from '../../server/cluster/redis-presence.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { apiClient, type ErrorBody } from '../helpers/http.js';

const SECRET = 'test-secret-presence-0123456789abcdef';
const ADMIN = 'admin-presence-0123456789abcdef';
const logger = pino({ level: 'silent' });
const store = testRedis();
const { prefix } = store;
const redis = () => store.client();

interface PresenceBody {
  document: string;
  users: Array<{ id: string | null; name: string | null; since: string; instance: string }>;
}

afterAll(() => store.cleanup());

const entry = (document: string, sessionKey: string, userId: string | null, instanceId: string, since: number): PresenceEntry => ({
  document,
  sessionKey,
  userId,
  name: null,
  instanceId,
  since,
});
const path = (name: string) => `/api/documents/${encodeURIComponent(name)}/presence`;

describe('token mode, two instances over Redis', () => {
  let database: TestDatabase;
  const presences = { a: new RedisPresence(redis(), logger), b: new RedisPresence(redis(), logger) };
  const servers: Partial<Record<'a' | 'b', RunningServer>> = {};
  const apis = { a: apiClient(() => servers.a!.port), b: apiClient(() => servers.b!.port) };
  type Who = 'owner' | 'editor' | 'viewer' | 'outsider';
  const users = {} as Record<Who, string>;
  const tokens = {} as Record<Who, string>;
  const DOC = 'presence/paper {x}';

  beforeAll(async () => {
    database = await createTestDatabase('presence');
    for (const [which, transport] of [
      ['a', 'uws'],
      ['b', 'ws'],
    ] as const) {
      servers[which] = await startServer({
        config: {
          port: 0,
          host: '127.0.0.1',
          storage: 'durable',
          databaseUrl: database.url,
          authSecret: SECRET,
          adminToken: ADMIN,
          transport,
          logLevel: 'silent',
        },
        presence: presences[which],
      });
    }
    const admin = async <T>(p: string, body: unknown): Promise<T> => {
      const response = await apis.a<T>('POST', p, { token: ADMIN, body });
      if (response.status !== 201 && response.status !== 204) throw new Error(`${p}: ${response.status} ${JSON.stringify(response.body)}`);
      return response.body;
    };
    for (const who of ['owner', 'editor', 'viewer', 'outsider'] as const) {
      users[who] = (await admin<{ id: string }>('/api/admin/users', { email: `${who}@example.org`, name: `The ${who}` })).id;
      tokens[who] = (await admin<{ token: string }>('/api/admin/tokens', { userId: users[who] })).token;
    }
    const project = (await admin<{ id: string }>('/api/admin/projects', { name: 'Presence', ownerId: users.owner })).id;
    await admin(`/api/admin/projects/${project}/members`, { userId: users.editor, role: 'editor' });
    await admin(`/api/admin/projects/${project}/members`, { userId: users.viewer, role: 'viewer' });
    await admin('/api/admin/documents', { projectId: project, name: DOC, kind: 'paper' });
  });

  afterAll(async () => {
    await servers.a?.close();
    await servers.b?.close();
    await database?.drop();
  });

  it('an empty document: nobody', async () => {
    const response = await apis.a<PresenceBody>('GET', path(DOC), { token: tokens.viewer });
    expect(response).toMatchObject({ status: 200, body: { document: DOC, users: [] } });
  });

  it('the same answer on both instances: one row per user, since their earliest session, names from users', async () => {
    const t = Date.now() - 60_000;
    // The owner: two sockets on A, one (the earliest) on B; the editor on A.
    await presences.a.join(entry(DOC, 'owner-a1', users.owner, 'A', t + 2000));
    await presences.a.join(entry(DOC, 'owner-a2', users.owner, 'A', t + 3000));
    await presences.b.join(entry(DOC, 'owner-b1', users.owner, 'B', t + 1000));
    await presences.a.join(entry(DOC, 'editor-a1', users.editor, 'A', t + 1500));
    // Another document's presence is not this one's.
    await presences.b.join(entry('presence/elsewhere', 'viewer-b1', users.viewer, 'B', t));

    const expected = {
      document: DOC,
      users: [
        { id: users.owner, name: 'The owner', since: new Date(t + 1000).toISOString(), instance: 'B' },
        { id: users.editor, name: 'The editor', since: new Date(t + 1500).toISOString(), instance: 'A' },
      ],
    };
    for (const [server, who] of [
      ['a', 'owner'],
      ['b', 'viewer'],
      ['a', 'editor'],
      ['b', 'owner'],
    ] as const) {
      const response = await apis[server]<PresenceBody>('GET', path(DOC), { token: tokens[who] });
      expect(response.status, `${server} as ${who}`).toBe(200);
      expect(response.body, `${server} as ${who}`).toEqual(expected);
    }

    // The earliest session leaves: the owner's next one counts.
    await presences.b.leave(DOC, 'owner-b1');
    const after = await apis.b<PresenceBody>('GET', path(DOC), { token: tokens.owner });
    expect(after.body.users).toEqual([
      expected.users[1],
      { ...expected.users[0]!, since: new Date(t + 2000).toISOString(), instance: 'A' },
    ]);
    for (const key of ['owner-a1', 'owner-a2', 'editor-a1']) await presences.a.leave(DOC, key);
    expect((await apis.a<PresenceBody>('GET', path(DOC), { token: tokens.owner })).body.users).toEqual([]);
  });

  it('the entries of an instance that died (stopped renewing) are gone after the TTL', async () => {
    const dead = new RedisPresence(redis(), logger, { now: () => Date.now() - PRESENCE_TTL_MS - 1000 });
    await dead.join(entry(DOC, 'ghost', users.editor, 'dead', Date.now() - PRESENCE_TTL_MS - 1000));
    await presences.b.join(entry(DOC, 'alive', users.viewer, 'B', Date.now()));
    for (const server of ['a', 'b'] as const) {
      const response = await apis[server]<PresenceBody>('GET', path(DOC), { token: tokens.owner });
      expect(response.body.users.map((user) => [user.name, user.instance])).toEqual([['The viewer', 'B']]);
    }
    await presences.b.leave(DOC, 'alive');
  });

  it('a user unknown to the users table is listed without a name', async () => {
    const stranger = crypto.randomUUID();
    await presences.a.join(entry(DOC, 'stranger', stranger, 'A', Date.now()));
    const response = await apis.a<PresenceBody>('GET', path(DOC), { token: tokens.owner });
    expect(response.body.users).toEqual([{ id: stranger, name: null, since: expect.any(String), instance: 'A' }]);
    await presences.a.leave(DOC, 'stranger');
  });

  it('is authorized as the history is: 401 without a valid token, 403 for an outsider, 404 for an unknown document', async () => {
    const none = await apis.a<ErrorBody>('GET', path(DOC));
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await apis.b<ErrorBody>('GET', path(DOC), { token: 'not.a.jwt' })).status).toBe(401);
    const outsider = await apis.b<ErrorBody>('GET', path(DOC), { token: tokens.outsider });
    expect(outsider.status).toBe(403);
    expect(outsider.body.error).toMatch(/no access/);
    expect((await apis.a<ErrorBody>('GET', path('presence/no such paper'), { token: tokens.owner })).status).toBe(404);
  });
});

describe('open mode in memory', () => {
  let server: RunningServer;
  const presence = new InProcessPresence();
  const api = apiClient(() => server.port);

  beforeAll(async () => {
    server = await startServer({
      config: {
        port: 0,
        host: '127.0.0.1',
        storage: 'memory',
        authSecret: undefined,
        adminToken: undefined,
        transport: 'uws',
        logLevel: 'silent',
      },
      presence,
    });
    expect((await api('POST', '/api/documents', { body: { name: 'open/presence', kind: 'paper' } })).status).toBe(201);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('anonymous sessions each appear, without id or name; 404 for an unknown document', async () => {
    const t = Date.now();
    await presence.join(entry('open/presence', 'anon-2', null, 'here', t + 10));
    await presence.join(entry('open/presence', 'anon-1', null, 'here', t));
    const response = await api<PresenceBody>('GET', path('open/presence'));
    expect(response).toMatchObject({
      status: 200,
      body: {
        document: 'open/presence',
        users: [
          { id: null, name: null, since: new Date(t).toISOString(), instance: 'here' },
          { id: null, name: null, since: new Date(t + 10).toISOString(), instance: 'here' },
        ],
      },
    });
    expect((await api('GET', path('open/nothing'))).status).toBe(404);
  });
});

describe('while Redis is unreachable', () => {
  it('answers 503 with the reason rather than "nobody"', async () => {
    const down = createRedisClient('redis://127.0.0.1:1', prefix, logger);
    const server = await startServer({
      config: {
        port: 0,
        host: '127.0.0.1',
        storage: 'memory',
        authSecret: undefined,
        adminToken: undefined,
        transport: 'ws',
        logLevel: 'silent',
      },
      presence: new RedisPresence(down, logger),
    });
    try {
      const api = apiClient(() => server.port);
      expect((await api('POST', '/api/documents', { body: { name: 'open/down', kind: 'paper' } })).status).toBe(201);
      const response = await api<ErrorBody>('GET', path('open/down'));
      expect(response.status).toBe(503);
      expect(response.body.error).toMatch(/redis unreachable/);
      expect(response.headers.get('retry-after')).toBe('5');
    } finally {
      await server.close();
      down.disconnect();
    }
  });
});
