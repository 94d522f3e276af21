/**
 * High-level paper edits (server/documents/paper-edits.ts): each op's behaviour, marks on
 * replace, ops seeing the ops before them, one transaction with the caller's origin, and
 * atomicity — a request with an op that cannot apply leaves the document byte-identical.
 * What the ops write is what y-prosemirror writes: the same Yjs structure for the same
 * content, and an editor's schema opens it as the content that was meant.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { prosemirrorJSONToYXmlFragment, yXmlFragmentToProseMirrorRootNode } from 'y-prosemirror';
import * as Y from 'yjs';
import { editUpdate } from '../../server/documents/document-edits.js';
import { isEditFailure, MAX_EDIT_OPS, type EditOutcome } from '../../server/documents/edit-requests.js';
import { initialPaperUpdate } from '../../server/documents/formats/content-import.js';
import { appendPaperBlocks, applyPaperEdits } from '../../server/documents/paper-edits.js';
import { renderPaper } from '../../server/documents/paper.js';
import { code, editorJSON, h, li, p, paperDoc, paperSchema as editorSchema, text, ul } from '../helpers/documents.js';
import { paperArbitrary, PROPERTY_RUNS, PROPERTY_SEED } from './paper-arbitraries.js';

const bold = { type: 'bold' };
const italic = { type: 'italic' };
const link = {
  type: 'link',
  attrs: { href: 'https://example.org/paper', target: '_blank', rel: 'noopener noreferrer nofollow', class: null, title: null },
};

/** The paper as an editor opens it: the doc read by the editor's schema (throws if it does not fit). */
function opened(doc: Y.Doc): unknown {
  const node = yXmlFragmentToProseMirrorRootNode(doc.getXmlFragment('default'), editorSchema);
  node.check();
  return node.toJSON();
}

/** A Yjs XML tree, attributes and formatting included, for comparing what two writers wrote. */
function structure(type: Y.XmlFragment | Y.XmlElement | Y.XmlText): unknown {
  if (type instanceof Y.XmlText) return { text: type.toDelta() as unknown };
  const children = type.toArray().map((child) => structure(child as Y.XmlElement | Y.XmlText));
  return type instanceof Y.XmlElement ? { name: type.nodeName, attrs: type.getAttributes(), children } : { children };
}

function applied(outcome: EditOutcome): void {
  if (isEditFailure(outcome)) throw new Error(`op ${outcome.op} failed: ${outcome.error}`);
}

const sample = () =>
  paperDoc([
    h(1, 'Title'),
    p('Hello ', text('bold world', bold), ' and more'),
    ul(li(p('item one')), li(p('item two'))),
    code('let a = 1;', 'ts'),
  ]);

describe('append', () => {
  test('adds Markdown blocks at the end, as an editor would have written them', () => {
    const doc = sample();
    applied(applyPaperEdits(doc, [{ op: 'append', markdown: '## Next\n\nA *new* paragraph.' }]));
    expect(opened(doc)).toEqual(
      editorJSON([
        h(1, 'Title'),
        p('Hello ', text('bold world', bold), ' and more'),
        ul(li(p('item one')), li(p('item two'))),
        code('let a = 1;', 'ts'),
        h(2, 'Next'),
        p('A ', text('new', italic), ' paragraph.'),
      ]),
    );
  });

  test('adds ProseMirror JSON blocks; invalid JSON content is refused with the reason', () => {
    const doc = sample();
    applied(
      applyPaperEdits(doc, [
        { op: 'append', content: [p('json ', text('linked', { type: 'link', attrs: { href: 'https://example.org/paper' } }))] },
      ]),
    );
    expect(renderPaper(doc).content.at(-1)).toEqual({
      type: 'paragraph',
      content: [
        { type: 'text', text: 'json ' },
        { type: 'text', text: 'linked', marks: [link] },
      ],
    });
    const failed = applyPaperEdits(doc, [{ op: 'append', content: [li(p('an item outside a list'))] }]);
    expect(failed).toEqual({ op: 0, error: expect.stringMatching(/^content: .*doc/) });
    expect(applyPaperEdits(doc, [{ op: 'append', content: [{ type: 'table' }] }])).toEqual({
      op: 0,
      error: expect.stringMatching(/table/),
    });
  });

  test('unsafe links in appended content are dropped, their text kept', () => {
    const doc = new Y.Doc();
    applied(
      applyPaperEdits(doc, [
        { op: 'append', markdown: '[a](javascript:alert(1)) [b](https://example.org/paper)' },
        { op: 'append', content: [p(text('c', { type: 'link', attrs: { href: 'javascript:alert(1)' } }))] },
      ]),
    );
    expect(renderPaper(doc).content).toEqual([
      {
        type: 'paragraph',
        content: [
          { type: 'text', text: '[a](javascript:alert(1)) ' },
          { type: 'text', text: 'b', marks: [link] },
        ],
      },
      { type: 'paragraph', content: [{ type: 'text', text: 'c' }] },
    ]);
  });

  test('an append that adds nothing is refused', () => {
    expect(applyPaperEdits(sample(), [{ op: 'append', markdown: '   \n' }])).toEqual({ op: 0, error: 'markdown: no blocks to add' });
  });
});

