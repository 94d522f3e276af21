/** HTTP for the content routes: raw bodies both ways (the JSON client in helpers/http.ts parses every answer as JSON). */
import * as Y from 'yjs';

export const docPath = (name: string, rest = '') => `/api/documents/${encodeURIComponent(name)}${rest}`;

export interface RawAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly bytes: Uint8Array;
  readonly text: string;
}

export async function request(
  port: number,
  method: string,
  path: string,
  options: { token?: string; body?: Uint8Array | string; headers?: Record<string, string> } = {},
): Promise<RawAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers, body: options.body });
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, bytes, text: new TextDecoder().decode(bytes) };
}

/** `GET …/content?format=yjs`: the live document's whole state. */
export async function liveState(port: number, name: string, token?: string): Promise<Uint8Array> {
  const answer = await request(port, 'GET', docPath(name, '/content?format=yjs'), { token });
  if (answer.status !== 200) throw new Error(`content?format=yjs: ${answer.status} ${answer.text}`);
  return answer.bytes;
}

/** `POST …/updates` with one Yjs update. */
export function postUpdate(port: number, name: string, update: Uint8Array, token?: string): Promise<RawAnswer> {
  return request(port, 'POST', docPath(name, '/updates'), { token, body: update, headers: { 'content-type': 'application/octet-stream' } });
}

/** `POST …/edits {ops}`. */
export async function postEdits<T = Record<string, unknown>>(
  port: number,
  name: string,
  ops: unknown[],
  token?: string,
): Promise<{ status: number; body: T }> {
  const answer = await request(port, 'POST', docPath(name, '/edits'), {
    token,
    body: JSON.stringify({ ops }),
    headers: { 'content-type': 'application/json' },
  });
  return { status: answer.status, body: JSON.parse(answer.text) as T };
}

/** A Y.Doc holding `state`. */
export function docOf(state: Uint8Array): Y.Doc {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, state);
  return doc;
}

export const fromBase64 = (value: string): Uint8Array => new Uint8Array(Buffer.from(value, 'base64'));
