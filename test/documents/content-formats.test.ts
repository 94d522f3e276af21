/**
 * A document's content by format (server/documents/formats/content-formats.ts) for papers
 * and research trees, a new paper's initial content (content-import.ts), and the op
 * validators as the source of OpenAPI schemas.
 */
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import * as Y from 'yjs';
import { contentFormat, exportContent, type ContentFormat } from '../../server/documents/formats/content-formats.js';
import { initialPaperUpdate, paperBlocksOf } from '../../server/documents/formats/content-import.js';
import { paperEditOp } from '../../server/documents/paper-edit-ops.js';
import { renderPaper } from '../../server/documents/paper.js';
import { addEdge, createNode } from '../../server/research-trees/operations.js';
import { renderTree } from '../../server/research-trees/render.js';
import { treeEditOp } from '../../server/research-trees/tree-edit-ops.js';
import { code, h, li, p, paperDoc, text, ul } from '../helpers/documents.js';

const paper = () =>
  paperDoc([h(1, 'Title'), p('Some ', text('bold', { type: 'bold' }), ' <text>'), ul(li(p('one')), li(p('two'))), code('x < 1', 'js')]);

function tree(): Y.Doc {
  const doc = new Y.Doc();
  createNode(doc, { id: 'q', title: 'Why *this*?' });
  createNode(doc, { id: 'h1', parentId: 'q', title: 'Hypothesis 1', status: 'open' });
  createNode(doc, { id: 'e1', parentId: 'h1', title: 'Experiment' });
  createNode(doc, { id: 'h2', parentId: 'q', title: '# Hypothesis 2' });
  createNode(doc, { id: 'r', title: 'Another root' });
  addEdge(doc, { id: 'x', from: 'e1', to: 'h2', type: 'supports' });
  return doc;
}

function body(kind: 'paper' | 'research_tree', doc: Y.Doc, format: ContentFormat): string | Uint8Array {
  const result = exportContent(kind, doc, format);
  if ('error' in result) throw new Error(result.error);
  return result.body;
}

describe('paper content by format', () => {
  test('json, markdown, html, text and yjs, each with its content type', () => {
    const doc = paper();
    const types = Object.fromEntries(
      (['json', 'markdown', 'html', 'text', 'yjs'] as const).map((format) => {
        const result = exportContent('paper', doc, format);
        return [format, 'error' in result ? result.error : result.contentType];
      }),
    );
    expect(types).toEqual({
      json: 'application/json',
      markdown: 'text/markdown; charset=utf-8',
      html: 'text/html; charset=utf-8',
      text: 'text/plain; charset=utf-8',
      yjs: 'application/octet-stream',
    });
    expect(JSON.parse(body('paper', doc, 'json') as string)).toEqual({ type: 'doc', content: renderPaper(doc).content });
    expect(body('paper', doc, 'markdown')).toBe('# Title\n\nSome **bold** \\<text>\n\n- one\n- two\n\n```js\nx < 1\n```\n');
    expect(body('paper', doc, 'html')).toBe(
      '<h1>Title</h1>\n<p>Some <strong>bold</strong> &lt;text&gt;</p>\n<ul><li><p>one</p></li><li><p>two</p></li></ul>\n<pre><code class="language-js">x &lt; 1</code></pre>',
    );
    expect(body('paper', doc, 'text')).toBe('Title\nSome bold <text>\none\ntwo\nx < 1');
    const copy = new Y.Doc();
    Y.applyUpdate(copy, body('paper', doc, 'yjs') as Uint8Array);
    expect(renderPaper(copy)).toEqual(renderPaper(doc));
  });

  test('the format parameter: json when absent, refused when unknown', () => {
    expect(contentFormat.parse(undefined)).toBe('json');
    expect(contentFormat.safeParse('pdf').success).toBe(false);
  });
});