describe('insert', () => {
  test('adds blocks after the top-level block holding the first occurrence of the text', () => {
    const doc = sample();
    applied(
      applyPaperEdits(doc, [
        { op: 'insert', after: 'item two', markdown: 'After the list.' },
        { op: 'insert', after: 'bold', markdown: '> after hello' },
      ]),
    );
    expect(opened(doc)).toEqual(
      editorJSON([
        h(1, 'Title'),
        p('Hello ', text('bold world', bold), ' and more'),
        { type: 'blockquote', content: [p('after hello')] },
        ul(li(p('item one')), li(p('item two'))),
        p('After the list.'),
        code('let a = 1;', 'ts'),
      ]),
    );
  });

  test('the anchor may span marks and the lines of a block (the plain-text rule)', () => {
    const doc = sample();
    applied(
      applyPaperEdits(doc, [
        { op: 'insert', after: 'Hello bold', markdown: 'x' },
        { op: 'insert', after: 'one\nitem', markdown: 'y' },
      ]),
    );
    expect(renderPaper(doc).text).toBe('Title\nHello bold world and more\nx\nitem one\nitem two\ny\nlet a = 1;');
  });

  test('an anchor that is nowhere fails the op', () => {
    expect(applyPaperEdits(sample(), [{ op: 'insert', after: 'nowhere', markdown: 'x' }])).toEqual({
      op: 0,
      error: 'after: no block holds the text "nowhere"',
    });
  });
});

