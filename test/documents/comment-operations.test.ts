/**
 * Comment operations on one document: create (from text offsets and from relative positions
 * an editor computed with y-tiptap), reply, resolve/reopen, delete, bad input, and what
 * other clients see after sync.
 */
import { absolutePositionToRelativePosition, initProseMirrorDoc } from '@tiptap/y-tiptap';
import { describe, expect, test } from 'vitest';
import * as Y from 'yjs';
import {
  addComment,
  COMMENTS_MAP,
  CommentError,
  deleteComment,
  getComment,
  listComments,
  replyToComment,
  setCommentAnchor,
  setCommentResolved,
} from '../../server/documents/comments.js';
import { renderPaper } from '../../server/documents/paper.js';
import { h, li, p, paperDoc, paperSchema, quote, text, ul } from '../helpers/documents.js';

const ada = { id: 'u-ada', name: 'Ada' };
const bob = { id: 'u-bob', name: 'Bob' };

function sample(): Y.Doc {
  return paperDoc([
    h(1, 'Method'),
    p('We measured ', text('the reaction rate', { type: 'bold' }), ' twice.', { type: 'hardBreak' }, 'Then again.'),
    ul(li(p('first sample')), li(p('second sample'))),
    quote(p('A quoted claim')),
  ]);
}

function offsetOf(doc: Y.Doc, passage: string): { from: number; to: number } {
  const from = renderPaper(doc).text.indexOf(passage);
  if (from < 0) throw new Error(`no "${passage}" in the paper`);
  return { from, to: from + passage.length };
}

