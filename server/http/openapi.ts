/**
 * `GET /api/openapi.json`: an OpenAPI 3.1 document of every route the server answers, built
 * from the route tables themselves (routes.ts RouteDescription) and the zod schemas the
 * handlers validate with, so a route cannot be served without being described, nor a
 * validator change without the document following it.
 */
import { z } from 'zod';
import { documentName } from './body.js';
import type { ResponseDescription, RouteDescription, RouteTable } from './routes.js';

export const OPENAPI_PATH = '/api/openapi.json';
/** The version of the API the document describes (not of the server build). */
const API_VERSION = '1.0.0';

type JsonSchema = Record<string, unknown>;
type DescribedRoute = Pick<RouteTable, 'method' | 'pattern' | 'description'>;

const UNDESCRIBED: RouteDescription = { summary: 'undescribed', caller: 'user', responses: { 200: { description: 'success' } } };

const errorBody = z.object({ error: z.string() });

/** The answers every route of a kind can give, unless it describes them itself. */
function commonResponses(route: DescribedRoute, description: RouteDescription): Record<number, ResponseDescription> {
  const common: Record<number, ResponseDescription> = {};
  const isApi = route.pattern.startsWith('/api/');
  if (isApi) common[400] = { description: 'a path segment, query parameter or body is not valid: `{error}` names the field' };
  if (description.caller !== 'anyone') common[401] = { description: 'no valid token' };
  if (description.caller === 'user') common[403] = { description: 'the caller may not do this to the resource (audited)' };
  if (route.pattern.includes(':name')) common[404] = { description: 'no such document' };
  if (description.caller === 'admin') common[404] = { description: 'ADMIN_TOKEN is not set: the admin API does not exist' };
  if (description.body && 'json' in description.body) common[415] = { description: 'the body is not sent as application/json' };
  if (description.body && 'binary' in description.body) common[415] = { description: `the body is not sent as ${description.body.binary}` };
  if (isApi) common[429] = { description: 'rate limited: retry after `retry-after` seconds' };
  return common;
}

/** Converts schemas to JSON Schema 2020-12 (OpenAPI 3.1's dialect) as requests are written: before transforms and defaults. */
class SchemaConverter {
  /** Shared definitions (recursive parts), hoisted into `components.schemas`, one name per distinct definition. */
  readonly definitions: Record<string, JsonSchema> = {};
  private readonly namesByContent = new Map<string, string>();

  convert(schema: z.ZodType): JsonSchema {
    const converted = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
    delete converted.$schema;
    const defs = (converted.$defs ?? {}) as Record<string, JsonSchema>;
    delete converted.$defs;
    // zod names each conversion's definitions from scratch (`__schema0`): renamed so that two conversions never share a name for different schemas.
    const renamed = new Map<string, string>();
    for (const [local, definition] of Object.entries(defs)) {
      const content = JSON.stringify(definition);
      let name = this.namesByContent.get(content);
      if (name === undefined) {
        name = `Shared${this.namesByContent.size + 1}`;
        this.namesByContent.set(content, name);
      }
      renamed.set(local, name);
    }
    for (const [local, definition] of Object.entries(defs))
      this.definitions[renamed.get(local)!] = this.rewriteRefs(definition, renamed) as JsonSchema;
    return this.rewriteRefs(converted, renamed) as JsonSchema;
  }

  private rewriteRefs(value: unknown, renamed: ReadonlyMap<string, string>): unknown {
    if (Array.isArray(value)) return value.map((item) => this.rewriteRefs(item, renamed));
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        key === '$ref' && typeof item === 'string'
          ? item.replace(/^#\/\$defs\/(.+)$/, (_ref, local: string) => `#/components/schemas/${renamed.get(local) ?? local}`)
          : this.rewriteRefs(item, renamed),
      ]),
    );
  }
}

/** `/api/documents/:name/versions/:v` → `/api/documents/{name}/versions/{v}` and the names in order. */
function openApiPath(pattern: string): { path: string; names: string[] } {
  const names: string[] = [];
  const path = pattern
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment;
      names.push(segment.slice(1));
      return `{${segment.slice(1)}}`;
    })
    .join('/');
  return { path, names };
}