describe('replace and delete', () => {
  test('the new text takes the marks of the first replaced character', () => {
    const doc = paperDoc([p('plain ', text('bold', bold), text(' italic', italic), ' ', text('linked', link))]);
    applied(
      applyPaperEdits(doc, [
        { op: 'replace', find: 'old ita', with: 'B' },
        { op: 'replace', find: 'in ', with: 'P1 ' },
        { op: 'replace', find: 'linked', with: 'a new link' },
      ]),
    );
    expect(opened(doc)).toEqual(editorJSON([p('plaP1 ', text('bB', bold), text('lic', italic), ' ', text('a new link', link))]));
  });

  test('first occurrence by default, every occurrence with all (never inside the new text)', () => {
    const doc = paperDoc([p('a cat, a cat'), ul(li(p('cat'))), code('cat()')]);
    applied(applyPaperEdits(doc, [{ op: 'replace', find: 'cat', with: 'dog' }]));
    expect(renderPaper(doc).text).toBe('a dog, a cat\ncat\ncat()');
    applied(applyPaperEdits(doc, [{ op: 'replace', find: 'cat', with: 'catcat', all: true }]));
    expect(renderPaper(doc).text).toBe('a dog, a catcat\ncatcat\ncatcat()');
    applied(
      applyPaperEdits(doc, [
        { op: 'delete', find: 'cat', all: true },
        { op: 'delete', find: 'a ' },
      ]),
    );
    expect(renderPaper(doc).text).toBe('dog, a \n\n()');
    expect(opened(doc)).toEqual(editorJSON([p('dog, a '), ul(li(p())), code('()')]));
  });

  test('property: replace and delete act as on plain text, each new copy taking the marks of the first character it replaces', () => {
    const markSets = [[], [bold], [italic], [bold, italic]];
    const chars = fc.array(fc.record({ char: fc.constantFrom('a', 'b', ' '), marks: fc.integer({ min: 0, max: 3 }) }), {
      minLength: 1,
      maxLength: 30,
    });
    const op = fc.record({
      find: fc.string({ unit: fc.constantFrom('a', 'b'), minLength: 1, maxLength: 3 }),
      with: fc.option(fc.string({ unit: fc.constantFrom('x', 'y'), maxLength: 3 }), { nil: null }),
      all: fc.boolean(),
    });
    /** Consecutive characters with the same marks as text nodes. */
    const paragraph = (list: readonly { char: string; marks: number }[]) => {
      const content: ReturnType<typeof text>[] = [];
      let i = 0;
      while (i < list.length) {
        let j = i;
        while (j < list.length && list[j]!.marks === list[i]!.marks) j++;
        content.push(
          text(
            list
              .slice(i, j)
              .map((c) => c.char)
              .join(''),
            ...markSets[list[i]!.marks]!,
          ),
        );
        i = j;
      }
      return p(...content);
    };
    fc.assert(
      fc.property(chars, op, (list, { find, with: replacement, all }) => {
        const doc = paperDoc([paragraph(list)]);
        const before = Y.encodeStateAsUpdate(doc);
        const outcome = applyPaperEdits(doc, [
          replacement === null ? { op: 'delete', find, all } : { op: 'replace', find, with: replacement, all },
        ]);
        const plain = list.map((c) => c.char).join('');
        const expected: { char: string; marks: number }[] = [];
        let cursor = 0;
        for (let at = plain.indexOf(find); at !== -1; at = all ? plain.indexOf(find, at + find.length) : -1) {
          expected.push(...list.slice(cursor, at));
          for (const char of replacement ?? '') expected.push({ char, marks: list[at]!.marks });
          cursor = at + find.length;
        }
        if (cursor === 0 && !plain.startsWith(find)) {
          expect(isEditFailure(outcome)).toBe(true);
          expect(Y.encodeStateAsUpdate(doc)).toEqual(before);
          return;
        }
        expected.push(...list.slice(cursor));
        expect(opened(doc)).toEqual(editorJSON([expected.length > 0 ? paragraph(expected) : p()]));
      }),
      { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS },
    );
  });

  test('a line break goes only into code', () => {
    const doc = paperDoc([p('one two'), code('a b')]);
    expect(applyPaperEdits(doc, [{ op: 'replace', find: 'one ', with: 'one\n' }])).toEqual({
      op: 0,
      error: expect.stringMatching(/^with: a line break/),
    });
    applied(applyPaperEdits(doc, [{ op: 'replace', find: 'a ', with: 'a\n' }]));
    expect(renderPaper(doc).text).toBe('one two\na\nb');
  });

  test('text that is nowhere fails the op', () => {
    expect(applyPaperEdits(sample(), [{ op: 'delete', find: 'absent' }])).toEqual({
      op: 0,
      error: 'find: the text "absent" is not in the paper',
    });
    // Text spanning two blocks is in no single run.
    expect(applyPaperEdits(sample(), [{ op: 'replace', find: 'Title\nHello', with: 'x' }])).toMatchObject({ op: 0 });
  });

  test('typing elsewhere in the same paragraph survives a replace made concurrently', () => {
    const server = paperDoc([p('The quick brown fox')]);
    const client = new Y.Doc();
    Y.applyUpdate(client, Y.encodeStateAsUpdate(server));
    const paragraph = client.getXmlFragment('default').get(0) as Y.XmlElement;
    (paragraph.get(0) as Y.XmlText).insert(19, ' jumps');
    applied(applyPaperEdits(server, [{ op: 'replace', find: 'quick', with: 'slow' }]));
    Y.applyUpdate(server, Y.encodeStateAsUpdate(client));
    Y.applyUpdate(client, Y.encodeStateAsUpdate(server));
    expect(renderPaper(server).text).toBe('The slow brown fox jumps');
    expect(renderPaper(client).text).toBe('The slow brown fox jumps');
  });
});

