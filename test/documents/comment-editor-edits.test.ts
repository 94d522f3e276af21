/**
 * Comments under edits made the way a Tiptap editor makes them: the editor's new ProseMirror
 * document written into the fragment by the binding (y-tiptap `updateYFragment`, what the
 * sync plugin runs on every transaction).
 */
import { Transform } from '@tiptap/pm/transform';
import {
  absolutePositionToRelativePosition,
  initProseMirrorDoc,
  relativePositionToAbsolutePosition,
  updateYFragment,
} from '@tiptap/y-tiptap';
import { expect, test } from 'vitest';
import * as Y from 'yjs';
import { addComment, getComment, setCommentAnchor } from '../../server/documents/comments.js';
import { renderPaper, type ProseMirrorNode } from '../../server/documents/paper.js';
import { h, p, paperDoc, paperSchema, text } from '../helpers/documents.js';

function editorWrites(doc: Y.Doc, blocks: ProseMirrorNode[]): void {
  const fragment = doc.getXmlFragment('default');
  const { meta } = initProseMirrorDoc(fragment, paperSchema);
  const next = paperSchema.nodeFromJSON({ type: 'doc', content: blocks });
  doc.transact(() => updateYFragment(doc, fragment, next, meta));
}

function commentOn(doc: Y.Doc, passage: string): string {
  const from = renderPaper(doc).text.indexOf(passage);
  return addComment(doc, { anchor: { from, to: from + passage.length }, body: passage, author: { id: null, name: 'A' } });
}

test('typing, deleting and formatting through the editor binding keep the anchors', () => {
  // One editor transaction per step, as keystrokes are: the binding writes the difference
  // between the old and new text of each paragraph (common head and tail kept).
  const doc = paperDoc([h(1, 'Title'), p('Hello brave new world'), p('Second paragraph here')]);
  const inside = commentOn(doc, 'brave new');
  const across = commentOn(doc, 'world\nSecond');
  const steps: [ProseMirrorNode[], string, string][] = [
    [[h(1, 'A Title'), p('Hello brave new world'), p('Second paragraph here')], 'brave new', 'world\nSecond'],
    [[h(1, 'A Title'), p('Hello, brave new world'), p('Second paragraph here')], 'brave new', 'world\nSecond'],
    [[h(1, 'A Title'), p('Hello, brave and new world'), p('Second paragraph here')], 'brave and new', 'world\nSecond'],
    [[h(1, 'A Title'), p('Hello, brave and shiny new world'), p('Second paragraph here')], 'brave and shiny new', 'world\nSecond'],
    [[h(1, 'A Title'), p('Hello, brave and shiny new world!'), p('Second paragraph here')], 'brave and shiny new', 'world!\nSecond'],
    [
      [h(1, 'A Title'), p('Hello, ', text('brave and shiny', { type: 'bold' }), ' new world!'), p('Second paragraph here')],
      'brave and shiny new',
      'world!\nSecond',
    ],
    [
      [h(1, 'A Title'), p('Hello, ', text('brave', { type: 'bold' }), ' new world!'), p('Second paragraph here')],
      'brave new',
      'world!\nSecond',
    ],
    [
      [h(1, 'A Title'), p('Hello, ', text('brave', { type: 'bold' }), ' new world!'), p('The second paragraph here')],
      'brave new',
      'world!\nThe second',
    ],
    [[h(1, 'A Title'), p('Hello, world!'), p('The second paragraph here')], '', 'world!\nThe second'],
  ];
  for (const [blocks, insideQuote, acrossQuote] of steps) {
    editorWrites(doc, blocks);
    if (insideQuote === '') expect(getComment(doc, inside)).toMatchObject({ detached: true, range: null, quote: null });
    else expect(getComment(doc, inside)!.quote).toBe(insideQuote);
    expect(getComment(doc, across)!.quote).toBe(acrossQuote);
  }
});

test('splitting a paragraph re-creates the moved text, so a comment wholly on it detaches (no jump)', () => {
  const doc = paperDoc([p('Hello brave new world'), p('Second paragraph here')]);
  const before = commentOn(doc, 'brave');
  const moved = commentOn(doc, 'new world');
  editorWrites(doc, [p('Hello brave '), p('new world'), p('Second paragraph here')]);
  expect(getComment(doc, before)!.quote).toBe('brave');
  expect(getComment(doc, moved)).toMatchObject({ detached: true, range: null });
});

test('an editor that maps a comment through its split re-ties it with setCommentAnchor', () => {
  const doc = paperDoc([p('Hello brave new world'), p('Second paragraph here')]);
  const id = commentOn(doc, 'new world');
  const fragment = doc.getXmlFragment('default');
  const { doc: before, meta } = initProseMirrorDoc(fragment, paperSchema);
  // Where the editor sees the comment, from its stored anchor.
  const anchor = getComment(doc, id)!.anchor!;
  const from = relativePositionToAbsolutePosition(doc, fragment, Y.createRelativePositionFromJSON(anchor.start), meta.mapping)!;
  const to = relativePositionToAbsolutePosition(doc, fragment, Y.createRelativePositionFromJSON(anchor.end), meta.mapping)!;
  expect(before.textBetween(from, to)).toBe('new world');
  // Enter after "Hello ": the transaction splits the paragraph; the binding writes it.
  const tr = new Transform(before).split(1 + 'Hello '.length);
  doc.transact(() => updateYFragment(doc, fragment, tr.doc, meta));
  expect(getComment(doc, id)!.detached).toBe(true);
  const mappedFrom = tr.mapping.map(from, 1);
  const mappedTo = tr.mapping.map(to, -1);
  setCommentAnchor(doc, id, {
    start: absolutePositionToRelativePosition(mappedFrom, fragment, meta.mapping),
    end: absolutePositionToRelativePosition(mappedTo, fragment, meta.mapping),
  });
  expect(renderPaper(doc).text).toBe('Hello \nbrave new world\nSecond paragraph here');
  expect(getComment(doc, id)).toMatchObject({ detached: false, quote: 'new world' });
});
