/**
 * Token mode over both socket protocols: who may open, read and write a document, what
 * reaches the other clients and the database, and how a revoked session, a removed
 * membership or a second Auth message change a live connection. Real PostgreSQL, real
 * JWTs (jose), raw frames.
 */
import { base64url } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { InProcessAccessEvents } from '../../server/auth/access-events.js';
import { InProcessSessionStore } from '../../server/auth/session-store.js';
import { Tokens } from '../../server/auth/tokens.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { authFrame, awarenessFrame, encodeAwareness, step1Frame, Sync, updateFrame } from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { sleep, waitFor } from '../helpers/wait.js';

const SECRET = 'socket-access-secret-0123456789abcdef';
const tokens = new Tokens(SECRET);
const sessions = new InProcessSessionStore();
const accessEvents = new InProcessAccessEvents();
let database: TestDatabase;
let sql: pg.Client;
let server: RunningServer;

const ids = {
  owner: '10000000-0000-4000-8000-000000000001',
  editor: '10000000-0000-4000-8000-000000000002',
  viewer: '10000000-0000-4000-8000-000000000003',
  outsider: '10000000-0000-4000-8000-000000000004',
  ghost: '10000000-0000-4000-8000-0000000000ff',
  private: '20000000-0000-4000-8000-000000000001',
  public: '20000000-0000-4000-8000-000000000002',
};

beforeAll(async () => {
  database = await createTestDatabase('socketauth');
  server = await startServer({
    config: {
      port: 0,
      host: '127.0.0.1',
      databaseUrl: database.url,
      storage: 'durable',
      transport: 'uws',
      logLevel: 'silent',
      authSecret: SECRET,
    },
    sessions,
    accessEvents,
  });
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  await sql.query(`
    insert into users (id, email, name) values
      ('${ids.owner}', 'owner@example.org', 'Owner'), ('${ids.editor}', 'editor@example.org', 'Editor'),
      ('${ids.viewer}', 'viewer@example.org', 'Viewer'), ('${ids.outsider}', 'outsider@example.org', 'Outsider');
    insert into projects (id, name, owner_id, visibility) values
      ('${ids.private}', 'Private', '${ids.owner}', 'private'), ('${ids.public}', 'Public', '${ids.owner}', 'public');
    insert into project_members (project_id, user_id, role) values
      ('${ids.private}', '${ids.owner}', 'owner'), ('${ids.private}', '${ids.editor}', 'editor'),
      ('${ids.private}', '${ids.viewer}', 'viewer'), ('${ids.public}', '${ids.owner}', 'owner');
    insert into documents (project_id, name, kind) values
      ('${ids.private}', 'private-paper', 'paper'), ('${ids.public}', 'public-paper', 'paper');`);
});

afterAll(async () => {
  RawClient.terminateAll();
  await server.close();
  await sql.end();
  await database.drop();
});

const token = async (user: keyof typeof ids, ttlSeconds?: number) => (await tokens.mint(ids[user], ttlSeconds)).token;
const noneToken = () =>
  `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url.encode(JSON.stringify({ sub: ids.owner, jti: 'x', exp: Math.floor(Date.now() / 1000) + 600 }))}.`;

/** Hocuspocus: Auth + SyncStep1; resolves with the auth answer. */
async function open(
  name: string,
  tokenValue: string,
  client?: RawClient,
): Promise<{ client: RawClient; answer: { authType: number; text: string | null } }> {
  const c = client ?? (await RawClient.connect(server.port));
  const before = c.framesFor(name).filter((f) => f.kind === 'auth').length;
  c.send(authFrame(name, tokenValue, '4.8.0'));
  c.send(step1Frame(name, Y.encodeStateVector(c.doc(name))));
  const answer = await waitFor(() => c.framesFor(name).filter((f) => f.kind === 'auth')[before], 10_000, `auth answer for ${name}`);
  if (answer.kind !== 'auth') throw new Error('unreachable');
  if (answer.authType === 2) await c.waitForFrame((f) => f.kind === 'sync' && f.name === name && f.sub === Sync.Step2, 10_000, 'SyncStep2');
  return { client: c, answer };
}

