/**
 * `GET /api/openapi.json` against a real server (token mode, PostgreSQL): served without a
 * token; valid OpenAPI 3.1 in its structure (operations, parameters, responses, every $ref
 * resolves); every route the server answers is in it (each route of the contract's table,
 * and each path it lists is answered); and its schemas are what the validators accept — a
 * body built from the document's schema is accepted by the route, one it rules out is 400.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { apiClient } from '../helpers/http.js';

const SECRET = 'test-secret-http-openapi-0123456789abcdef';
const ADMIN = 'admin-http-openapi-0123456789abcdef';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

type Json = Record<string, unknown>;
interface Operation {
  summary: string;
  security: Json[];
  parameters?: Array<{ name: string; in: string; required: boolean; schema: Json }>;
  requestBody?: { required: boolean; content: Record<string, { schema: Json }> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: Json }> }>;
}
interface OpenApi {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
}

let database: TestDatabase;
let server: RunningServer;
let document: OpenApi;
const api = apiClient(() => server.port);
const admin = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => api<T>(method, path, { token: ADMIN, body });

beforeAll(async () => {
  database = await createTestDatabase('httpopenapi');
  server = await startServer({
    config: {
      port: 0,
      host: '127.0.0.1',
      storage: 'durable',
      databaseUrl: database.url,
      authSecret: SECRET,
      adminToken: ADMIN,
      transport: 'uws',
      logLevel: 'silent',
    },
  });
  const answer = await api<OpenApi>('GET', '/api/openapi.json');
  expect(answer.status).toBe(200);
  expect(answer.headers.get('content-type')).toBe('application/json');
  document = answer.body;
});

afterAll(async () => {
  await server?.close();
  await database?.drop();
});

const operations = (): Array<{ path: string; method: string; operation: Operation }> =>
  Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ path, method, operation })),
  );

const operationOf = (method: string, path: string): Operation => {
  const operation = document.paths[path]?.[method];
  if (!operation) throw new Error(`${method} ${path} is not in the document`);
  return operation;
};

const bodySchema = (method: string, path: string): Json => operationOf(method, path).requestBody!.content['application/json']!.schema;

/** Every `$ref` in `value`, at any depth. */
function refs(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refs);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, item]) => (key === '$ref' && typeof item === 'string' ? [item] : refs(item)));
}

function resolve(ref: string): unknown {
  expect(ref.startsWith('#/')).toBe(true);
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], document);
}

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 in its structure: operations with summaries and responses, path parameters declared, every $ref resolves', () => {
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    expect(document.info.title).toBeTruthy();
    expect(document.info.version).toBeTruthy();
    expect(operations().length).toBeGreaterThan(30);
    for (const [path, item] of Object.entries(document.paths)) {
      expect(path.startsWith('/')).toBe(true);
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
      for (const [method, operation] of Object.entries(item)) {
        expect(METHODS).toContain(method);
        // Every route is described by its module, none by the fallback.
        expect(operation.summary, `${method} ${path}`).not.toBe('undescribed');
        expect(Object.keys(operation.responses).length).toBeGreaterThan(0);
        for (const [status, response] of Object.entries(operation.responses)) {
          expect(status).toMatch(/^[1-5]\d\d$/);
          expect(response.description).toBeTruthy();
        }
        const pathParameters = (operation.parameters ?? []).filter((parameter) => parameter.in === 'path');
        expect(pathParameters.map((parameter) => parameter.name).sort()).toEqual([...templated].sort());
        for (const parameter of operation.parameters ?? []) {
          expect(['path', 'query']).toContain(parameter.in);
          if (parameter.in === 'path') expect(parameter.required).toBe(true);
          expect(typeof parameter.schema).toBe('object');
        }
        for (const requirement of operation.security)
          for (const scheme of Object.keys(requirement)) expect(document.components.securitySchemes[scheme]).toBeDefined();
      }
    }
    const allRefs = refs(document);
    expect(allRefs.length).toBeGreaterThan(0);
    for (const ref of allRefs) expect(resolve(ref), ref).toBeDefined();
  });

  it('has bearer JWT security for the user routes and the admin token for /api/admin, none for health and itself', () => {
    expect(document.components.securitySchemes.bearerJwt).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(document.components.securitySchemes.adminToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(operationOf('get', '/api/documents').security).toEqual([{ bearerJwt: [] }, {}]);
    expect(operationOf('post', '/api/admin/users').security).toEqual([{ adminToken: [] }]);
    expect(operationOf('get', '/healthz').security).toEqual([]);
    expect(operationOf('get', '/api/openapi.json').security).toEqual([]);
  });

  it("lists every route of the contract's HTTP API table", async () => {
    const contracts = await readFile(new URL('../../docs/contracts.md', import.meta.url), 'utf8');
    const routes = [...contracts.matchAll(/^\| `(GET|POST|PUT|PATCH|DELETE) (\/[^ `?]*)/gm)]
      .map(([, method, pattern]) => ({ method: method!.toLowerCase(), pattern: pattern! }))
      .filter(({ pattern }) => pattern !== '/' && !pattern.startsWith('/d/'));
    expect(routes.length).toBeGreaterThan(30);
    for (const { method, pattern } of routes) {
      const path = pattern.replace(/:([A-Za-z]+)/g, '{$1}');
      expect(document.paths[path]?.[method], `${method.toUpperCase()} ${pattern}`).toBeDefined();
    }
  });

  it('lists only routes the server answers (no 404 "no such endpoint", no 405)', async () => {
    for (const { path, method } of operations()) {
      const concrete = path.replace(/\{[^}]+\}/g, (segment) => (segment === '{name}' ? 'some-document' : '1'));
      const answer = await fetch(`http://127.0.0.1:${server.port}${concrete}`, { method: method.toUpperCase() });
      const text = await answer.text();
      expect(answer.status, `${method.toUpperCase()} ${path}`).not.toBe(405);
      if (answer.status === 404) expect(JSON.parse(text), `${method.toUpperCase()} ${path}`).not.toEqual({ error: 'no such endpoint' });
    }
  });
});

