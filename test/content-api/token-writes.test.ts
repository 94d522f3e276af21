/**
 * Writes over HTTP in token mode: an editor's raw update and edit ops are applied and stored
 * with the editor's user id (and a create's content with the creator's); a viewer is refused
 * with 403 and nothing changes; a raw update that is not one, or that builds on changes the
 * document lacks, is 400 and changes nothing; the state vector answered is the document's.
 * The binary body must come as application/octet-stream, and a cross-site write is refused
 * like any other. Real PostgreSQL.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { renderPaper } from '../../server/documents/paper.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { apiClient } from '../helpers/http.js';
import { docOf, docPath, fromBase64, liveState, postEdits, postUpdate, request } from './content-client.js';

const SECRET = 'test-secret-content-0123456789abcdef';
const ADMIN = 'admin-content-0123456789abcdef';
const NAME = 'token/paper';

let database: TestDatabase;
let server: RunningServer;
let sql: pg.Client;
const api = apiClient(() => server.port);
const admin = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => api<T>(method, path, { token: ADMIN, body });
const users = {} as Record<'owner' | 'editor' | 'viewer', string>;
const tokens = {} as Record<'owner' | 'editor' | 'viewer', string>;
let projectId: string;

/** The log rows of the document, oldest first. */
async function logRows(name: string): Promise<{ position: string; user_id: string | null; operation_type: string; session_id: string }[]> {
  const { rows } = await sql.query<{ position: string; user_id: string | null; operation_type: string; session_id: string }>(
    'select c.position, c.user_id, c.operation_type, c.session_id from collaborations c join documents d on d.id = c.document_id where d.name = $1 order by c.position',
    [name],
  );
  return rows;
}

/** An update that appends a paragraph to the document whose state is `state`. */
function paragraphUpdate(state: Uint8Array, line: string): Uint8Array {
  const doc = docOf(state);
  const before = Y.encodeStateVector(doc);
  const paragraph = new Y.XmlElement('paragraph');
  paragraph.insert(0, [new Y.XmlText(line)]);
  const fragment = doc.getXmlFragment('default');
  fragment.insert(fragment.length, [paragraph]);
  return Y.encodeStateAsUpdate(doc, before);
}

beforeAll(async () => {
  database = await createTestDatabase('contenttok');
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
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  for (const who of ['owner', 'editor', 'viewer'] as const) {
    users[who] = (await admin<{ id: string }>('POST', '/api/admin/users', { email: `${who}@example.org`, name: `The ${who}` })).body.id;
    tokens[who] = (await admin<{ token: string }>('POST', '/api/admin/tokens', { userId: users[who] })).body.token;
  }
  projectId = (await admin<{ id: string }>('POST', '/api/admin/projects', { name: 'Content', ownerId: users.owner })).body.id;
  expect((await admin('POST', `/api/admin/projects/${projectId}/members`, { userId: users.editor, role: 'editor' })).status).toBe(204);
  expect((await admin('POST', `/api/admin/projects/${projectId}/members`, { userId: users.viewer, role: 'viewer' })).status).toBe(204);
  const created = await api('POST', '/api/documents', {
    token: tokens.owner,
    body: { name: NAME, kind: 'paper', projectId, content: '# Shared\n\nFirst.\n' },
  });
  expect(created.status).toBe(201);
});

afterAll(async () => {
  await sql?.end();
  await server?.close();
  await database?.drop();
});

describe('attribution', () => {
  it("stores a create's content with the creator's user id", async () => {
    expect(await logRows(NAME)).toEqual([expect.objectContaining({ user_id: users.owner, operation_type: 'import' })]);
  });

  it("stores an editor's raw update with the editor's user id, and answers the state vector", async () => {
    const update = paragraphUpdate(await liveState(server.port, NAME, tokens.editor), 'From a program.');
    const answer = await postUpdate(server.port, NAME, update, tokens.editor);
    expect(answer.status).toBe(200);
    const { stateVector } = JSON.parse(answer.text) as { stateVector: string };
    const state = await liveState(server.port, NAME, tokens.editor);
    expect(fromBase64(stateVector)).toEqual(Y.encodeStateVector(docOf(state)));
    expect(renderPaper(docOf(state)).text).toBe('Shared\nFirst.\nFrom a program.');
    expect((await logRows(NAME)).at(-1)).toMatchObject({
      user_id: users.editor,
      operation_type: 'update',
      session_id: expect.stringMatching(/^http:/),
    });
  });

  it("stores an editor's edit ops with the editor's user id", async () => {
    const answer = await postEdits<{ applied: number; stateVector: string }>(
      server.port,
      NAME,
      [{ op: 'replace', find: 'First', with: 'Second' }],
      tokens.editor,
    );
    expect(answer).toMatchObject({ status: 200, body: { applied: 1, ids: {} } });
    expect(fromBase64(answer.body.stateVector)).toEqual(Y.encodeStateVector(docOf(await liveState(server.port, NAME, tokens.editor))));
    expect((await logRows(NAME)).at(-1)).toMatchObject({ user_id: users.editor, operation_type: 'edit' });
  });

  it('shows the writes in the history with their users', async () => {
    const history = await api<{ entries: { userId: string | null; operationType: string }[] }>('GET', docPath(NAME, '/history'), {
      token: tokens.viewer,
    });
    expect(history.body.entries.map((entry) => [entry.operationType, entry.userId])).toEqual([
      ['edit', users.editor],
      ['update', users.editor],
      ['import', users.owner],
    ]);
  });
});