const acks = (client: RawClient, name: string) => client.acks(name);
const rowsBy = async (user: keyof typeof ids) =>
  Number((await sql.query<{ n: string }>('select count(*) as n from collaborations where user_id = $1', [ids[user]])).rows[0]!.n);

describe('token mode, Hocuspocus', () => {
  it('owner and editor write: acked after commit, relayed, stored with their user id', async () => {
    const { client: observer } = await open('private-paper', await token('owner'));
    for (const user of ['owner', 'editor'] as const) {
      const { client, answer } = await open('private-paper', await token(user));
      expect(answer).toMatchObject({ authType: 2, text: 'read-write' });
      client.send(updateFrame('private-paper', textUpdate(client.doc('private-paper'), `${user};`)));
      await waitFor(() => acks(client, 'private-paper').length === 1, 10_000, `${user} ack`);
      expect(acks(client, 'private-paper')).toEqual([1]);
      await waitFor(() => observer.text('private-paper').includes(`${user};`), 5_000, `observer sees ${user}`);
      expect(await rowsBy(user)).toBeGreaterThan(0);
    }
  });

  it('a viewer reads, its updates get SyncStatus 0 and reach neither the others nor the database; its awareness is relayed', async () => {
    const { client: observer } = await open('private-paper', await token('owner'));
    const { client: viewer, answer } = await open('private-paper', await token('viewer'));
    expect(answer).toMatchObject({ authType: 2, text: 'readonly' });
    expect(viewer.text('private-paper')).toContain('owner;');
    const seen = observer.text('private-paper');
    viewer.send(updateFrame('private-paper', textUpdate(viewer.doc('private-paper'), 'viewer wrote this')));
    await waitFor(() => acks(viewer, 'private-paper').length === 1, 5_000, 'viewer ack');
    expect(acks(viewer, 'private-paper')).toEqual([0]);
    viewer.send(awarenessFrame('private-paper', encodeAwareness([{ clientId: 4242, clock: 1, state: { user: 'viewer' } }])));
    await observer.waitForFrame((f) => f.kind === 'awareness' && f.name === 'private-paper', 5_000, 'viewer awareness relayed');
    await sleep(200);
    expect(observer.text('private-paper')).toBe(seen);
    expect(await rowsBy('viewer')).toBe(0);
  });

  it('an outsider is denied a private document, and may read a public one', async () => {
    const outsider = await token('outsider');
    const denied = await open('private-paper', outsider);
    expect(denied.answer).toMatchObject({ authType: 1, text: 'no access to document "private-paper"' });
    await waitFor(
      async () =>
        (
          await sql.query(
            `select 1 from audit_logs where action = 'permission.denied' and resource_id = 'private-paper'
                and details->>'via' = 'socket' and details->>'reason' = 'no access to document "private-paper"'`,
          )
        ).rows.length === 1,
      5_000,
      'the denial in the audit log',
    );
    const publicOpen = await open('public-paper', outsider, denied.client);
    expect(publicOpen.answer).toMatchObject({ authType: 2, text: 'readonly' });
    expect(denied.client.isOpen).toBe(true);
  });

  it.each([
    ['an expired token', async () => token('owner', -10), 'token expired'],
    [
      'a token signed with another secret',
      async () => (await new Tokens('another-secret-0123456789abcdef').mint(ids.owner)).token,
      'invalid token: bad signature',
    ],
    ['an alg: none token', async () => noneToken(), 'invalid token: algorithm not allowed'],
    ['a token for no user', async () => token('ghost'), 'unknown user'],
    ['an empty token', async () => '', 'authentication required: no token'],
    ['garbage', async () => 'not.a.jwt', 'invalid token'],
  ])('refuses %s with a clear reason', async (_what, make, reason) => {
    const { client, answer } = await open('private-paper', await make());
    expect(answer).toMatchObject({ authType: 1, text: reason });
    expect(client.isOpen).toBe(true);
  });

  it('never creates a document in token mode, not even for an owner', async () => {
    const { answer } = await open('not-created', await token('owner'));
    expect(answer).toMatchObject({ authType: 1, text: 'no document named "not-created"' });
    expect((await sql.query('select 1 from documents where name = $1', ['not-created'])).rows).toHaveLength(0);
  });

  it('checks each document opened later on the same socket on its own', async () => {
    const { client } = await open('public-paper', await token('viewer'));
    const second = await open('private-paper', await token('viewer'), client);
    expect(second.answer).toMatchObject({ authType: 2, text: 'readonly' });
    const third = await open('private-paper\0two', await token('outsider'), client);
    expect(third.answer.authType).toBe(1);
  });
});