describe('a request', () => {
  test('ops see the ops before them, and all land in one transaction with the given origin', () => {
    const doc = sample();
    const origins: unknown[] = [];
    doc.on('afterTransaction', (transaction: Y.Transaction) => origins.push(transaction.origin));
    const origin = { kind: 'http-edit' };
    const outcome = applyPaperEdits(
      doc,
      [
        { op: 'append', markdown: 'Appended **here**.' },
        { op: 'insert', after: 'Appended', markdown: '- inserted' },
        { op: 'replace', find: 'inserted', with: 'changed' },
        { op: 'delete', find: 'Title' },
      ],
      origin,
    );
    expect(outcome).toEqual({ applied: 4, ids: {} });
    expect(origins).toEqual([origin]);
    expect(renderPaper(doc).text).toBe('\nHello bold world and more\nitem one\nitem two\nlet a = 1;\nAppended here.\nchanged');
  });

  test('atomic: a failing op leaves the document byte-identical, and no transaction happens', () => {
    const failing: unknown[][] = [
      [
        { op: 'append', markdown: 'fine' },
        { op: 'replace', find: 'Hello', with: 'Bye' },
        { op: 'insert', after: 'absent', markdown: 'x' },
      ],
      [
        { op: 'append', markdown: 'fine' },
        { op: 'delete', find: 'absent' },
      ],
      [{ op: 'replace', find: 'Hello', with: 'Bye' }, { op: 'explode' }],
      [
        { op: 'delete', find: 'Hello' },
        { op: 'replace', find: 'x' },
      ],
      [{ op: 'append', markdown: 'x', content: [] }],
      [{ op: 'append', markdown: 'x', extra: true }],
      [{ op: 'delete', find: '' }],
      [
        { op: 'append', markdown: 'fine' },
        { op: 'append', content: [{ type: 'paragraph', content: [{ type: 'text', text: '' }] }] },
      ],
      [{ op: 'delete', find: 'Hello' }, 'not an op'],
      [],
      Array.from({ length: MAX_EDIT_OPS + 1 }, () => ({ op: 'append', markdown: 'x' })),
    ];
    for (const ops of failing) {
      const doc = sample();
      const before = Y.encodeStateAsUpdate(doc);
      let transactions = 0;
      doc.on('afterTransaction', () => transactions++);
      const outcome = applyPaperEdits(doc, ops);
      expect(isEditFailure(outcome), JSON.stringify(ops).slice(0, 200)).toBe(true);
      expect(Y.encodeStateAsUpdate(doc)).toEqual(before);
      expect(transactions).toBe(0);
    }
  });

  test('a failure names the op and says what is wrong', () => {
    const doc = sample();
    expect(applyPaperEdits(doc, [{ op: 'append', markdown: 'x' }, { op: 'explode' }])).toMatchObject({
      op: 1,
      error: expect.stringMatching(/^op: /),
    });
    expect(applyPaperEdits(doc, [{ op: 'replace', find: 'x' }])).toEqual({ op: 0, error: expect.stringMatching(/^with: /) });
    expect(applyPaperEdits(doc, [{ op: 'append' }])).toEqual({ op: 0, error: 'op: give either markdown or content (one of them)' });
    expect(applyPaperEdits(doc, [{ op: 'delete', find: 'x', all: 'yes' }])).toEqual({ op: 0, error: expect.stringMatching(/^all: /) });
    expect(applyPaperEdits(doc, [{ op: 'append', markdown: 'x', extra: 1 }])).toEqual({ op: 0, error: expect.stringMatching(/extra/) });
  });

  test('deeply nested content is refused before it is parsed', () => {
    let node: Record<string, unknown> = { type: 'paragraph' };
    for (let i = 0; i < 10_000; i++) node = { type: 'blockquote', content: [node] };
    expect(applyPaperEdits(sample(), [{ op: 'append', content: [node] }])).toEqual({
      op: 0,
      error: expect.stringMatching(/nested deeper/),
    });
  });

  test('a paper some client wrote as raw text is not edited by ops', () => {
    const doc = new Y.Doc();
    doc.get('default', Y.Text).insert(0, 'raw');
    const before = Y.encodeStateAsUpdate(doc);
    expect(applyPaperEdits(doc, [{ op: 'append', markdown: 'x' }])).toMatchObject({ op: 0 });
    expect(Y.encodeStateAsUpdate(doc)).toEqual(before);
  });

  test('editUpdate computes the change on a copy: the live document is only read', () => {
    const live = sample();
    const before = Y.encodeStateAsUpdate(live);
    const result = editUpdate('paper', live, [
      { op: 'replace', find: 'Hello', with: 'Hi' },
      { op: 'append', markdown: 'End.' },
    ]);
    if (isEditFailure(result)) throw new Error(result.error);
    expect(result.applied).toBe(2);
    expect(Y.encodeStateAsUpdate(live)).toEqual(before);
    Y.applyUpdate(live, result.update!);
    expect(renderPaper(live).text).toBe('Title\nHi bold world and more\nitem one\nitem two\nlet a = 1;\nEnd.');
    expect(editUpdate('paper', live, [{ op: 'delete', find: 'absent' }])).toMatchObject({ op: 0 });
  });
});

describe('what the ops write is what y-prosemirror writes', () => {
  test('property: the same Yjs structure as y-prosemirror for the same content, and the editor opens it as that content', () => {
    fc.assert(
      fc.property(paperArbitrary(), (blocks) => {
        const ours = new Y.Doc();
        appendPaperBlocks(ours, blocks);
        const theirs = new Y.Doc();
        const content = blocks.map((block) => block.toJSON() as unknown);
        prosemirrorJSONToYXmlFragment(editorSchema, { type: 'doc', content }, theirs.getXmlFragment('default'));
        expect(structure(ours.getXmlFragment('default'))).toEqual(structure(theirs.getXmlFragment('default')));
        expect(opened(ours)).toEqual({ type: 'doc', content });
      }),
      { seed: PROPERTY_SEED, numRuns: Math.ceil(PROPERTY_RUNS / 4) },
    );
  });

  test('a new paper from Markdown opens in the editor as that content', () => {
    const result = initialPaperUpdate('# A paper\n\n- with **a list**\n\n```js\nx()\n```');
    if ('error' in result) throw new Error(result.error);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, result.update);
    expect(opened(doc)).toEqual(editorJSON([h(1, 'A paper'), ul(li(p('with ', text('a list', bold)))), code('x()', 'js')]));
  });
});
