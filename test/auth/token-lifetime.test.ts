/**
 * Review item 1: revocation forgotten on restart, tokens of any lifetime, expiry ignored on
 * open sockets. Real PostgreSQL and Redis (a prefix of this run's own), real JWTs, raw frames
 * and a real provider, on both socket protocols and HTTP.
 *
 * - A revoked session stays revoked across a restart of the server — without REDIS_URL (the
 *   revocation lived only in process memory) and with it, even when Redis lost its keys (Redis
 *   keeps nothing durable): revocations are stored in PostgreSQL (`revoked_sessions`).
 * - A token whose `exp - iat` passes MAX_TOKEN_TTL_SECONDS (default 24 h), or that has no
 *   `iat` or `exp`, or whose `iat` lies in the future, is refused when verified (a 10-year token
 *   used to verify, while a revocation lasted 24 h). The admin API and `npm run token` mint
 *   within the bound.
 * - At `exp` an open socket stops: Hocuspocus gets PermissionDenied `token expired` for the
 *   document (the socket stays), y-websocket is closed with 4403 `token expired`; an edit sent
 *   after that is not applied or stored. A Hocuspocus provider that sends a fresh token first (a
 *   second Auth message — the server asks for one before `exp`) keeps editing.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Tokens } from '../../server/auth/tokens.js';
import type { Config } from '../../server/config.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { authFrame, step1Frame, updateFrame } from '../helpers/frames.js';
import { destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { REDIS_URL, testRedis } from '../helpers/redis.js';
import { TRANSPORTS } from '../helpers/servers.js';
import { sleep, waitFor } from '../helpers/wait.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SECRET = 'token-lifetime-secret-0123456789abcdef';
const ADMIN = 'token-lifetime-admin-0123456789abcdef';
const tokens = new Tokens(SECRET);
const key = new TextEncoder().encode(SECRET);
const ids = {
  editor: '30000000-0000-4000-8000-000000000001',
  writer: '30000000-0000-4000-8000-000000000002',
  project: '40000000-0000-4000-8000-000000000001',
};
const DOC = 'lifetime-paper';

let database: TestDatabase;
let sql: pg.Client;
const servers = new Set<RunningServer>();

beforeAll(async () => {
  database = await createTestDatabase('toklife');
  // The first start runs the migrations.
  await boot('uws').then(stop);
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  await sql.query(`
    insert into users (id, email, name) values ('${ids.editor}', 'editor@example.org', 'Editor'), ('${ids.writer}', 'writer@example.org', 'Writer');
    insert into projects (id, name, owner_id, visibility) values ('${ids.project}', 'Lifetimes', '${ids.editor}', 'private');
    insert into project_members (project_id, user_id, role) values ('${ids.project}', '${ids.editor}', 'owner'), ('${ids.project}', '${ids.writer}', 'editor');
    insert into documents (project_id, name, kind) values ('${ids.project}', '${DOC}', 'paper');`);
});

afterEach(async () => {
  destroyProviders();
  RawClient.terminateAll();
  await Promise.all([...servers].map(stop));
});

afterAll(async () => {
  await sql?.end();
  await database?.drop();
});

function boot(transport: 'uws' | 'ws', extra: Partial<Config> = {}): Promise<RunningServer> {
  return startServer({
    config: {
      port: 0,
      host: '127.0.0.1',
      databaseUrl: database.url,
      storage: 'durable',
      transport,
      logLevel: 'silent',
      authSecret: SECRET,
      adminToken: ADMIN,
      ...extra,
    },
  }).then((server) => {
    servers.add(server);
    return server;
  });
}

async function stop(server: RunningServer): Promise<void> {
  servers.delete(server);
  await server.close();
}

async function http<T = Record<string, unknown>>(
  server: RunningServer,
  method: string,
  route: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const response = await fetch(`http://127.0.0.1:${server.port}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? null : JSON.parse(text)) as T };
}

/** Hocuspocus: Auth + SyncStep1 for DOC; resolves with the first Auth answer (Authenticated or PermissionDenied). */
async function openHocuspocus(server: RunningServer, token: string): Promise<{ client: RawClient; authType: number; text: string | null }> {
  const client = await RawClient.connect(server.port);
  client.send(authFrame(DOC, token, '4.8.0'));
  client.send(step1Frame(DOC, Y.encodeStateVector(client.doc(DOC))));
  const answer = await client.waitForFrame((f) => f.kind === 'auth' && f.authType !== 0, 10_000, 'auth answer');
  if (answer.kind !== 'auth') throw new Error('unreachable');
  return { client, authType: answer.authType, text: answer.text };
}

