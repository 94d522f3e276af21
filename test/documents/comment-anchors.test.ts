/**
 * Comment anchors through concurrent edits: two or three offline replicas edit around and
 * inside a commented passage, or delete it, and are merged in every order. The comment
 * stays on its passage, grows and shrinks with it, detaches when it is gone whole, and every
 * merge order reports the same thing.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import * as Y from 'yjs';
import { addComment, getComment, listComments, type CommentView } from '../../server/documents/comments.js';
import { renderPaper } from '../../server/documents/paper.js';
import { p, paperDoc } from '../helpers/documents.js';

const ada = { id: 'u-ada', name: 'Ada' };

/** Replicas of `base` with fixed client ids (so runs are reproducible). */
function branch(base: Y.Doc, count: number): Y.Doc[] {
  const state = Y.encodeStateAsUpdate(base);
  return Array.from({ length: count }, (_, i) => {
    const doc = new Y.Doc();
    doc.clientID = 1000 + i;
    Y.applyUpdate(doc, state);
    return doc;
  });
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

/** One fresh document per merge order of the replicas' states. */
function mergesInEveryOrder(replicas: readonly Y.Doc[]): Y.Doc[] {
  return permutations(replicas).map((order) => {
    const merged = new Y.Doc();
    for (const replica of order) Y.applyUpdate(merged, Y.encodeStateAsUpdate(replica));
    return merged;
  });
}

/** Every replica receives the others' changes (in its own order); returns them synced. */
function syncAll(replicas: readonly Y.Doc[]): void {
  const updates = replicas.map((replica) => Y.encodeStateAsUpdate(replica));
  replicas.forEach((replica, i) => {
    for (let k = 1; k < replicas.length; k++) Y.applyUpdate(replica, updates[(i + k) % replicas.length]!);
  });
}

function textNode(doc: Y.Doc, block: number): Y.XmlText {
  return (doc.getXmlFragment('default').get(block) as Y.XmlElement).get(0) as Y.XmlText;
}

function insertAt(doc: Y.Doc, block: number, before: string, value: string): void {
  const node = textNode(doc, block);
  const at = node.toString().indexOf(before);
  if (at < 0) throw new Error(`no "${before}"`);
  node.insert(at, value);
}

function insertAfter(doc: Y.Doc, block: number, after: string, value: string): void {
  const node = textNode(doc, block);
  const at = node.toString().indexOf(after);
  if (at < 0) throw new Error(`no "${after}"`);
  node.insert(at + after.length, value);
}

function remove(doc: Y.Doc, block: number, passage: string): void {
  const node = textNode(doc, block);
  const at = node.toString().indexOf(passage);
  if (at < 0) throw new Error(`no "${passage}"`);
  node.delete(at, passage.length);
}

function commentOn(doc: Y.Doc, passage: string, id: string): string {
  const from = renderPaper(doc).text.indexOf(passage);
  return addComment(doc, { anchor: { from, to: from + passage.length }, body: id, author: ada, id, createdAt: '2026-01-01T00:00:00.000Z' });
}

/** All merge orders agree; returns the comment as every one of them sees it. */
function agreedView(replicas: readonly Y.Doc[], id: string): { view: CommentView; text: string } {
  const merges = mergesInEveryOrder(replicas);
  const first = renderPaper(merges[0]!);
  for (const merged of merges.slice(1)) expect(renderPaper(merged)).toEqual(first);
  syncAll(replicas);
  for (const replica of replicas) expect(renderPaper(replica)).toEqual(first);
  const view = first.comments.find((comment) => comment.id === id);
  if (view === undefined) throw new Error(`comment ${id} is gone`);
  if (view.range !== null) expect(first.text.slice(view.range.from, view.range.to)).toBe(view.quote);
  return { view, text: first.text };
}

describe('comment anchors under concurrent edits', () => {
  const base = (): Y.Doc => paperDoc([p('The quick brown fox jumps over the lazy dog'), p('Second paragraph here'), p('Third one')]);

  test('inserts exactly at both edges stay outside, inserts inside widen the comment', () => {
    const origin = base();
    const id = commentOn(origin, 'brown fox', 'c');
    const [a, b, c] = branch(origin, 3) as [Y.Doc, Y.Doc, Y.Doc];
    insertAt(a, 0, 'brown', 'very ');
    insertAfter(b, 0, 'fox', ' cub');
    insertAfter(c, 0, 'brown', ' old');
    const { view, text } = agreedView([a, b, c], id);
    expect(text.split('\n')[0]).toBe('The quick very brown old fox cub jumps over the lazy dog');
    expect(view.quote).toBe('brown old fox');
    expect(view.detached).toBe(false);
  });

  test('deletes around and partly inside shrink it, edits elsewhere shift it', () => {
    const origin = base();
    const id = commentOn(origin, 'brown fox jumps', 'c');
    const [a, b, c] = branch(origin, 3) as [Y.Doc, Y.Doc, Y.Doc];
    remove(a, 0, 'quick bro'); // across the start edge
    remove(b, 0, 'ps over'); // across the end edge
    insertAt(c, 0, 'The', 'Look: '); // before it, same paragraph
    remove(c, 0, ' fox'); // inside
    const { view, text } = agreedView([a, b, c], id);
    expect(text.split('\n')[0]).toBe('Look: The wn jum the lazy dog');
    expect(view.quote).toBe('wn jum');
  });

  test('a comment across paragraphs follows edits in each of them', () => {
    const origin = base();
    const id = commentOn(origin, 'lazy dog\nSecond paragraph here\nThird', 'c');
    const [a, b] = branch(origin, 2) as [Y.Doc, Y.Doc];
    remove(a, 0, 'lazy ');
    insertAt(a, 1, 'paragraph', 'long ');
    remove(b, 2, 'Thi');
    insertAt(b, 0, 'The', '>> ');
    const { view } = agreedView([a, b], id);
    expect(view.quote).toBe('dog\nSecond long paragraph here\nrd');
  });

  test('when its text is deleted whole it is detached, and other comments stay put', () => {
    const origin = base();
    const gone = commentOn(origin, 'brown fox', 'gone');
    const kept = commentOn(origin, 'lazy dog', 'kept');
    const [a, b] = branch(origin, 2) as [Y.Doc, Y.Doc];
    remove(a, 0, 'quick brown fox ');
    insertAt(b, 0, 'lazy', 'very ');
    const { view } = agreedView([a, b], gone);
    expect(view).toMatchObject({ detached: true, range: null, quote: null });
    expect(agreedView([a, b], kept).view.quote).toBe('lazy dog');
    // Detached comments are listed after the attached ones, still with body and anchor.
    expect(listComments(a).map((comment) => comment.id)).toEqual([kept, gone]);
    expect(getComment(a, gone)!.anchor).not.toBeNull();
  });

  test('two replicas deleting the two halves concurrently detach it', () => {
    const origin = base();
    const id = commentOn(origin, 'brown fox', 'c');
    const [a, b] = branch(origin, 2) as [Y.Doc, Y.Doc];
    remove(a, 0, 'brown ');
    remove(b, 0, 'fox');
    const { view } = agreedView([a, b], id);
    expect(view.detached).toBe(true);
  });

  test('text typed inside by one replica while another deletes the passage keeps the new text commented', () => {
    const origin = base();
    const id = commentOn(origin, 'brown fox', 'c');
    const [a, b] = branch(origin, 2) as [Y.Doc, Y.Doc];
    remove(a, 0, 'brown fox');
    insertAfter(b, 0, 'brown', ' red');
    const { view } = agreedView([a, b], id);
    expect(view.quote).toBe(' red');
  });

  test('deleting the whole paragraph detaches its comments even while another replica edits in it', () => {
    const origin = base();
    const inside = commentOn(origin, 'paragraph', 'inside');
    const across = commentOn(origin, 'dog\nSecond', 'across');
    const [a, b] = branch(origin, 2) as [Y.Doc, Y.Doc];
    a.getXmlFragment('default').delete(1, 1);
    insertAt(b, 1, 'here', 'right ');
    const merged = agreedView([a, b], inside);
    expect(merged.text).toBe('The quick brown fox jumps over the lazy dog\nThird one');
    expect(merged.view.detached).toBe(true);
    // A comment that only partly lay in the deleted paragraph keeps the rest.
    expect(agreedView([a, b], across).view.quote).toBe('dog');
  });

  test('a comment added concurrently with the deletion of its text is detached after the merge', () => {
    const origin = base();
    const [a, b] = branch(origin, 2) as [Y.Doc, Y.Doc];
    const id = commentOn(a, 'Third', 'late');
    remove(b, 2, 'Third one');
    const { view } = agreedView([a, b], id);
    expect(view.detached).toBe(true);
  });
});

/*
 * Property: the commented characters are upper case, the others lower case, inserted text
 * is digits. Whatever three replicas do (insert, delete ranges, delete whole paragraphs,
 * the comment itself added on one of them concurrently), every merge order agrees, and the
 * comment covers exactly the surviving commented characters (plus text typed among them),
 * never an uncommented one; it is detached exactly when no commented character and no text
 * typed among them survives.
 */
const runs = Number(process.env.PAPER_FUZZ_RUNS ?? 60);

const operation = fc.record({
  replica: fc.integer({ min: 0, max: 2 }),
  kind: fc.constantFrom('insert', 'insert', 'delete', 'delete', 'deleteBlock'),
  block: fc.nat(10),
  at: fc.nat(40),
  length: fc.integer({ min: 1, max: 8 }),
  digits: fc.stringMatching(/^[0-9]{1,4}$/),
});

type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;

function apply(doc: Y.Doc, op: Operation): void {
  const fragment = doc.getXmlFragment('default');
  if (fragment.length === 0) return;
  const index = op.block % fragment.length;
  if (op.kind === 'deleteBlock') {
    fragment.delete(index, 1);
    return;
  }
  const paragraph = fragment.get(index) as Y.XmlElement;
  let node = paragraph.get(0) as Y.XmlText | null;
  if (node === null) {
    node = new Y.XmlText();
    paragraph.insert(0, [node]);
  }
  const at = op.at % (node.length + 1);
  if (op.kind === 'insert') node.insert(at, op.digits);
  else node.delete(at, Math.min(op.length, node.length - at));
}

describe('comment anchors: property', () => {
  test('every merge order agrees and the comment covers exactly its surviving text', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 18 }), fc.boolean(), (ops, commentConcurrently) => {
        const origin = paperDoc([p('abcdefDEFGH'), p('IJKLMN'), p('OPQRstuvw'), p('xyz')]);
        const passage = 'DEFGH\nIJKLMN\nOPQR';
        if (!commentConcurrently) commentOn(origin, passage, 'c');
        const replicas = branch(origin, 3);
        if (commentConcurrently) commentOn(replicas[0]!, passage, 'c');
        for (const op of ops) apply(replicas[op.replica]!, op);

        const merges = mergesInEveryOrder(replicas);
        const rendered = merges.map((merged) => renderPaper(merged));
        for (const other of rendered.slice(1)) expect(other).toEqual(rendered[0]);
        const { text, comments } = rendered[0]!;
        const view = comments.find((comment) => comment.id === 'c')!;
        const surviving = text.replace(/[^A-Z]/g, '');
        if (view.detached) {
          expect(surviving).toBe('');
          expect(view.range).toBeNull();
          return;
        }
        expect(text.slice(view.range!.from, view.range!.to)).toBe(view.quote);
        expect(view.quote).not.toMatch(/[a-z]/);
        expect(view.quote!.replace(/[^A-Z]/g, '')).toBe(surviving);
        expect(view.quote).toMatch(/^[A-Z0-9]/);
        expect(view.quote).toMatch(/[A-Z0-9]$/);
      }),
      { seed: 20261203, numRuns: runs },
    );
  });
});