describe('comments', () => {
  test('a comment from text offsets quotes its passage, in renderPaper coordinates', () => {
    const doc = sample();
    for (const passage of ['reaction rate', 'twice.\nThen', 'second sample', 'sample\nsecond', 'quoted claim', 'Method']) {
      const anchor = offsetOf(doc, passage);
      const id = addComment(doc, { anchor, body: `on ${passage}`, author: ada });
      const view = getComment(doc, id)!;
      expect(view.range).toEqual(anchor);
      expect(view.quote).toBe(passage);
      expect(view.detached).toBe(false);
    }
  });

  test('the view carries body, author, time, resolved flag, anchor JSON and replies', () => {
    const doc = sample();
    const id = addComment(doc, { anchor: offsetOf(doc, 'Then again'), body: 'Why?', author: ada, createdAt: '2026-01-02T03:04:05.000Z' });
    const view = listComments(doc)[0]!;
    expect(view).toMatchObject({
      id,
      body: 'Why?',
      authorId: 'u-ada',
      authorName: 'Ada',
      createdAt: '2026-01-02T03:04:05.000Z',
      resolved: false,
      quote: 'Then again',
      detached: false,
      replies: [],
    });
    expect(view.anchor!.start).toMatchObject({ item: { client: doc.clientID }, assoc: 0 });
    expect(view.anchor!.end).toMatchObject({ item: { client: doc.clientID }, assoc: -1 });
    // The view is plain JSON (what the HTTP API sends).
    expect(JSON.parse(JSON.stringify(view))).toEqual(view);
  });

  test('a passage that starts or ends on a line break is tied to its first and last characters', () => {
    const doc = sample();
    const { from, to } = offsetOf(doc, '\nfirst sample\n');
    const view = getComment(doc, addComment(doc, { anchor: { from, to }, body: 'x', author: ada }))!;
    expect(view.quote).toBe('first sample');
  });

  test('relative positions computed by the editor (y-tiptap) anchor the same passage', () => {
    const doc = sample();
    const fragment = doc.getXmlFragment('default');
    const { doc: pmDoc, mapping } = initProseMirrorDoc(fragment, paperSchema);
    let from = -1;
    pmDoc.descendants((node, pos) => {
      if (from < 0 && node.isText && node.text!.includes('reaction')) from = pos + node.text!.indexOf('reaction');
    });
    const to = from + 'reaction rate'.length;
    const start = absolutePositionToRelativePosition(from, fragment, mapping);
    const end = absolutePositionToRelativePosition(to, fragment, mapping);
    // As JSON too, the way a browser would send them.
    const id = addComment(doc, {
      anchor: { start: Y.relativePositionToJSON(start), end: Y.relativePositionToJSON(end) },
      body: 'b',
      author: ada,
    });
    expect(getComment(doc, id)!.quote).toBe('reaction rate');
    const again = addComment(doc, { anchor: { start, end }, body: 'c', author: ada });
    expect(getComment(doc, again)!.quote).toBe('reaction rate');
  });

  test('reply, resolve, reopen and delete', () => {
    const doc = sample();
    const id = addComment(doc, { anchor: offsetOf(doc, 'twice'), body: 'Twice?', author: ada });
    replyToComment(doc, id, { body: 'Yes, to check.', author: bob, id: 'r1', createdAt: '2026-01-01T00:00:00.000Z' });
    replyToComment(doc, id, { body: 'Fine.', author: ada });
    setCommentResolved(doc, id, true);
    let view = getComment(doc, id)!;
    expect(view.resolved).toBe(true);
    expect(view.replies.map((reply) => [reply.authorName, reply.body])).toEqual([
      ['Bob', 'Yes, to check.'],
      ['Ada', 'Fine.'],
    ]);
    expect(view.replies[0]).toEqual({
      id: 'r1',
      body: 'Yes, to check.',
      authorId: 'u-bob',
      authorName: 'Bob',
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    setCommentResolved(doc, id, false);
    view = getComment(doc, id)!;
    expect(view.resolved).toBe(false);
    deleteComment(doc, id);
    expect(getComment(doc, id)).toBeNull();
    expect(listComments(doc)).toEqual([]);
  });

  test('comments sync to another replica and show in its renderPaper', () => {
    const doc = sample();
    const other = new Y.Doc();
    Y.applyUpdate(other, Y.encodeStateAsUpdate(doc));
    const id = addComment(doc, { anchor: offsetOf(doc, 'quoted'), body: 'Source?', author: ada });
    Y.applyUpdate(other, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(other)));
    replyToComment(other, id, { body: 'Added.', author: bob });
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(other, Y.encodeStateVector(doc)));
    expect(renderPaper(other).comments).toEqual(renderPaper(doc).comments);
    expect(renderPaper(doc).comments[0]).toMatchObject({ quote: 'quoted', replies: [{ body: 'Added.' }] });
  });

  test('listing orders comments by position, detached ones last', () => {
    const doc = sample();
    const later = addComment(doc, { anchor: offsetOf(doc, 'second'), body: '2', author: ada, id: 'a' });
    const earlier = addComment(doc, { anchor: offsetOf(doc, 'measured'), body: '1', author: ada, id: 'b' });
    expect(listComments(doc).map((view) => view.id)).toEqual([earlier, later]);
  });

  test('bad input is refused with a CommentError and changes nothing', () => {
    const doc = sample();
    const length = renderPaper(doc).text.length;
    const before = Y.encodeStateVector(doc);
    const refuse = (run: () => unknown, code: string): void => {
      try {
        run();
        expect.fail('expected a CommentError');
      } catch (error) {
        expect(error).toBeInstanceOf(CommentError);
        expect((error as CommentError).code).toBe(code);
      }
    };
    refuse(() => addComment(doc, { anchor: { from: 3, to: 3 }, body: 'x', author: ada }), 'invalid_anchor');
    refuse(() => addComment(doc, { anchor: { from: 5, to: 2 }, body: 'x', author: ada }), 'invalid_anchor');
    refuse(() => addComment(doc, { anchor: { from: 0, to: length + 1 }, body: 'x', author: ada }), 'invalid_anchor');
    refuse(() => addComment(doc, { anchor: { from: -1, to: 2 }, body: 'x', author: ada }), 'invalid_anchor');
    refuse(() => addComment(doc, { anchor: { from: 0.5, to: 2 }, body: 'x', author: ada }), 'invalid_anchor');
    refuse(
      () => addComment(doc, { anchor: { start: { item: { client: 1, clock: 99 } }, end: { tname: 'nope' } }, body: 'x', author: ada }),
      'invalid_anchor',
    );
    refuse(() => addComment(doc, { anchor: { from: 0, to: 2 }, body: '  ', author: ada }), 'invalid_input');
    refuse(() => addComment(doc, { anchor: { from: 0, to: 2 }, body: 'x'.repeat(10_001), author: ada }), 'invalid_input');
    refuse(
      () => addComment(doc, { anchor: { from: 0, to: 2 }, body: 'x', author: { id: 7 as unknown as string, name: null } }),
      'invalid_input',
    );
    refuse(() => addComment(doc, { anchor: { from: 0, to: 2 }, body: 'x', author: ada, createdAt: 'yesterday' }), 'invalid_input');
    refuse(() => replyToComment(doc, 'missing', { body: 'x', author: ada }), 'not_found');
    refuse(() => setCommentResolved(doc, 'missing', true), 'not_found');
    refuse(() => deleteComment(doc, 'missing'), 'not_found');
    refuse(() => setCommentAnchor(doc, 'missing', { from: 0, to: 2 }), 'not_found');
    expect(Y.encodeStateVector(doc)).toEqual(before);
    addComment(doc, { anchor: { from: 0, to: 2 }, body: 'x', author: ada, id: 'same' });
    refuse(() => addComment(doc, { anchor: { from: 0, to: 2 }, body: 'x', author: ada, id: 'same' }), 'exists');
  });

  test('comments written by other clients as plain objects are read, and junk entries are skipped', () => {
    const doc = sample();
    const real = getComment(doc, addComment(doc, { anchor: offsetOf(doc, 'Method'), body: 'x', author: ada }))!;
    const comments = doc.getMap(COMMENTS_MAP);
    comments.set('plain', {
      anchor: real.anchor,
      body: 'plain',
      authorId: null,
      authorName: 'Guest',
      createdAt: '2026-01-01T00:00:00Z',
      resolved: true,
      replies: [{ body: 'r' }],
    });
    comments.set('bad-anchor', { anchor: { start: 'x', end: 3 }, body: 'lost' });
    comments.set('junk', 42);
    comments.set('no-body', { anchor: real.anchor });
    const views = listComments(doc);
    expect(views.map((view) => view.id).sort()).toEqual(['bad-anchor', real.id, 'plain'].sort());
    expect(views.find((view) => view.id === 'plain')).toMatchObject({
      quote: 'Method',
      resolved: true,
      authorName: 'Guest',
      replies: [{ body: 'r' }],
    });
    expect(views.find((view) => view.id === 'bad-anchor')).toMatchObject({ detached: true, range: null, quote: null, anchor: null });
    // Replying to a plain-object comment keeps its fields and its replies.
    replyToComment(doc, 'plain', { body: 'second', author: bob });
    expect(getComment(doc, 'plain')).toMatchObject({ quote: 'Method', resolved: true, replies: [{ body: 'r' }, { body: 'second' }] });
  });
});