/** y-websocket: resolves once the server greeted (open) or closed the socket. */
async function openY(server: RunningServer, token: string): Promise<RawClient> {
  const client = await RawClient.connect(server.port, `/y/${encodeURIComponent(DOC)}?token=${encodeURIComponent(token)}`);
  client.send(step1Frame(null, new Uint8Array([0])));
  await waitFor(() => client.frames.length > 0 || client.closeInfo !== null, 10_000, 'y-websocket greeting or close');
  return client;
}

/** Signs arbitrary claims with the server's secret (what anyone holding AUTH_SECRET could mint). */
function sign(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key);
}

const now = () => Math.floor(Date.now() / 1000);
const storedRows = async (text: string) =>
  Number(
    (
      await sql.query<{ n: string }>(
        `select count(*) as n from collaborations c join documents d on d.id = c.document_id where d.name = $1 and position($2 in encode(c.update, 'escape')) > 0`,
        [DOC, text],
      )
    ).rows[0]!.n,
  );

describe('a revoked session stays revoked after a restart', () => {
  const redis = testRedis();
  afterAll(() => redis.cleanup());

  it.each([
    ['without REDIS_URL', false],
    ['with REDIS_URL, after Redis lost its keys too', true],
  ])('%s: Hocuspocus, y-websocket and HTTP refuse the token', async (_what, withRedis) => {
    const config: Partial<Config> = withRedis ? { redisUrl: REDIS_URL, redisPrefix: redis.prefix } : {};
    let server = await boot('uws', config);
    const minted = await http<{ token: string; sessionId: string }>(server, 'POST', '/api/admin/tokens', ADMIN, {
      userId: ids.editor,
      ttlSeconds: 3600,
    });
    expect(minted.status).toBe(201);
    const { token, sessionId } = minted.body;
    expect((await openHocuspocus(server, token)).authType).toBe(2);
    expect((await http(server, 'POST', `/api/admin/sessions/${sessionId}/revoke`, ADMIN)).status).toBe(204);
    expect(await openHocuspocus(server, token)).toMatchObject({ authType: 1, text: 'session revoked' });
    RawClient.terminateAll();
    await stop(server);
    if (withRedis) {
      // Redis keeps nothing durable (README): a Redis restart loses every key.
      const client = redis.client();
      const keys = await client.keys(`${redis.prefix}*`);
      if (keys.length > 0) await client.del(...keys.map((k) => k.slice(redis.prefix.length)));
      expect(await client.keys(`${redis.prefix}user:session:*`)).toEqual([]);
    }
    server = await boot('uws', config);
    expect(await openHocuspocus(server, token)).toMatchObject({ authType: 1, text: 'session revoked' });
    expect(await (await openY(server, token)).waitClose()).toEqual({ code: 4403, reason: 'session revoked' });
    expect(await http(server, 'GET', '/api/me', token)).toMatchObject({ status: 401, body: { error: 'session revoked' } });
    // Kept for as long as a token of that session could still be valid, no longer.
    const row = await sql.query<{ keep_until: Date }>('select keep_until from revoked_sessions where session_id = $1', [sessionId]);
    expect(row.rows).toHaveLength(1);
    const keptFor = row.rows[0]!.keep_until.getTime() - Date.now();
    expect(keptFor).toBeGreaterThan(23 * 3600_000);
    expect(keptFor).toBeLessThanOrEqual(24 * 3600_000 + 5 * 60_000);
  });

  it('with Redis unreachable, a revocation is stored (204) and holds on both protocols', async () => {
    const server = await boot('uws', { redisUrl: 'redis://127.0.0.1:1', redisPrefix: redis.prefix });
    const minted = await http<{ token: string; sessionId: string }>(server, 'POST', '/api/admin/tokens', ADMIN, {
      userId: ids.editor,
      ttlSeconds: 3600,
    });
    expect((await http(server, 'POST', `/api/admin/sessions/${minted.body.sessionId}/revoke`, ADMIN)).status).toBe(204);
    expect(await openHocuspocus(server, minted.body.token)).toMatchObject({ authType: 1, text: 'session revoked' });
    expect(await (await openY(server, minted.body.token)).waitClose()).toEqual({ code: 4403, reason: 'session revoked' });
  });

  it('expired revocations are purged', async () => {
    await sql.query(`insert into revoked_sessions (session_id, keep_until) values ('long-gone', now() - interval '1 minute')`);
    const server = await boot('uws');
    await waitFor(
      async () => (await sql.query(`select 1 from revoked_sessions where session_id = 'long-gone'`)).rows.length === 0,
      10_000,
      'purged at start',
    );
    await stop(server);
  });
});

