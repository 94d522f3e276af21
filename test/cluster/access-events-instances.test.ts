/**
 * Access taken away on one instance closes connections on another: two server processes
 * in token mode behind one Redis (own prefix) and one PostgreSQL database. Through
 * instance A's admin API a session is revoked and a membership removed; the user's
 * documents open on instance B are closed (PermissionDenied), nothing else is.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { authFrame, step1Frame, Sync } from '../helpers/frames.js';
import { RawClient } from '../helpers/raw-client.js';
import { REDIS_URL } from '../helpers/redis.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { apiClient } from '../helpers/http.js';

const ADMIN = 'admin-access-instances-0123456789abcdef';
let database: TestDatabase;
let a: ChildServer;
let b: ChildServer;

beforeAll(async () => {
  database = await createTestDatabase('accessinst');
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL,
    REDIS_PREFIX: `scr-test-${randomBytes(4).toString('hex')}:`,
    AUTH_SECRET: 'access-instances-secret-0123456789abcdef',
    ADMIN_TOKEN: ADMIN,
  };
  // One at a time: both would run the migrations.
  a = await startChildServer(env);
  b = await startChildServer(env);
}, 60_000);

afterAll(async () => {
  RawClient.terminateAll();
  await Promise.all([a?.stop(), b?.stop()]);
  await database?.drop();
});

/** An admin call on instance A; throws unless it answered `status`. */
async function admin<T = Record<string, unknown>>(method: string, path: string, body: unknown, status: number): Promise<T> {
  const response = await apiClient(() => a.port)<T>(method, path, { token: ADMIN, body });
  if (response.status !== status) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

/** Opens `name` on instance B with `token` over one Hocuspocus socket; resolves once synced. */
async function openOnB(client: RawClient, name: string, token: string): Promise<void> {
  client.send(authFrame(name, token, '4.8.0'));
  client.send(step1Frame(name, Y.encodeStateVector(client.doc(name))));
  const answer = await waitFor(() => client.framesFor(name).find((f) => f.kind === 'auth'), 10_000, `auth answer for ${name}`);
  expect(answer).toMatchObject({ authType: 2 });
  await client.waitForFrame((f) => f.kind === 'sync' && f.name === name && f.sub === Sync.Step2, 10_000, 'SyncStep2');
}

const denied = (client: RawClient, name: string) => client.framesFor(name).filter((f) => f.kind === 'auth' && f.authType === 1);

describe('access events across instances', () => {
  it("a session revoked through A closes its document on B; the user's other session stays", async () => {
    const owner = await admin<{ id: string }>('POST', '/api/admin/users', { email: 'owner@example.org', name: 'Owner' }, 201);
    const project = await admin<{ id: string }>('POST', '/api/admin/projects', { name: 'Lab', ownerId: owner.id }, 201);
    await admin('POST', '/api/admin/documents', { projectId: project.id, name: 'revoked-paper', kind: 'paper' }, 201);
    const revoked = await admin<{ token: string; sessionId: string }>('POST', '/api/admin/tokens', { userId: owner.id }, 201);
    const kept = await admin<{ token: string }>('POST', '/api/admin/tokens', { userId: owner.id }, 201);
    const onB = await RawClient.connect(b.port);
    await openOnB(onB, 'revoked-paper', revoked.token);
    const otherOnB = await RawClient.connect(b.port);
    await openOnB(otherOnB, 'revoked-paper', kept.token);

    await admin('POST', `/api/admin/sessions/${revoked.sessionId}/revoke`, undefined, 204);
    await waitFor(() => denied(onB, 'revoked-paper').length === 1, 5_000, 'PermissionDenied on B');
    expect(denied(onB, 'revoked-paper')[0]).toMatchObject({ text: 'session revoked' });
    await sleep(200);
    expect(denied(otherOnB, 'revoked-paper')).toEqual([]);
  });

  it("a membership removed through A closes the member's documents of that project on B, and only those", async () => {
    const owner = await admin<{ id: string }>('POST', '/api/admin/users', { email: 'owner2@example.org', name: 'Owner 2' }, 201);
    const member = await admin<{ id: string }>('POST', '/api/admin/users', { email: 'member@example.org', name: 'Member' }, 201);
    const lab = await admin<{ id: string }>('POST', '/api/admin/projects', { name: 'Lab 2', ownerId: owner.id }, 201);
    const other = await admin<{ id: string }>('POST', '/api/admin/projects', { name: 'Other lab', ownerId: owner.id }, 201);
    for (const project of [lab, other])
      await admin('POST', `/api/admin/projects/${project.id}/members`, { userId: member.id, role: 'editor' }, 204);
    await admin('POST', '/api/admin/documents', { projectId: lab.id, name: 'lab-one', kind: 'paper' }, 201);
    await admin('POST', '/api/admin/documents', { projectId: lab.id, name: 'lab-two', kind: 'paper' }, 201);
    await admin('POST', '/api/admin/documents', { projectId: other.id, name: 'other-one', kind: 'paper' }, 201);
    const { token } = await admin<{ token: string }>('POST', '/api/admin/tokens', { userId: member.id }, 201);
    const onB = await RawClient.connect(b.port);
    for (const name of ['lab-one', 'lab-two', 'other-one']) await openOnB(onB, name, token);

    await admin('DELETE', `/api/admin/projects/${lab.id}/members/${member.id}`, undefined, 204);
    await waitFor(
      () => denied(onB, 'lab-one').length === 1 && denied(onB, 'lab-two').length === 1,
      5_000,
      'PermissionDenied on B for both documents of the project',
    );
    expect(denied(onB, 'lab-one')[0]).toMatchObject({ text: 'no access to document "lab-one"' });
    await sleep(200);
    expect(denied(onB, 'other-one')).toEqual([]);
    expect(onB.closeInfo).toBeNull();
  });
});
