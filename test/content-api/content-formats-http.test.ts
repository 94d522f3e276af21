/**
 * A document's content over HTTP in every format, with its content type; the formats a kind
 * lacks and unknown ones are 400; a paper created with Markdown content reads back as the
 * same Markdown and is logged as an import; content for a tree, or content that is not
 * valid, is refused before anything is created. Open mode, real PostgreSQL.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { renderPaper } from '../../server/documents/paper.js';
import { renderTree } from '../../server/research-trees/render.js';
import type { RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { apiClient } from '../helpers/http.js';
import { startDurableServer } from '../helpers/versions.js';
import { docOf, docPath, liveState, postEdits, request } from './content-client.js';

const MARKDOWN = [
  '# Findings',
  '',
  'Some **bold**, *italic* and `code` with a [link](https://example.org/a).',
  '',
  '- one',
  '- two',
  '',
  '> quoted',
  '',
  '```js',
  'let x = 1 < 2;',
  '```',
  '',
].join('\n');

let database: TestDatabase;
let server: RunningServer;
let sql: pg.Client;
const api = apiClient(() => server.port);
const get = (name: string, query = '') => request(server.port, 'GET', docPath(name, `/content${query}`));

beforeAll(async () => {
  database = await createTestDatabase('contentfmt');
  server = await startDurableServer(database);
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
});

afterAll(async () => {
  await sql?.end();
  await server?.close();
  await database?.drop();
});

describe('a paper created with Markdown content', () => {
  const name = 'formats/paper';

  it('is created with the content, logged as an import', async () => {
    const created = await api('POST', '/api/documents', { body: { name, kind: 'paper', content: MARKDOWN, format: 'markdown' } });
    expect(created).toMatchObject({ status: 201, body: { name, kind: 'paper' } });
    const { rows } = await sql.query<{ operation_type: string; user_id: string | null; session_id: string }>(
      'select c.operation_type, c.user_id, c.session_id from collaborations c join documents d on d.id = c.document_id where d.name = $1',
      [name],
    );
    expect(rows).toEqual([{ operation_type: 'import', user_id: null, session_id: expect.stringMatching(/^http:/) }]);
  });

  it('reads back as the same Markdown', async () => {
    const answer = await get(name, '?format=markdown');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    expect(answer.text).toBe(MARKDOWN);
  });

  it('is ProseMirror JSON by default and with format=json', async () => {
    for (const query of ['', '?format=json', '?format=']) {
      const answer = await get(name, query);
      expect(answer.status, query).toBe(200);
      expect(answer.headers.get('content-type'), query).toBe('application/json');
      const json = JSON.parse(answer.text) as { type: string; content: { type: string }[] };
      expect(json.type).toBe('doc');
      expect(json.content.map((block) => block.type)).toEqual(['heading', 'paragraph', 'bulletList', 'blockquote', 'codeBlock']);
    }
  });

  it('is sanitized HTML, served so that it cannot run script', async () => {
    const answer = await get(name, '?format=html');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answer.headers.get('content-security-policy')).toBe('sandbox');
    expect(answer.text).toContain('<h1>Findings</h1>');
    expect(answer.text).toContain('<strong>bold</strong>');
    expect(answer.text).toContain('href="https://example.org/a"');
    expect(answer.text).toContain('let x = 1 &lt; 2;');
  });

  it('is plain text by the text rule, and the whole Yjs state', async () => {
    const text = await get(name, '?format=text');
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const yjs = await get(name, '?format=yjs');
    expect(yjs.headers.get('content-type')).toBe('application/octet-stream');
    expect(renderPaper(docOf(yjs.bytes)).text).toBe(text.text);
    expect(text.text.split('\n')[0]).toBe('Findings');
    const document = await api<{ content: { text: string } }>('GET', docPath(name));
    expect(document.body.content.text).toBe(text.text);
  });

  it('refuses an unknown format with 400', async () => {
    const answer = await get(name, '?format=docx');
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toEqual({ error: expect.stringMatching(/^format: /) });
  });
});

describe('a research tree', () => {
  const name = 'formats/tree';

  beforeAll(async () => {
    expect((await api('POST', '/api/documents', { body: { name, kind: 'research_tree' } })).status).toBe(201);
    const added = await postEdits<{ ids: Record<string, string> }>(server.port, name, [
      { op: 'addNode', id: 'q', title: 'Question' },
      { op: 'addNode', id: 'h', title: 'Hypothesis', parentId: 'q' },
      { op: 'addEdge', from: 'h', to: 'q', type: 'supports' },
    ]);
    expect(added.status).toBe(200);
  });

  it('is {nodes, edges, roots} as json, a nested list as markdown, its state as yjs', async () => {
    const json = await get(name, '?format=json');
    expect(json.headers.get('content-type')).toBe('application/json');
    const tree = JSON.parse(json.text) as { nodes: { id: string }[]; edges: unknown[]; roots: string[] };
    expect(tree.nodes.map((node) => node.id).sort()).toEqual(['h', 'q']);
    expect(tree.edges).toHaveLength(1);
    expect(tree.roots).toEqual(['q']);
    const markdown = await get(name, '?format=markdown');
    expect(markdown.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    expect(markdown.text).toMatch(/^- Question\n {2}- Hypothesis/);
    const state = await liveState(server.port, name);
    expect(renderTree(docOf(state))).toEqual(tree);
  });

  it.each(['html', 'text'])('has no %s rendering: 400', async (format) => {
    const answer = await get(name, `?format=${format}`);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text).error).toMatch(/not available for a research tree/);
  });
});

describe('creation with content that cannot be used', () => {
  const exists = async (name: string) => (await sql.query('select 1 from documents where name = $1', [name])).rowCount === 1;

  it.each([
    ['a tree with content', { kind: 'research_tree', content: '- a' }, /only a paper/],
    ['JSON that is not ProseMirror', { kind: 'paper', content: { type: 'nonsense' } }, /^content: /],
    ['HTML given as an object', { kind: 'paper', content: { html: '<p>x</p>' }, format: 'html' }, /^content: a string/],
    ['an unknown format', { kind: 'paper', content: 'x', format: 'docx' }, /^format: /],
  ])('%s: 400 and no document', async (label, body, message) => {
    const name = `formats/refused ${label}`;
    const answer = await api<{ error: string }>('POST', '/api/documents', { body: { name, ...body } });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatch(message);
    expect(await exists(name)).toBe(false);
  });

  it('HTML content is imported sanitized', async () => {
    const name = 'formats/from html';
    const html = '<h2>Title</h2><p>Text<script>alert(1)</script> <a href="javascript:alert(1)">bad</a></p>';
    expect((await api('POST', '/api/documents', { body: { name, kind: 'paper', content: html, format: 'html' } })).status).toBe(201);
    const exported = await get(name, '?format=html');
    expect(exported.text).toContain('<h2>Title</h2>');
    expect(exported.text).not.toMatch(/script|javascript:/);
  });

  it('ProseMirror JSON content is written as given', async () => {
    const name = 'formats/from json';
    const content = { type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'Hello' }] }] };
    expect((await api('POST', '/api/documents', { body: { name, kind: 'paper', content } })).status).toBe(201);
    expect(JSON.parse((await get(name)).text)).toEqual(content);
    expect(Y.encodeStateVector(docOf(await liveState(server.port, name))).byteLength).toBeGreaterThan(1);
  });
});
