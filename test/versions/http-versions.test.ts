/**
 * Content and versions over HTTP (open mode, real PostgreSQL, real providers): the document
 * with its rendered content, named versions, the list, one version with content, diffs
 * between versions and with the current state, and the same state never stored twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { waitFor } from '../helpers/wait.js';
import { apiClient, type ErrorBody } from '../helpers/http.js';
import {
  acknowledged,
  appendParagraph,
  path,
  startDurableServer,
  storedVersions,
  writePaper,
  type VersionBody,
  type VersionList,
} from '../helpers/versions.js';

let database: TestDatabase;
let server: RunningServer;
const api = apiClient(() => server.port);

beforeAll(async () => {
  database = await createTestDatabase('verhttp');
  // Automatic versions out of the way: this file is about named ones.
  server = await startDurableServer(database, { autoVersionQuietMs: 3_600_000, autoVersionMaxMs: 3_600_000 });
});

afterAll(async () => {
  destroyProviders();
  await server?.close();
  await database?.drop();
});

describe('GET /api/documents/:name', () => {
  it('gives a paper as ProseMirror JSON with its text', async () => {
    const doc = new Y.Doc();
    const provider = hocuspocusProvider(server.port, 'http/content paper', doc);
    writePaper(doc, ['Hello world', 'Second line']);
    await acknowledged(provider);
    const { status, body } = await api<Record<string, unknown>>('GET', path('http/content paper'));
    expect(status).toBe(200);
    expect(body).toMatchObject({ name: 'http/content paper', kind: 'paper' });
    expect(typeof body.id).toBe('string');
    expect(typeof body.projectId).toBe('string');
    expect(Number.isNaN(Date.parse(body.updatedAt as string))).toBe(false);
    const content = body.content as { type: string; content: unknown[]; text: string; comments: unknown[] };
    expect(content.type).toBe('doc');
    expect(content.content).toEqual([
      { type: 'paragraph', content: [{ type: 'text', text: 'Hello world' }] },
      { type: 'paragraph', content: [{ type: 'text', text: 'Second line' }] },
    ]);
    expect(content.text).toBe('Hello world\nSecond line');
    expect(content.comments).toEqual([]);
  });

  it('gives a research tree as {nodes, edges}, also when nobody has it open', async () => {
    expect((await api('POST', '/api/documents', { body: { name: 'http/tree', kind: 'research_tree' } })).status).toBe(201);
    const doc = new Y.Doc();
    const provider = hocuspocusProvider(server.port, 'http/tree', doc);
    doc.transact(() => {
      const root = new Y.Map<unknown>();
      root.set('title', 'Question');
      root.set('parentId', null);
      root.set('order', 'a0');
      const child = new Y.Map<unknown>();
      child.set('title', 'Hypothesis');
      child.set('parentId', 'q');
      child.set('order', 'a0');
      doc.getMap('nodes').set('q', root);
      doc.getMap('nodes').set('h', child);
    });
    await acknowledged(provider);
    destroyProviders();
    const { status, body } = await api<{
      kind: string;
      content: { nodes: { id: string; title: string; parentId: string | null }[]; edges: unknown[] };
    }>('GET', path('http/tree'));
    expect(status).toBe(200);
    expect(body.kind).toBe('research_tree');
    expect(body.content.nodes.map((n) => [n.id, n.title, n.parentId])).toEqual([
      ['q', 'Question', null],
      ['h', 'Hypothesis', 'q'],
    ]);
    expect(body.content.edges).toEqual([]);
  });

  it('diffs versions of a research tree by nodes and edges', async () => {
    expect((await api('POST', path('http/tree', '/versions'), { body: { label: 'two nodes' } })).status).toBe(201);
    const doc = new Y.Doc();
    const provider = hocuspocusProvider(server.port, 'http/tree', doc);
    await waitFor(() => provider.isSynced, 5_000, 'synced');
    (doc.getMap('nodes').get('h') as Y.Map<unknown>).set('title', 'Hypothesis, sharpened');
    doc.getMap('edges').set('e', { from: 'q', to: 'h', type: 'supports' });
    await acknowledged(provider);
    const { status, body } = await api<{
      diff: { kind: string; nodes: { changed: unknown[]; added: unknown[] }; edges: { added: unknown[] } };
    }>('GET', path('http/tree', '/versions/1/diff'));
    expect(status).toBe(200);
    expect(body.diff.kind).toBe('research_tree');
    expect(body.diff.nodes.added).toEqual([]);
    expect(JSON.stringify(body.diff.nodes.changed)).toContain('Hypothesis, sharpened');
    expect(body.diff.edges.added).toHaveLength(1);
  });

  it('answers 404 for an unknown document', async () => {
    const { status, body } = await api<ErrorBody>('GET', path('http/never'));
    expect(status).toBe(404);
    expect(body.error).toMatch(/no document/);
  });
});

describe('named versions, list, get and diff', () => {
  const name = 'http/versioned paper';
  const doc = new Y.Doc();

  it('takes named versions of each state, numbered with their parent', async () => {
    const provider = hocuspocusProvider(server.port, name, doc);
    writePaper(doc, ['First draft']);
    await acknowledged(provider);
    const first = await api<VersionBody>('POST', path(name, '/versions'), { body: { label: 'Draft' } });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ version: 1, label: 'Draft', kind: 'named', parentVersion: null, createdBy: null });
    expect(first.body.size).toBeGreaterThan(0);

    appendParagraph(doc, 'More words here');
    await acknowledged(provider);
    const second = await api<VersionBody>('POST', path(name, '/versions'), { body: {} });
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({ version: 2, label: null, kind: 'named', parentVersion: 1 });

    const list = await api<VersionList>('GET', path(name, '/versions'));
    expect(list.status).toBe(200);
    expect(list.body.versions.map((v) => [v.version, v.label, v.parentVersion])).toEqual([
      [2, null, 1],
      [1, 'Draft', null],
    ]);
    expect(list.body.nextBefore).toBeNull();
    const page = await api<VersionList>('GET', path(name, '/versions?limit=1'));
    expect(page.body.versions.map((v) => v.version)).toEqual([2]);
    expect(page.body.nextBefore).toBe(2);
    const older = await api<VersionList>('GET', path(name, '/versions?limit=1&before=2'));
    expect(older.body.versions.map((v) => v.version)).toEqual([1]);
  });

  it('never stores the same state twice: naming an unchanged state labels the newest version', async () => {
    const again = await api<VersionBody>('POST', path(name, '/versions'), { body: { label: 'Submitted' } });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ version: 2, label: 'Submitted', kind: 'named' });
    const rows = await storedVersions(database, name);
    expect(rows.map((r) => r.version)).toEqual([1, 2]);
    expect(new Set(rows.map((r) => r.hash)).size).toBe(rows.length);
  });

  it('gets a version with its rendered content', async () => {
    const { status, body } = await api<VersionBody & { content: { text: string } }>('GET', path(name, '/versions/1'));
    expect(status).toBe(200);
    expect(body).toMatchObject({ version: 1, label: 'Draft' });
    expect(body.content.text).toBe('First draft');
  });

  it('diffs two versions, and a version with the current state', async () => {
    const between = await api<{
      from: number;
      to: number;
      diff: { kind: string; blocks: unknown[]; text: { added?: boolean; value: string }[] };
    }>('GET', path(name, '/versions/1/diff?to=2'));
    expect(between.status).toBe(200);
    expect(between.body).toMatchObject({ from: 1, to: 2, diff: { kind: 'paper' } });
    expect(JSON.stringify(between.body.diff.blocks)).toContain('More words here');

    appendParagraph(doc, 'Unsaved tail');
    await waitForText(name, 'Unsaved tail');
    const current = await api<{ to: string; diff: { kind: string; blocks: { op: string; text: string }[] } }>(
      'GET',
      path(name, '/versions/2/diff?to=current'),
    );
    expect(current.status).toBe(200);
    expect(current.body.to).toBe('current');
    // Only the new block: the unchanged ones are not reported.
    expect(current.body.diff.blocks.map((block) => [block.op, block.text])).toEqual([['added', 'Unsaved tail']]);
    // `to` defaults to current.
    expect((await api('GET', path(name, '/versions/2/diff'))).body).toEqual(current.body);
  });

  it('refuses bad input with 400 and unknown versions with 404', async () => {
    expect((await api<ErrorBody>('GET', path(name, '/versions/0'))).status).toBe(400);
    expect((await api<ErrorBody>('GET', path(name, '/versions/abc'))).status).toBe(400);
    expect((await api<ErrorBody>('GET', path(name, '/versions/1/diff?to=yesterday'))).status).toBe(400);
    expect((await api<ErrorBody>('GET', path(name, '/versions?limit=0'))).status).toBe(400);
    expect((await api<ErrorBody>('POST', path(name, '/versions'), { body: { label: 42 } })).status).toBe(400);
    expect((await api<ErrorBody>('POST', path(name, '/versions'), { body: { label: 'x', extra: true } })).status).toBe(400);
    expect((await api<ErrorBody>('POST', path(name, '/versions'), { body: 'not json' })).status).toBe(400);
    const missing = await api<ErrorBody>('GET', path(name, '/versions/99'));
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatch(/no version 99/);
    expect((await api<ErrorBody>('GET', path(name, '/versions/1/diff?to=99'))).status).toBe(404);
    expect((await api<ErrorBody>('POST', path(name, '/versions/99/restore'))).status).toBe(404);
    expect((await api<ErrorBody>('GET', path('http/never', '/versions'))).status).toBe(404);
    // Nothing changed.
    expect((await storedVersions(database, name)).map((r) => r.version)).toEqual([1, 2]);
  });
});

async function waitForText(name: string, text: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { body } = await api<{ content: { text: string } }>('GET', path(name));
    if (body.content.text.includes(text)) return;
    if (Date.now() > deadline) throw new Error(`server never had "${text}"`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