describe('token mode, y-websocket', () => {
  const connect = async (name: string, tokenValue: string) => {
    const client = await RawClient.connect(server.port, `/y/${encodeURIComponent(name)}?token=${encodeURIComponent(tokenValue)}`);
    client.send(step1Frame(null, new Uint8Array([0])));
    return client;
  };

  it('an editor writes and is stored; a viewer reads and its writes are not applied', async () => {
    const editor = await connect('private-paper', await token('editor'));
    await waitFor(() => editor.text(null).includes('owner;'), 5_000, 'editor synced');
    const viewer = await connect('private-paper', await token('viewer'));
    await waitFor(() => viewer.text(null).includes('owner;'), 5_000, 'viewer synced');
    viewer.send(updateFrame(null, textUpdate(viewer.doc(null), 'y-viewer wrote this')));
    editor.send(updateFrame(null, textUpdate(editor.doc(null), 'y-editor;')));
    await waitFor(() => viewer.text(null).includes('y-editor;'), 5_000, 'editor edit relayed');
    await sleep(200);
    expect(editor.text(null)).not.toContain('y-viewer');
    expect(await rowsBy('viewer')).toBe(0);
  });

  it.each([
    ['an outsider', async () => token('outsider'), 'no access to document "private-paper"'],
    ['an expired token', async () => token('editor', -10), 'token expired'],
    ['no token', async () => '', 'authentication required: no token'],
  ])('closes %s with 4403 and the reason', async (_what, make, reason) => {
    const client = await connect('private-paper', await make());
    expect(await client.waitClose()).toEqual({ code: 4403, reason });
  });
});

