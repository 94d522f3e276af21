/**
 * What the lifecycle tests share: token-mode instances on one PostgreSQL database and one
 * Redis prefix (so access events and edits cross between them), and a project with an
 * owner, an editor, a viewer and an outsider, each with a token.
 */
import { randomBytes } from 'node:crypto';
import { startServer, type RunningServer } from '../../server/server.js';
import type { Config } from '../../server/config.js';
import { apiClient, type ApiResponse } from '../helpers/http.js';
import { REDIS_URL } from '../helpers/redis.js';

export const ADMIN = 'admin-lifecycle-0123456789abcdef';
export const SECRET = 'lifecycle-secret-0123456789abcdef';

export type Who = 'owner' | 'editor' | 'viewer' | 'outsider';
export const EVERYONE: readonly Who[] = ['owner', 'editor', 'viewer', 'outsider'];

export interface World {
  readonly users: Record<Who, string>;
  readonly tokens: Record<Who, string>;
  /** Private: the owner owns it, the editor and viewer are members, the outsider is not. */
  readonly project: string;
}

/** Instances sharing `databaseUrl` and one fresh Redis prefix (token mode unless `open`). */
export async function startInstances(databaseUrl: string, count: number, overrides: Partial<Config> = {}): Promise<RunningServer[]> {
  const prefix = `scr-test-life-${randomBytes(4).toString('hex')}:`;
  const started: RunningServer[] = [];
  // One at a time: each runs the migrations.
  for (let i = 0; i < count; i++) {
    started.push(
      await startServer({
        config: {
          port: 0,
          host: '127.0.0.1',
          storage: 'durable',
          databaseUrl,
          redisUrl: REDIS_URL,
          redisPrefix: prefix,
          authSecret: SECRET,
          adminToken: ADMIN,
          transport: 'uws',
          logLevel: (process.env.LIFECYCLE_LOG ?? 'silent') as 'silent',
          ...overrides,
        },
      }),
    );
  }
  return started;
}

/** `api(method, path, {token, body})` on `server`; throws unless the answer has `status`. */
export async function expectStatus<T = Record<string, unknown>>(
  server: RunningServer,
  status: number,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<T> {
  const response: ApiResponse<T> = await apiClient(() => server.port)<T>(method, path, options);
  if (response.status !== status)
    throw new Error(`${method} ${path}: expected ${status}, got ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

/** Users, tokens and a private project, through `server`'s admin API. */
export async function createWorld(server: RunningServer, label: string): Promise<World> {
  const admin = <T>(method: string, path: string, body: unknown, status = 201) =>
    expectStatus<T>(server, status, method, path, { token: ADMIN, body });
  const users = {} as Record<Who, string>;
  const tokens = {} as Record<Who, string>;
  for (const who of EVERYONE) {
    users[who] = (await admin<{ id: string }>('POST', '/api/admin/users', { email: `${who}-${label}@example.org`, name: `The ${who}` })).id;
    tokens[who] = (await admin<{ token: string }>('POST', '/api/admin/tokens', { userId: users[who] })).token;
  }
  const project = (await admin<{ id: string }>('POST', '/api/admin/projects', { name: `Lab ${label}`, ownerId: users.owner })).id;
  await admin('POST', `/api/admin/projects/${project}/members`, { userId: users.editor, role: 'editor' }, 204);
  await admin('POST', `/api/admin/projects/${project}/members`, { userId: users.viewer, role: 'viewer' }, 204);
  return { users, tokens, project };
}

/** Creates a paper in the world's project as its owner. */
export async function createPaper(
  server: RunningServer,
  world: World,
  name: string,
  kind: 'paper' | 'research_tree' = 'paper',
): Promise<{ id: string }> {
  return expectStatus<{ id: string }>(server, 201, 'POST', '/api/documents', {
    token: world.tokens.owner,
    body: { name, kind, projectId: world.project },
  });
}

export const documentPath = (name: string) => `/api/documents/${encodeURIComponent(name)}`;
