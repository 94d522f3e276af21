/**
 * The HTTP API and the one access rule, in token mode on PostgreSQL: each request's token is
 * verified once, and the rate limit counts the user that verification found; creating a
 * document asks the server's Authorizer like any other access; the admin API takes its time
 * from the server's Clock.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AccessAction, Authorizer, NewDocument } from '../../server/auth/authorizer.js';
import { PermissionDeniedError } from '../../server/auth/authorizer.js';
import { ProjectAuthorizer } from '../../server/auth/project-authorizer.js';
import { InProcessSessionStore } from '../../server/auth/session-store.js';
import { CLOCK_SKEW_SECONDS, Tokens } from '../../server/auth/tokens.js';
import { systemClock, type Clock } from '../../server/clock.js';
import { createProject, createUser, setMember } from '../../server/persistence/accounts.js';
import type { Db } from '../../server/persistence/db.js';
import { createPgDb } from '../../server/persistence/pg-db.js';
import type { DocumentRef } from '../../server/persistence/storage.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { apiClient, type ErrorBody } from '../helpers/http.js';
import { createTestDatabase, logger, type TestDatabase } from '../helpers/storage.js';

const SECRET = 'test-secret-request-auth-0123456789abcdef';
const ADMIN = 'admin-request-auth-0123456789abcdef';
const LIMIT = 5;
const MAX_TTL_SECONDS = 3600;
/** The servers' time stands still: whatever depends on it can be computed exactly. */
const FROZEN = Math.floor(Date.now() / 1000) * 1000;
const clock: Clock = { ...systemClock, now: () => FROZEN };

let database: TestDatabase;
let db: Db;
const tokens = new Tokens(SECRET, MAX_TTL_SECONDS, clock);
const users = {} as Record<'owner' | 'viewer', string>;
const bearer = {} as Record<'owner' | 'viewer', string>;
let project: string;

const config = (overrides: Record<string, unknown> = {}) => ({
  port: 0,
  host: '127.0.0.1',
  storage: 'durable' as const,
  databaseUrl: database.url,
  authSecret: SECRET,
  adminToken: ADMIN,
  maxTokenTtlSeconds: MAX_TTL_SECONDS,
  httpRateLimitPerMinute: LIMIT,
  transport: 'ws' as const,
  logLevel: 'silent' as const,
  ...overrides,
});

beforeAll(async () => {
  database = await createTestDatabase('reqauth');
  // The server migrates the database; the rows below are written once it has.
  const migrating = await startServer({ config: config(), clock });
  await migrating.close();
  db = createPgDb({ connectionString: database.url, logger, max: 2 });
  for (const who of ['owner', 'viewer'] as const) {
    users[who] = (await createUser(db, { email: `${who}@example.org`, name: who }))!.id;
    bearer[who] = (await tokens.mint(users[who])).token;
  }
  project = (await createProject(db, { name: 'Lab', ownerId: users.owner, visibility: 'private' }))!.id;
  await setMember(db, project, users.viewer, 'viewer');
});
afterAll(async () => {
  await db?.close();
  await database?.drop();
});