describe('access taken away from live connections', () => {
  it('revoking a session closes its documents on both protocols, within the event', async () => {
    const minted = await tokens.mint(ids.editor);
    const { client } = await open('private-paper', minted.token);
    const y = await RawClient.connect(server.port, `/y/private-paper?token=${minted.token}`);
    await waitFor(() => y.frames.length > 0, 5_000, 'y-websocket open');
    const other = await open('private-paper', await token('editor'));

    await sessions.revoke(minted.claims.sessionId, Date.now() + 60_000);
    accessEvents.publish({ type: 'session-revoked', sessionId: minted.claims.sessionId });
    await client.waitForFrame(
      (f) => f.kind === 'auth' && f.authType === 1 && f.text === 'session revoked',
      5_000,
      'PermissionDenied on revoke',
    );
    expect(await y.waitClose()).toEqual({ code: 4403, reason: 'session revoked' });
    // The same user's other session is untouched; the revoked token cannot open again.
    expect(other.client.framesFor('private-paper').some((f) => f.kind === 'auth' && f.authType === 1)).toBe(false);
    expect((await open('public-paper', minted.token)).answer).toMatchObject({ authType: 1, text: 'session revoked' });
  });

  it("removing a membership closes the member's live documents of that project", async () => {
    await sql.query(`insert into users (id, email, name) values ('10000000-0000-4000-8000-000000000005', 'temp@example.org', 'Temp')`);
    await sql.query(
      `insert into project_members (project_id, user_id, role) values ('${ids.private}', '10000000-0000-4000-8000-000000000005', 'editor')`,
    );
    const temp = (await tokens.mint('10000000-0000-4000-8000-000000000005')).token;
    const { client, answer } = await open('private-paper', temp);
    expect(answer.authType).toBe(2);
    await sql.query(`delete from project_members where user_id = '10000000-0000-4000-8000-000000000005'`);
    accessEvents.publish({ type: 'membership-removed', userId: '10000000-0000-4000-8000-000000000005', projectId: ids.private });
    await client.waitForFrame((f) => f.kind === 'auth' && f.authType === 1, 5_000, 'PermissionDenied after removal');
    client.send(updateFrame('private-paper', textUpdate(client.doc('private-paper'), 'after removal')));
    await sleep(300);
    expect(await rowsBy('outsider')).toBe(0);
    expect(
      Number(
        (await sql.query(`select count(*) as n from collaborations where user_id = '10000000-0000-4000-8000-000000000005'`)).rows[0]!.n,
      ),
    ).toBe(0);
  });

  it('a role change event re-checks live documents: a demoted editor becomes read-only at once', async () => {
    await sql.query(
      `insert into users (id, email, name) values ('10000000-0000-4000-8000-000000000007', 'changed@example.org', 'Changed')`,
    );
    await sql.query(
      `insert into project_members (project_id, user_id, role) values ('${ids.private}', '10000000-0000-4000-8000-000000000007', 'editor')`,
    );
    const { client, answer } = await open('private-paper', (await tokens.mint('10000000-0000-4000-8000-000000000007')).token);
    expect(answer.text).toBe('read-write');
    await sql.query(`update project_members set role = 'viewer' where user_id = '10000000-0000-4000-8000-000000000007'`);
    accessEvents.publish({ type: 'membership-changed', userId: '10000000-0000-4000-8000-000000000007', projectId: ids.private });
    await client.waitForFrame((f) => f.kind === 'auth' && f.authType === 2 && f.text === 'readonly', 5_000, 'downgraded by the event');
  });

  it('a second Auth message re-checks the document: a demoted editor becomes read-only', async () => {
    await sql.query(
      `insert into users (id, email, name) values ('10000000-0000-4000-8000-000000000006', 'demoted@example.org', 'Demoted')`,
    );
    await sql.query(
      `insert into project_members (project_id, user_id, role) values ('${ids.private}', '10000000-0000-4000-8000-000000000006', 'editor')`,
    );
    const demoted = (await tokens.mint('10000000-0000-4000-8000-000000000006')).token;
    const { client, answer } = await open('private-paper', demoted);
    expect(answer.text).toBe('read-write');
    await sql.query(`update project_members set role = 'viewer' where user_id = '10000000-0000-4000-8000-000000000006'`);
    client.send(authFrame('private-paper', demoted, '4.8.0'));
    await client.waitForFrame((f) => f.kind === 'auth' && f.authType === 2 && f.text === 'readonly', 5_000, 'downgraded');
    client.send(updateFrame('private-paper', textUpdate(client.doc('private-paper'), 'as a viewer')));
    await waitFor(() => acks(client, 'private-paper').length === 1, 5_000, 'ack');
    expect(acks(client, 'private-paper')).toEqual([0]);
  });
});

describe('after a restart', () => {
  it('the document holds what owners and editors wrote and nothing a viewer, outsider or bad token sent', async () => {
    RawClient.terminateAll();
    await server.close();
    server = await startServer({
      config: {
        port: 0,
        host: '127.0.0.1',
        databaseUrl: database.url,
        storage: 'durable',
        transport: 'uws',
        logLevel: 'silent',
        authSecret: SECRET,
      },
      sessions,
      accessEvents,
    });
    const { client } = await open('private-paper', await token('owner'));
    const text = client.text('private-paper');
    for (const kept of ['owner;', 'editor;', 'y-editor;']) expect(text).toContain(kept);
    for (const refused of ['viewer wrote this', 'y-viewer wrote this', 'after removal', 'as a viewer']) expect(text).not.toContain(refused);
    const stored = await sql.query<{ user_id: string | null }>(
      `select distinct c.user_id from collaborations c join documents d on d.id = c.document_id where d.name = 'private-paper'`,
    );
    expect(stored.rows.map((row) => row.user_id).sort()).toEqual([ids.owner, ids.editor].sort());
  });
});
