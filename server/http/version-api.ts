/**
 * A document's content and versions over HTTP (docs/contracts.md "HTTP API"):
 *   GET  /api/documents/:name                       the document with its rendered content
 *   GET  /api/documents/:name/versions              newest first (?limit=&before=)
 *   POST /api/documents/:name/versions {label?}     a named version of the current state (201)
 *   GET  /api/documents/:name/versions/:v           one version with its content
 *   GET  /api/documents/:name/versions/:v/diff?to=  structured diff with version w or `current`
 *   POST /api/documents/:name/versions/:v/restore   restore as a forward edit
 * Each route authenticates (401), resolves the document (404), checks access with the one
 * rule (403, audited; naming and restoring need read-write) and hands the request to
 * DocumentRequests, which the socket's Stateless requests use too.
 */
import { z } from 'zod';
import { VERSIONS_MAX_LIMIT } from '../versions/version-store.js';
import type { HttpRequest } from '../transport/transport.js';
import { actionOf, type DocumentRequest, type DocumentRequests } from '../versions/document-requests.js';
import type { ApiDependencies } from './api-dependencies.js';
import { parseBody, positiveIntegerParam, queryObject, validate, versionLabel } from './body.js';
import { apiRoute } from './http-error.js';
import { authenticateRequest, authorizeDocument } from './request-auth.js';
import { json, type RouteDescription, type RouteTable } from './routes.js';

const createBody = z.strictObject({ label: versionLabel().optional() });
const listQuery = z.object({
  limit: positiveIntegerParam(VERSIONS_MAX_LIMIT).optional(),
  before: positiveIntegerParam(2 ** 31 - 1).optional(),
});
const versionParam = z.object({ v: positiveIntegerParam(2 ** 31 - 1) });
const diffQuery = z.object({ to: z.union([z.literal('current'), positiveIntegerParam(2 ** 31 - 1)]).optional() });

type RequestOf = (request: HttpRequest, params: Readonly<Record<string, string>>) => DocumentRequest;

export function versionRoutes(deps: ApiDependencies, requests: DocumentRequests): RouteTable[] {
  const route = (method: string, pattern: string, description: RouteDescription, parse: RequestOf): RouteTable => ({
    method,
    pattern,
    description,
    handler: apiRoute(async (request, params) => {
      const principal = await authenticateRequest(deps, request);
      const documentRequest = parse(request, params);
      const { document } = await authorizeDocument(deps, request, principal, params.name!, actionOf(documentRequest));
      const answer = await requests.run(document, { principal, sessionId: null }, documentRequest);
      return json(answer.status, answer.body);
    }),
  });
  const version = (params: Readonly<Record<string, string>>): number => validate(versionParam, { v: params.v }, 'path').v;
  return [
    route(
      'GET',
      '/api/documents/:name',
      { summary: 'The document with its rendered content', caller: 'user', responses: { 200: { description: 'the document' } } },
      () => ({ op: 'document.get' }),
    ),
    route(
      'GET',
      '/api/documents/:name/versions',
      { summary: 'Versions, newest first', caller: 'user', query: listQuery, responses: { 200: { description: 'a page of versions' } } },
      (request) => ({
        op: 'versions.list',
        ...validate(listQuery, queryObject(request), 'query'),
      }),
    ),
    route(
      'POST',
      '/api/documents/:name/versions',
      {
        summary: 'Name a version of the current state (the body may be empty)',
        caller: 'user',
        body: { json: createBody, optional: true },
        responses: { 201: { description: 'the version' } },
      },
      (request) => {
        // An empty body is allowed: POST with no label names nothing, it just takes a version.
        const body = request.body.byteLength === 0 ? {} : parseBody(createBody, request);
        return { op: 'versions.create', label: body.label ?? null };
      },
    ),
    route(
      'GET',
      '/api/documents/:name/versions/:v',
      { summary: 'One version with its content', caller: 'user', params: versionParam, responses: { 200: { description: 'the version' } } },
      (_request, params) => ({ op: 'versions.get', version: version(params) }),
    ),
    route(
      'GET',
      '/api/documents/:name/versions/:v/diff',
      {
        summary: 'A structured diff of the version with another one or the current state',
        caller: 'user',
        params: versionParam,
        query: diffQuery,
        responses: { 200: { description: 'the diff' } },
      },
      (request, params) => ({
        op: 'versions.diff',
        version: version(params),
        to: validate(diffQuery, queryObject(request), 'query').to ?? 'current',
      }),
    ),
    route(
      'POST',
      '/api/documents/:name/versions/:v/restore',
      {
        summary: 'Restore the version, as a forward edit',
        caller: 'user',
        params: versionParam,
        responses: { 200: { description: 'restored' } },
      },
      (_request, params) => ({ op: 'versions.restore', version: version(params) }),
    ),
  ];
}