describe('research tree content by format', () => {
  test('json is the rendered forest with its roots', () => {
    const doc = tree();
    const json = JSON.parse(body('research_tree', doc, 'json') as string) as { roots: string[] };
    expect(json).toEqual(JSON.parse(JSON.stringify(renderTree(doc))));
    expect(json.roots).toEqual(['q', 'r']);
  });

  test('markdown is a nested list with statuses, then the edges; titles are escaped', () => {
    expect(body('research_tree', tree(), 'markdown')).toBe(
      [
        '- Why \\*this\\*?',
        '  - Hypothesis 1 *(open)*',
        '    - Experiment',
        '  - \\# Hypothesis 2',
        '- Another root',
        '',
        '**Edges**',
        '',
        '- Experiment → # Hypothesis 2 *(supports)*',
        '',
      ].join('\n'),
    );
  });

  test('a very deep tree is listed without exhausting the stack', () => {
    const doc = new Y.Doc();
    doc.transact(() => {
      const nodes = doc.getMap('nodes');
      for (let i = 0; i < 5_000; i++)
        nodes.set(
          `n${i}`,
          new Y.Map<unknown>([
            ['title', `node ${i}`],
            ['parentId', i === 0 ? null : `n${i - 1}`],
            ['order', 0],
          ]),
        );
    });
    const markdown = body('research_tree', doc, 'markdown') as string;
    expect(markdown.split('\n').filter((line) => line.includes('- node'))).toHaveLength(5_000);
  });

  test('html and text are not formats of a tree', () => {
    expect(exportContent('research_tree', tree(), 'html')).toEqual({
      error: 'format html is not available for a research tree (json, markdown, yjs)',
    });
    expect(exportContent('research_tree', tree(), 'text')).toMatchObject({ error: expect.any(String) });
    expect(body('research_tree', new Y.Doc(), 'markdown')).toBe('');
  });
});

describe('a new paper with content', () => {
  test('from Markdown, HTML or ProseMirror JSON (a doc or its blocks)', () => {
    const expected = [
      { type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'Hi' }] },
      { type: 'paragraph', content: [{ type: 'text', text: 'there' }] },
    ];
    const inputs: [unknown, 'markdown' | 'html' | 'json' | undefined][] = [
      ['## Hi\n\nthere', undefined],
      ['## Hi\n\nthere', 'markdown'],
      ['<h2>Hi</h2><p>there</p>', 'html'],
      [{ type: 'doc', content: expected }, 'json'],
      [expected, undefined],
    ];
    for (const [content, format] of inputs) {
      const result = initialPaperUpdate(content, format);
      if ('error' in result) throw new Error(result.error);
      const doc = new Y.Doc();
      Y.applyUpdate(doc, result.update);
      expect(renderPaper(doc).content, JSON.stringify(content)).toEqual(expected);
    }
  });

  test('content that does not fit its format is refused with the reason', () => {
    expect(paperBlocksOf(42, 'markdown')).toEqual({ error: 'content: a string is expected for format markdown' });
    expect(paperBlocksOf('text', 'json')).toMatchObject({ error: expect.stringMatching(/^content: ProseMirror JSON/) });
    expect(paperBlocksOf([{ type: 'listItem', content: [] }], 'json')).toMatchObject({ error: expect.stringMatching(/^content: /) });
    expect(initialPaperUpdate('', 'markdown')).toMatchObject({ update: expect.any(Uint8Array) });
  });
});

describe('op validators', () => {
  test('generate JSON Schemas (for OpenAPI) from the same zod schemas that parse the ops', () => {
    const paperSchema = z.toJSONSchema(paperEditOp, { io: 'input', unrepresentable: 'any' });
    const treeSchema = z.toJSONSchema(treeEditOp, { io: 'input', unrepresentable: 'any' });
    const ops = (schema: unknown) => JSON.stringify(schema).match(/"const":"(\w+)"/g);
    expect(ops(paperSchema)).toEqual(['"const":"append"', '"const":"insert"', '"const":"replace"', '"const":"delete"']);
    expect(ops(treeSchema)).toEqual([
      '"const":"addNode"',
      '"const":"updateNode"',
      '"const":"moveNode"',
      '"const":"deleteNode"',
      '"const":"addEdge"',
      '"const":"deleteEdge"',
    ]);
  });
});