describe('the server’s own authorizer', () => {
  let server: RunningServer;
  const api = apiClient(() => server.port);
  beforeAll(async () => {
    server = await startServer({ config: config(), clock });
  });
  afterAll(async () => {
    await server?.close();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('verifies a request’s token once: the rate limit and the route share it', async () => {
    const verify = vi.spyOn(Tokens.prototype, 'verify');
    expect(await api('GET', '/api/me', { token: bearer.owner })).toMatchObject({ status: 200, body: { id: users.owner } });
    expect(verify).toHaveBeenCalledTimes(1);
    expect((await api('GET', '/api/me', { token: 'not.a.jwt' })).status).toBe(401);
    expect(verify).toHaveBeenCalledTimes(2);
    expect(
      (await api('POST', '/api/documents', { token: bearer.owner, body: { name: 'once/paper', kind: 'paper', projectId: project } }))
        .status,
    ).toBe(201);
    expect(verify).toHaveBeenCalledTimes(3);
  });

  it('counts each verified user on their own, per route; a refused token counts against its address', async () => {
    const statuses = async (token: string, n: number) => {
      const answered: number[] = [];
      for (let i = 0; i < n; i++) answered.push((await api('GET', '/api/projects', { token })).status);
      return answered;
    };
    expect(await statuses(bearer.owner, LIMIT + 1)).toEqual([...Array<number>(LIMIT).fill(200), 429]);
    expect(await statuses(bearer.viewer, 1)).toEqual([200]);
    expect(await statuses('not.a.jwt', LIMIT + 1)).toEqual([...Array<number>(LIMIT).fill(401), 429]);
    expect(await statuses(bearer.viewer, 1)).toEqual([200]);
  });

  it('keeps a revocation until the server’s clock says no token of the session can be valid', async () => {
    const sessionId = crypto.randomUUID();
    expect((await api('POST', `/api/admin/sessions/${sessionId}/revoke`, { token: ADMIN })).status).toBe(204);
    const { rows } = await db.query<{ until: number }>(
      'select extract(epoch from keep_until) * 1000 as until from revoked_sessions where session_id = $1',
      [sessionId],
    );
    expect(Number(rows[0]!.until)).toBe(FROZEN + (MAX_TTL_SECONDS + CLOCK_SKEW_SECONDS) * 1000);
  });
});

describe('creating a document over HTTP asks the Authorizer', () => {
  let server: RunningServer;
  const api = apiClient(() => server.port);
  const asked: Array<{ action: AccessAction; projectId: string | null }> = [];

  beforeAll(async () => {
    const sessions = new InProcessSessionStore();
    const projectRoles = new ProjectAuthorizer(db, tokens, sessions, clock);
    // The server's rule, and one more: nothing named "refused/…" may be created.
    const authorizer: Authorizer = {
      authenticate: (token) => projectRoles.authenticate(token),
      revalidate: (principal) => projectRoles.revalidate(principal),
      authorize: (principal, name, document: DocumentRef | NewDocument, action) => {
        asked.push({ action, projectId: document.projectId });
        if (action === 'create' && name.startsWith('refused/'))
          return Promise.reject(new PermissionDeniedError(`the policy refuses ${JSON.stringify(name)}`));
        return projectRoles.authorize(principal, name, document, action);
      },
    };
    server = await startServer({ config: config({ httpRateLimitPerMinute: 1000 }), clock, authorizer, sessions });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('an owner is refused what the authorizer refuses (403, audited) and gets what it grants (201)', async () => {
    const refused = await api<ErrorBody>('POST', '/api/documents', {
      token: bearer.owner,
      body: { name: 'refused/paper', kind: 'paper', projectId: project },
    });
    expect(refused).toMatchObject({ status: 403, body: { error: 'the policy refuses "refused/paper"' } });
    const { rows } = await db.query(
      `select resource_type, resource_id from audit_logs where action = 'permission.denied' and details->>'reason' = $1`,
      ['the policy refuses "refused/paper"'],
    );
    expect(rows).toEqual([{ resource_type: 'project', resource_id: project }]);

    asked.length = 0;
    const created = await api('POST', '/api/documents', {
      token: bearer.owner,
      body: { name: 'granted/tree', kind: 'research_tree', projectId: project },
    });
    expect(created).toMatchObject({ status: 201, body: { name: 'granted/tree', kind: 'research_tree' } });
    expect(asked).toEqual([{ action: 'create', projectId: project }]);
  });

  it('a viewer is refused by the role rule, as before', async () => {
    const viewer = await api<ErrorBody>('POST', '/api/documents', {
      token: bearer.viewer,
      body: { name: 'granted/by viewer', kind: 'paper', projectId: project },
    });
    expect(viewer).toMatchObject({
      status: 403,
      body: { error: 'creating documents needs the owner or editor role in the project (you are a viewer)' },
    });
  });
});