function objectParameters(converter: SchemaConverter, schema: z.ZodObject, where: 'path' | 'query'): JsonSchema[] {
  const converted = converter.convert(schema);
  const properties = (converted.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((converted.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    schema: property,
  }));
}

function operation(converter: SchemaConverter, route: DescribedRoute, names: readonly string[]): JsonSchema {
  // Listed all the same when undescribed, so the document never leaves a route out (a test requires every description).
  const description = route.description ?? UNDESCRIBED;
  const pathParameters = description.params ? objectParameters(converter, description.params, 'path') : [];
  const parameters = names.map(
    (name) =>
      pathParameters.find((parameter) => parameter.name === name) ?? {
        name,
        in: 'path',
        required: true,
        schema:
          name === 'name'
            ? { ...converter.convert(documentName()), description: 'a document name (or a former one), 1 to 255 characters, no NUL' }
            : { type: 'string' },
      },
  );
  if (description.query) parameters.push(...objectParameters(converter, description.query, 'query'));
  const responses: Record<string, JsonSchema> = {};
  const all = { ...commonResponses(route, description), ...description.responses };
  for (const [status, answer] of Object.entries(all)) {
    const content: Record<string, JsonSchema> = {};
    if (answer.schema) content['application/json'] = { schema: converter.convert(answer.schema) };
    else if (Number(status) >= 400) content['application/json'] = { schema: { $ref: '#/components/schemas/Error' } };
    for (const type of answer.contentTypes ?? []) content[type] = {};
    responses[status] =
      Object.keys(content).length > 0 ? { description: answer.description, content } : { description: answer.description };
  }
  const result: JsonSchema = {
    operationId: `${route.method.toLowerCase()} ${route.pattern}`,
    summary: description.summary,
    tags: [tagOf(route.pattern)],
    security: securityOf(description),
    responses,
  };
  if (parameters.length > 0) result.parameters = parameters;
  if (description.body) {
    result.requestBody =
      'json' in description.body
        ? {
            required: description.body.optional !== true,
            content: { 'application/json': { schema: converter.convert(description.body.json) } },
          }
        : {
            required: true,
            content: { [description.body.binary]: { schema: { type: 'string', contentMediaType: description.body.binary } } },
          };
  }
  return result;
}

/** In token mode a user sends a JWT; in open mode anyone may call without one (the empty requirement). */
function securityOf(description: RouteDescription): JsonSchema[] {
  switch (description.caller) {
    case 'anyone':
      return [];
    case 'user':
      return [{ bearerJwt: [] }, {}];
    case 'admin':
      return [{ adminToken: [] }];
  }
}

function tagOf(pattern: string): string {
  if (pattern.startsWith('/api/admin/')) return 'admin';
  if (pattern.startsWith('/api/')) return 'api';
  return 'operations';
}

/** The OpenAPI 3.1 document of `routes`, every one of them (a route without a description is an error at startup). */
export function openApiDocument(routes: readonly DescribedRoute[]): JsonSchema {
  const converter = new SchemaConverter();
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const { path, names } = openApiPath(route.pattern);
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(converter, route, names);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Scriptorium HTTP API',
      version: API_VERSION,
      description: 'The HTTP API of the collaborative editing server (docs/contracts.md, "HTTP API").',
    },
    paths,
    components: {
      schemas: { Error: converter.convert(errorBody), ...converter.definitions },
      securitySchemes: {
        bearerJwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'token mode (AUTH_SECRET set): a token from POST /api/admin/tokens',
        },
        adminToken: { type: 'http', scheme: 'bearer', description: 'the ADMIN_TOKEN of the server' },
      },
    },
  };
}

/** The route serving the document; `routes` (all of them, this one included) are read on the first request, once: the tables do not change. */
export function openApiRoute(routes: () => readonly DescribedRoute[]): RouteTable {
  let body: string | null = null;
  return {
    method: 'GET',
    pattern: OPENAPI_PATH,
    handler: () => {
      body ??= JSON.stringify(openApiDocument(routes()));
      return { status: 200, headers: { 'content-type': 'application/json' }, body };
    },
    description: {
      summary: 'This document: OpenAPI 3.1 of every route',
      caller: 'anyone',
      responses: { 200: { description: 'the OpenAPI document' } },
    },
  };
}
