/**
 * Request validation with zod, for every body, path segment and query parameter: a bad
 * value is refused with 400 and a message that names the field (`email: Invalid email
 * address`), before anything reads or writes the database.
 */
import { z } from 'zod';
import type { HttpRequest } from '../transport/transport.js';
import { documentNameProblem } from '../document-name.js';
import { DOCUMENT_KINDS } from './api-types.js';
import { MAX_LABEL_LENGTH } from '../versions/document-requests.js';
import { HttpError } from './http-error.js';
import { describeIssues } from '../zod-issues.js';

/** `value` checked against `schema`, or HttpError 400 naming the offending fields. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what = 'body'): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new HttpError(400, describeIssues(result.error, value, what));
  return result.data;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * True for `application/json`, with parameters (`; charset=utf-8`) and in any case. A page on
 * another site can send a body without a preflight only as text/plain, form-urlencoded or
 * multipart: requiring this type for JSON bodies keeps such forged requests out (CSRF).
 */
export function isJsonContentType(value: string | undefined): boolean {
  return isMediaType(value, 'application/json');
}

function isMediaType(value: string | undefined, type: string): boolean {
  return value !== undefined && value.split(';', 1)[0]!.trim().toLowerCase() === type;
}

/**
 * A binary body (a Yjs update): 400 when empty; 415 unless sent as `application/octet-stream`,
 * which, like `application/json`, a page on another site cannot send without a preflight.
 */
export function octetStreamBody(request: HttpRequest): Uint8Array {
  if (request.body.byteLength === 0) throw new HttpError(400, 'body: Required (one Yjs update)');
  if (!isMediaType(request.header('content-type'), 'application/octet-stream'))
    throw new HttpError(415, 'content-type must be application/octet-stream');
  return request.body;
}

/**
 * The JSON body, checked against `schema`; 400 when it is empty, not UTF-8, not JSON or not
 * valid; 415 when it is not sent as `application/json`. Every route that reads a JSON body
 * reads it here, so none accepts another content type.
 */
export function parseBody<S extends z.ZodType>(schema: S, request: HttpRequest): z.output<S> {
  if (request.body.byteLength === 0) throw new HttpError(400, 'body: Required (a JSON object)');
  if (!isJsonContentType(request.header('content-type'))) throw new HttpError(415, 'content-type must be application/json');
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(request.body));
  } catch {
    throw new HttpError(400, 'body: not valid JSON');
  }
  return validate(schema, value);
}

/**
 * The query string's parameters as an object of strings, for `validate`: the last of
 * repeated ones; an empty one (`?limit=`) counts as absent.
 */
export function queryObject(request: HttpRequest): Record<string, string> {
  return Object.fromEntries([...new URLSearchParams(request.query)].filter(([, value]) => value !== ''));
}

/**
 * A uuid as PostgreSQL accepts it (any version): checked before it reaches a `uuid` column, and
 * in its canonical lower case, as PostgreSQL answers it — ids from requests are compared with
 * ids from the database (e.g. a membership event with the user ids of live sockets).
 */
export const uuid = () => z.guid('Invalid UUID').transform((id) => id.toLowerCase());

/** A positive integer from a query string (`?limit=10`). */
export const positiveIntegerParam = (max: number) =>
  z
    .string()
    .regex(/^[0-9]+$/, 'Expected a positive integer')
    .transform(Number)
    .pipe(z.number().int().min(1).max(max));

/** Document names: 1 to 255 characters (code points), no NUL — the rule of document-name.ts, shared with the sockets. */
export const documentName = () =>
  z.string().superRefine((name, context) => {
    const problem = documentNameProblem(name);
    if (problem !== null) context.addIssue({ code: 'custom', message: problem });
  });

/** Version labels (HTTP and Stateless requests): 1 to MAX_LABEL_LENGTH characters once trimmed, no NUL (PostgreSQL text cannot hold it). */
export const versionLabel = () =>
  z
    .string()
    .trim()
    .min(1)
    .max(MAX_LABEL_LENGTH)
    .refine((label) => !label.includes('\u0000'), 'must not contain NUL characters');

export const documentKind = () => z.enum(DOCUMENT_KINDS);
