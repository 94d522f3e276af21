/**
 * diffPapers: added, removed and changed blocks, and a word-level text diff over the whole
 * paper that rebuilds both sides exactly.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type * as Y from 'yjs';
import { diffPapers, type PaperDiff, type TextChange } from '../../server/documents/paper-diff.js';
import { renderPaper, type PaperContent, type ProseMirrorNode } from '../../server/documents/paper.js';
import { code, h, li, p, paperDoc, quote, text, ul } from '../helpers/documents.js';

const render = (blocks: ProseMirrorNode[]): PaperContent => renderPaper(paperDoc(blocks));

function side(parts: readonly TextChange[], keep: 'added' | 'removed'): string {
  return parts
    .filter((part) => part.type === 'equal' || part.type === keep)
    .map((part) => part.value)
    .join('');
}

/** The invariants every diff must satisfy. */
function checked(from: PaperContent, to: PaperContent): PaperDiff {
  const diff = diffPapers(from, to);
  expect(diff.kind).toBe('paper');
  expect(side(diff.text, 'removed')).toBe(from.text);
  expect(side(diff.text, 'added')).toBe(to.text);
  for (let i = 1; i < diff.text.length; i++) expect(diff.text[i]!.type).not.toBe(diff.text[i - 1]!.type);
  expect(diff.stats.unchanged + diff.stats.changed + diff.stats.removed).toBe(from.content.length);
  expect(diff.stats.unchanged + diff.stats.changed + diff.stats.added).toBe(to.content.length);
  for (const block of diff.blocks) {
    if (block.op === 'changed') {
      expect(side(block.text, 'removed')).toBe(renderText(block.from));
      expect(side(block.text, 'added')).toBe(renderText(block.to));
    }
  }
  return diff;
}

function renderText(block: ProseMirrorNode): string {
  return render([block]).text;
}

const base = [
  h(1, 'Results'),
  p('The quick brown fox jumps over the lazy dog.'),
  ul(li(p('first point')), li(p('second point'))),
  p('Closing remarks.'),
];

describe('diffPapers', () => {
  test('identical papers: no block changes, the whole text equal', () => {
    const diff = checked(render(base), render(base));
    expect(diff.blocks).toEqual([]);
    expect(diff.text).toEqual([{ type: 'equal', value: render(base).text }]);
    expect(diff.stats).toEqual({ added: 0, removed: 0, changed: 0, unchanged: 4 });
  });

  test('a word changed inside a paragraph: one changed block with a word diff', () => {
    const after = [...base];
    after[1] = p('The slow brown fox jumps over the lazy cat.');
    const diff = checked(render(base), render(after));
    expect(diff.blocks).toHaveLength(1);
    const block = diff.blocks[0]!;
    expect(block).toMatchObject({ op: 'changed', fromIndex: 1, toIndex: 1 });
    if (block.op !== 'changed') throw new Error('expected a changed block');
    expect(block.text.filter((part) => part.type === 'removed').map((part) => part.value.trim())).toEqual(['quick', 'dog']);
    expect(block.text.filter((part) => part.type === 'added').map((part) => part.value.trim())).toEqual(['slow', 'cat']);
    expect(diff.text.filter((part) => part.type !== 'equal').map((part) => [part.type, part.value.trim()])).toEqual([
      ['removed', 'quick'],
      ['added', 'slow'],
      ['removed', 'dog'],
      ['added', 'cat'],
    ]);
  });

  test('blocks inserted and removed are reported as such, with their index and text', () => {
    const after = [base[0]!, p('A brand new paragraph.'), base[1]!, base[2]!, code('x = 1', 'py')];
    const diff = checked(render(base), render(after));
    expect(diff.blocks.map((block) => block.op)).toEqual(['added', 'removed', 'added']);
    expect(diff.blocks[0]).toMatchObject({ op: 'added', toIndex: 1, text: 'A brand new paragraph.' });
    expect(diff.blocks[1]).toMatchObject({ op: 'removed', fromIndex: 3, text: 'Closing remarks.' });
    expect(diff.blocks[2]).toMatchObject({ op: 'added', toIndex: 4, block: { type: 'codeBlock', attrs: { language: 'py' } } });
  });

  test('formatting and attribute changes are changed blocks whose text is all equal', () => {
    const after = [h(2, 'Results'), p('The quick brown ', text('fox', { type: 'bold' }), ' jumps over the lazy dog.'), base[2]!, base[3]!];
    const diff = checked(render(base), render(after));
    expect(diff.blocks.map((block) => [block.op, block.op === 'changed' ? block.to.type : ''])).toEqual([
      ['changed', 'heading'],
      ['changed', 'paragraph'],
    ]);
    for (const block of diff.blocks) if (block.op === 'changed') expect(block.text.every((part) => part.type === 'equal')).toBe(true);
  });

  test('an unrelated block in place of another is removed plus added, not changed', () => {
    const after = [...base];
    after[3] = p('Entirely different words here.');
    const diff = checked(render(base), render(after));
    expect(diff.blocks.map((block) => block.op)).toEqual(['removed', 'added']);
  });

  test('a block of another type is never paired with the one it replaces', () => {
    const after = [...base];
    after[3] = quote(p('Closing remarks.'));
    const diff = checked(render(base), render(after));
    expect(diff.blocks.map((block) => block.op)).toEqual(['removed', 'added']);
  });

  test('from and to an empty paper', () => {
    const empty = render([]);
    expect(checked(empty, render(base)).blocks.every((block) => block.op === 'added')).toBe(true);
    expect(checked(render(base), empty).blocks.every((block) => block.op === 'removed')).toBe(true);
    expect(checked(empty, empty)).toMatchObject({ blocks: [], text: [] });
  });

  test('a version against the live document after collaborative edits', () => {
    const doc = paperDoc(base);
    const version = renderPaper(doc);
    const fragment = doc.getXmlFragment('default');
    ((fragment.get(1) as Y.XmlElement).get(0) as Y.XmlText).insert(4, 'very ');
    fragment.delete(3, 1);
    const diff = checked(version, renderPaper(doc));
    expect(diff.blocks.map((block) => block.op)).toEqual(['changed', 'removed']);
  });

  test('property: the text diff rebuilds both papers and the counts add up', () => {
    const vocabulary = ['alpha', 'beta', 'gamma', 'delta', 'eps', 'zeta', 'eta'];
    const sentence = fc.array(fc.constantFrom(...vocabulary), { minLength: 0, maxLength: 6 }).map((words) => words.join(' '));
    const block = fc.oneof(
      sentence.map((value) => (value ? p(value) : p())),
      sentence.map((value) => h(2, value || 'title')),
      fc.array(sentence, { minLength: 1, maxLength: 3 }).map((items) => ul(...items.map((value) => li(value ? p(value) : p())))),
    );
    const paper = fc.array(block, { maxLength: 12 });
    fc.assert(
      fc.property(paper, paper, (a, b) => {
        checked(render(a), render(b));
        checked(render(a), render([...a.slice(0, 3), ...b, ...a.slice(3)]));
      }),
      { seed: 424242, numRuns: 60 },
    );
  });
});