describe('the token lifetime is bounded at verification (MAX_TOKEN_TTL_SECONDS)', () => {
  const cases: Array<[string, () => Promise<string>, string]> = [
    [
      'a 10-year token',
      () => sign({ sub: ids.editor, jti: crypto.randomUUID(), iat: now(), exp: now() + 10 * 365 * 86_400 }),
      'invalid token: lifetime longer than 86400 s (MAX_TOKEN_TTL_SECONDS)',
    ],
    [
      'a token one second over 24 h',
      () => sign({ sub: ids.editor, jti: crypto.randomUUID(), iat: now(), exp: now() + 86_401 }),
      'invalid token: lifetime longer than 86400 s (MAX_TOKEN_TTL_SECONDS)',
    ],
    [
      'a token without iat',
      () => sign({ sub: ids.editor, jti: crypto.randomUUID(), exp: now() + 600 }),
      'invalid token: no issue time (iat)',
    ],
    ['a token without exp', () => sign({ sub: ids.editor, jti: crypto.randomUUID(), iat: now() }), 'invalid token: no expiry (exp)'],
    [
      'a token issued in the future (to stretch exp - iat)',
      () => sign({ sub: ids.editor, jti: crypto.randomUUID(), iat: now() + 30 * 86_400, exp: now() + 30 * 86_400 + 3600 }),
      'invalid token: issued in the future (iat)',
    ],
  ];

  it.each(cases)('refuses %s on Hocuspocus, y-websocket and HTTP', async (_what, make, reason) => {
    const server = await boot('uws');
    const token = await make();
    expect(await openHocuspocus(server, token)).toMatchObject({ authType: 1, text: reason });
    const y = await openY(server, token);
    expect(await y.waitClose()).toEqual({ code: 4403, reason });
    expect(await http(server, 'GET', '/api/me', token)).toMatchObject({ status: 401, body: { error: reason } });
  });

  it('accepts exactly the bound, and a lower MAX_TOKEN_TTL_SECONDS bounds verification and the admin API', async () => {
    let server = await boot('uws');
    const day = await sign({ sub: ids.editor, jti: crypto.randomUUID(), iat: now(), exp: now() + 86_400 });
    expect((await openHocuspocus(server, day)).authType).toBe(2);
    await stop(server);

    server = await boot('uws', { maxTokenTtlSeconds: 600 } as Partial<Config>);
    expect(await openHocuspocus(server, day)).toMatchObject({
      authType: 1,
      text: 'invalid token: lifetime longer than 600 s (MAX_TOKEN_TTL_SECONDS)',
    });
    const minted = await http<{ token: string; expiresAt: string }>(server, 'POST', '/api/admin/tokens', ADMIN, { userId: ids.editor });
    expect(minted.status).toBe(201);
    expect(Date.parse(minted.body.expiresAt) - Date.now()).toBeLessThanOrEqual(600_000);
    expect((await openHocuspocus(server, minted.body.token)).authType).toBe(2);
    const tooLong = await http<{ error: string }>(server, 'POST', '/api/admin/tokens', ADMIN, { userId: ids.editor, ttlSeconds: 601 });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error).toMatch(/^ttlSeconds: /);
  });

  it('`npm run token` mints within MAX_TOKEN_TTL_SECONDS and refuses a longer --ttl', async () => {
    const run = promisify(execFile);
    const cli = path.join(ROOT, 'dist', 'cli', 'token.js');
    const env = { ...process.env, AUTH_SECRET: SECRET, MAX_TOKEN_TTL_SECONDS: '600' };
    const { stdout } = await run(process.execPath, [cli, '--user', ids.editor], { env });
    const [, payload] = stdout.trim().split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { iat: number; exp: number };
    expect(claims.exp - claims.iat).toBe(600);
    const refused = await run(process.execPath, [cli, '--user', ids.editor, '--ttl', '601'], { env }).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    expect(refused?.code).toBe(2);
    expect(refused?.stderr).toMatch(/--ttl/);
  });
});

