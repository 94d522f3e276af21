/**
 * The offsets comments use agree with renderPaper's `text` on any structure an editor writes
 * (headings, marks, hard breaks, empty paragraphs, nested lists, quotes, code blocks), and every
 * character's position resolves back to its own offset.
 */
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { addComment, getComment } from '../../server/documents/comments.js';
import { renderPaper, type ProseMirrorNode } from '../../server/documents/paper.js';
import { indexPaperPositions } from '../../server/documents/paper-positions.js';
import { code, h, li, ol, p, paperDoc, quote, text, ul } from '../helpers/documents.js';

const word = fc.constantFrom('alpha', 'beta', 'γάμμα', 'delta 🙂', 'x', '');
const inline = fc.oneof(
  word.filter((value) => value !== '').map((value) => text(value)),
  word.filter((value) => value !== '').map((value) => text(value, { type: 'bold' })),
  word.filter((value) => value !== '').map((value) => text(value, { type: 'italic' }, { type: 'code' })),
  fc.constant<ProseMirrorNode>({ type: 'hardBreak' }),
);
const paragraph = fc.array(inline, { maxLength: 4 }).map((content) => p(...content));
const block: fc.Arbitrary<ProseMirrorNode> = fc.letrec<{ block: ProseMirrorNode }>((tie) => ({
  block: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    paragraph,
    word.map((value) => h(2, value || 'title')),
    fc.array(word, { minLength: 1, maxLength: 3 }).map((lines) => code(lines.join('\n'))),
    fc.constant<ProseMirrorNode>({ type: 'horizontalRule' }),
    fc
      .array(fc.tuple(paragraph, fc.option(tie('block'), { nil: undefined })), { minLength: 1, maxLength: 3 })
      .map((items) =>
        ul(
          ...items.map(([first, nested]) =>
            nested && (nested.type === 'bulletList' || nested.type === 'paragraph') ? li(first, nested) : li(first),
          ),
        ),
      ),
    fc.array(paragraph, { minLength: 1, maxLength: 2 }).map((items) => ol(...items.map((item) => li(item)))),
    fc.array(paragraph, { minLength: 1, maxLength: 2 }).map((items) => quote(...items)),
  ),
})).block;

test('property: positions index and renderPaper agree on text and offsets', () => {
  fc.assert(
    fc.property(fc.array(block, { maxLength: 8 }), (blocks) => {
      const doc = paperDoc(blocks);
      const { text: rendered } = renderPaper(doc);
      const index = indexPaperPositions(doc.getXmlFragment('default'));
      expect(index.text).toBe(rendered);
      for (let offset = 0; offset < rendered.length; offset++) {
        const right = index.relativePositionAt(offset, 0);
        if (right === null) continue;
        // Tied to the first character at or after offset, it resolves to that character's offset.
        expect(right.offset).toBeGreaterThanOrEqual(offset);
        expect(index.offsetOf(right.position)).toBe(right.offset);
        const left = index.relativePositionAt(right.offset + 1, -1)!;
        expect(left.offset).toBe(right.offset + 1);
        expect(index.offsetOf(left.position)).toBe(right.offset + 1);
      }
    }),
    { seed: 7, numRuns: 60 },
  );
});

test('property: a comment on any range quotes that range without its edge line breaks', () => {
  fc.assert(
    fc.property(fc.array(block, { minLength: 1, maxLength: 6 }), fc.nat(), fc.nat(), (blocks, a, b) => {
      const doc = paperDoc(blocks);
      const { text: rendered } = renderPaper(doc);
      if (rendered.length === 0) return;
      const from = a % rendered.length;
      const to = from + 1 + (b % (rendered.length - from));
      const index = indexPaperPositions(doc.getXmlFragment('default'));
      const expected = index.textRange(from, to);
      if (expected === null) {
        expect(() => addComment(doc, { anchor: { from, to }, body: 'x', author: { id: null, name: null } })).toThrow();
        return;
      }
      const id = addComment(doc, { anchor: { from, to }, body: 'x', author: { id: null, name: null } });
      const view = getComment(doc, id)!;
      expect(view.range).toEqual(expected);
      expect(view.quote).toBe(rendered.slice(expected.from, expected.to));
      expect(rendered.slice(from, to).includes(view.quote!)).toBe(true);
    }),
    { seed: 11, numRuns: 80 },
  );
});