describe('refusals change nothing', () => {
  let rowsBefore: number;
  let stateBefore: Uint8Array;

  beforeAll(async () => {
    rowsBefore = (await logRows(NAME)).length;
    stateBefore = await liveState(server.port, NAME, tokens.viewer);
  });

  const unchanged = async () => {
    expect(await liveState(server.port, NAME, tokens.viewer)).toEqual(stateBefore);
    expect(await logRows(NAME)).toHaveLength(rowsBefore);
  };

  it('a viewer may read the content but not write it: 403', async () => {
    expect((await request(server.port, 'GET', docPath(NAME, '/content?format=markdown'), { token: tokens.viewer })).status).toBe(200);
    const update = paragraphUpdate(stateBefore, 'A viewer wrote this.');
    const refused = await postUpdate(server.port, NAME, update, tokens.viewer);
    expect(refused.status).toBe(403);
    const edits = await postEdits(server.port, NAME, [{ op: 'append', markdown: 'A viewer wrote this.' }], tokens.viewer);
    expect(edits.status).toBe(403);
    await unchanged();
  });

  it('without a token: 401', async () => {
    expect((await postUpdate(server.port, NAME, paragraphUpdate(stateBefore, 'x'))).status).toBe(401);
    expect((await request(server.port, 'GET', docPath(NAME, '/content'))).status).toBe(401);
    await unchanged();
  });

  it('bytes that are not a Yjs update: 400', async () => {
    for (const garbage of [new Uint8Array([255, 255, 255, 255, 1]), new TextEncoder().encode('{"ops": []}')]) {
      const answer = await postUpdate(server.port, NAME, garbage, tokens.editor);
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.text).error).toMatch(/invalid Yjs update/);
    }
    await unchanged();
  });

  it('an update that builds on changes the document lacks: 400', async () => {
    // A client's second update without its first: the paragraph it types into is unknown here.
    const client = docOf(stateBefore);
    const before = Y.encodeStateVector(client);
    const paragraph = new Y.XmlElement('paragraph');
    const text = new Y.XmlText('draft');
    paragraph.insert(0, [text]);
    client.getXmlFragment('default').insert(0, [paragraph]);
    const middle = Y.encodeStateVector(client);
    text.insert(5, ' continued');
    const second = Y.encodeStateAsUpdate(client, middle);
    expect(Y.encodeStateAsUpdate(client, before).byteLength).toBeGreaterThan(second.byteLength);
    const answer = await postUpdate(server.port, NAME, second, tokens.editor);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text).error).toMatch(/depends on changes the document does not have/);
    await unchanged();
  });

  it('a body not sent as application/octet-stream: 415', async () => {
    const update = paragraphUpdate(stateBefore, 'x');
    for (const type of ['text/plain', 'application/json', 'application/x-www-form-urlencoded']) {
      const answer = await request(server.port, 'POST', docPath(NAME, '/updates'), {
        token: tokens.editor,
        body: update,
        headers: { 'content-type': type },
      });
      expect(answer.status, type).toBe(415);
    }
    await unchanged();
  });

  it('a write the browser marks cross-site: 403 before anything runs', async () => {
    const update = paragraphUpdate(stateBefore, 'x');
    const answer = await request(server.port, 'POST', docPath(NAME, '/updates'), {
      token: tokens.editor,
      body: update,
      headers: { 'content-type': 'application/octet-stream', 'sec-fetch-site': 'cross-site', origin: 'https://evil.example.net' },
    });
    expect(answer.status).toBe(403);
    await unchanged();
  });

  it('an update the document already holds: 200, nothing new stored', async () => {
    const answer = await postUpdate(server.port, NAME, stateBefore, tokens.editor);
    expect(answer.status).toBe(200);
    expect(fromBase64((JSON.parse(answer.text) as { stateVector: string }).stateVector)).toEqual(Y.encodeStateVector(docOf(stateBefore)));
    await unchanged();
  });
});