describe.each(TRANSPORTS)('a token that expires on an open socket (%s)', (transport) => {
  it('Hocuspocus: PermissionDenied "token expired" at exp, the socket stays, later edits are neither applied nor stored', async () => {
    const server = await boot(transport);
    const { token } = await tokens.mint(ids.writer, 3);
    const { client, authType } = await openHocuspocus(server, token);
    expect(authType).toBe(2);
    client.send(updateFrame(DOC, textUpdate(client.doc(DOC), `<${transport}>before-exp;`)));
    await waitFor(() => client.acks(DOC).length === 1, 5_000, 'ack before exp');
    expect(client.acks(DOC)).toEqual([1]);
    const denied = await client.waitForFrame((f) => f.kind === 'auth' && f.authType === 1, 5_000, 'PermissionDenied at exp');
    expect(denied).toMatchObject({ text: 'token expired' });
    expect(client.isOpen).toBe(true);
    client.send(updateFrame(DOC, textUpdate(client.doc(DOC), `<${transport}>after-exp;`)));
    await sleep(500);
    expect(client.acks(DOC)).toEqual([1]);
    expect(await storedRows(`<${transport}>before-exp;`)).toBe(1);
    expect(await storedRows(`<${transport}>after-exp;`)).toBe(0);
  });

  it('y-websocket: closed with 4403 "token expired" at exp; nothing sent after it is stored', async () => {
    const server = await boot(transport);
    const { token } = await tokens.mint(ids.writer, 3);
    const y = await openY(server, token);
    expect(y.closeInfo).toBeNull();
    y.send(updateFrame(null, textUpdate(y.doc(null), `<${transport}>y-before-exp;`)));
    await waitFor(async () => (await storedRows(`<${transport}>y-before-exp;`)) === 1, 5_000, 'stored before exp');
    expect(await y.waitClose(5_000)).toEqual({ code: 4403, reason: 'token expired' });
  });

  it('Hocuspocus: the server asks for a token before exp; a second Auth with a fresh one keeps the document open and writable', async () => {
    const server = await boot(transport);
    const { token, claims } = await tokens.mint(ids.writer, 3);
    const { client } = await openHocuspocus(server, token);
    // A token request (Auth type 0, no token), before exp.
    await client.waitForFrame((f) => f.kind === 'auth' && f.authType === 0 && f.name === DOC, 5_000, 'token request');
    expect(Date.now()).toBeLessThan(claims.expiresAt);
    client.send(authFrame(DOC, (await tokens.mint(ids.writer, 60)).token, '4.8.0'));
    await waitFor(() => client.frames.filter((f) => f.kind === 'auth' && f.authType === 2).length === 2, 5_000, 'refreshed');
    await sleep(Math.max(0, claims.expiresAt - Date.now()) + 500); // past the first token's exp
    client.send(updateFrame(DOC, textUpdate(client.doc(DOC), `<${transport}>refreshed;`)));
    await waitFor(() => client.acks(DOC).length === 1, 5_000, 'ack after the first exp');
    expect(client.acks(DOC)).toEqual([1]);
    expect(client.frames.some((f) => f.kind === 'auth' && f.authType === 1)).toBe(false);
    expect(await storedRows(`<${transport}>refreshed;`)).toBe(1);
  });

  it('a real HocuspocusProvider with a token function is asked for a fresh token before exp and keeps editing', async () => {
    const server = await boot(transport);
    let asked = 0;
    const doc = new Y.Doc();
    const failures: string[] = [];
    const provider = hocuspocusProvider(server.port, DOC, doc, {
      token: async () => {
        asked++;
        return (await tokens.mint(ids.writer, 3)).token;
      },
      onAuthenticationFailed: ({ reason }: { reason: string }) => failures.push(reason),
    });
    await waitFor(() => provider.isSynced, 10_000, 'provider synced');
    doc.getText('text').insert(0, `<${transport}>provider-1;`);
    await waitFor(() => provider.unsyncedChanges === 0, 5_000, 'first edit acknowledged');
    await sleep(4_000); // past the first token's exp
    doc.getText('text').insert(0, `<${transport}>provider-2;`);
    await waitFor(() => provider.unsyncedChanges === 0, 5_000, 'edit after the first exp acknowledged');
    expect(failures).toEqual([]);
    expect(asked).toBeGreaterThanOrEqual(2);
    expect(await storedRows(`<${transport}>provider-2;`)).toBe(1);
  });
});