describe('its schemas are the validators', () => {
  it('POST /api/admin/users: a body with the required fields is accepted; without one, or with another field, 400', async () => {
    const schema = bodySchema('post', '/api/admin/users');
    expect(schema).toMatchObject({ type: 'object', additionalProperties: false });
    expect([...(schema.required as string[])].sort()).toEqual(['email', 'name']);
    expect((schema.properties as Record<string, Json>).email).toMatchObject({ type: 'string', maxLength: 320 });
    expect((await admin('POST', '/api/admin/users', { email: 'ada@example.org', name: 'Ada' })).status).toBe(201);
    expect((await admin('POST', '/api/admin/users', { email: 'bob@example.org' })).status).toBe(400);
    expect((await admin('POST', '/api/admin/users', { email: 'eve@example.org', name: 'Eve', admin: true })).status).toBe(400);
    expect((await admin('POST', '/api/admin/users', { email: `${'a'.repeat(321)}@example.org`, name: 'Long' })).status).toBe(400);
  });

  it('POST /api/documents: a kind from the enum is accepted, another is 400', async () => {
    const schema = bodySchema('post', '/api/documents');
    const kinds = (schema.properties as Record<string, Json>).kind!.enum as string[];
    expect(kinds.length).toBeGreaterThan(1);
    expect(schema.additionalProperties).toBe(false);
    // Open to the admin: a user and project to create in, and the user's token.
    const user = await admin<{ id: string }>('POST', '/api/admin/users', { email: 'kinds@example.org', name: 'Kinds' });
    const project = await admin<{ id: string }>('POST', '/api/admin/projects', { name: 'Kinds', ownerId: user.body.id });
    const { token } = (await admin<{ token: string }>('POST', '/api/admin/tokens', { userId: user.body.id })).body;
    for (const [i, kind] of kinds.entries()) {
      const created = await api('POST', '/api/documents', { token, body: { name: `kind-${i}`, kind, projectId: project.body.id } });
      expect(created.status, kind).toBe(201);
    }
    const refused = await api('POST', '/api/documents', {
      token,
      body: { name: 'kind-x', kind: 'spreadsheet', projectId: project.body.id },
    });
    expect(refused.status).toBe(400);
  });

  it('POST …/edits: ops bounded as the route bounds them, each op one of the paper and tree ops', async () => {
    const ops = (bodySchema('post', '/api/documents/{name}/edits').properties as Record<string, Json>).ops!;
    expect(ops).toMatchObject({ type: 'array', minItems: 1 });
    const kinds = JSON.stringify(ops.items);
    for (const op of ['append', 'insert', 'replace', 'delete', 'addNode', 'moveNode', 'addEdge']) expect(kinds).toContain(`"${op}"`);
    const user = await admin<{ id: string }>('POST', '/api/admin/users', { email: 'edits@example.org', name: 'Edits' });
    const project = await admin<{ id: string }>('POST', '/api/admin/projects', { name: 'Edits', ownerId: user.body.id });
    const { token } = (await admin<{ token: string }>('POST', '/api/admin/tokens', { userId: user.body.id })).body;
    await api('POST', '/api/documents', { token, body: { name: 'edits-paper', kind: 'paper', projectId: project.body.id } });
    const append = { op: 'append', markdown: 'hello' };
    expect((await api('POST', '/api/documents/edits-paper/edits', { token, body: { ops: [append] } })).status).toBe(200);
    expect((await api('POST', '/api/documents/edits-paper/edits', { token, body: { ops: [] } })).status).toBe(400);
    const responses = operationOf('post', '/api/documents/{name}/edits').responses;
    expect(responses['200']!.content!['application/json']!.schema).toMatchObject({ required: ['stateVector', 'applied', 'ids'] });
    const refusal = await api('POST', '/api/documents/edits-paper/edits', {
      token,
      body: { ops: [{ op: 'delete', find: 'not in the paper' }] },
    });
    expect(refusal.status).toBe(422);
    const refusalSchema = responses['422']!.content!['application/json']!.schema!;
    expect(Object.keys(refusal.body).sort()).toEqual([...(refusalSchema.required as string[])].sort());
    const tooMany = Array.from({ length: (ops.maxItems as number) + 1 }, () => append);
    expect((await api('POST', '/api/documents/edits-paper/edits', { token, body: { ops: tooMany } })).status).toBe(400);
  });

  it('query parameters: the versions page limit has the bound the route checks', async () => {
    const limit = operationOf('get', '/api/documents/{name}/versions').parameters!.find((parameter) => parameter.name === 'limit')!;
    expect(limit).toMatchObject({ in: 'query', required: false });
    const content = operationOf('get', '/api/documents/{name}/content').parameters!.find((parameter) => parameter.name === 'format')!;
    expect(content.schema.enum).toEqual(['json', 'markdown', 'html', 'text', 'yjs']);
  });
});
