/**
 * Generated papers of the supported constructs (headings, paragraphs, bold, italic, strike,
 * code, links, nested bullet and ordered lists, blockquotes, code blocks, rules, hard
 * breaks), for the format round-trip properties. Text is drawn from letters, digits, every
 * ASCII punctuation character (all of it is Markdown syntax somewhere) and a few non-ASCII
 * characters. Marked runs are words (CommonMark emphasis cannot start or end at
 * punctuation next to a word; markdown-export.ts says so), separated from their neighbours
 * by spaces as people write them.
 */
import fc from 'fast-check';
import type { Node as ModelNode } from 'prosemirror-model';
import { fitBlocks } from '../../server/documents/formats/paper-fit.js';
import type { ProseMirrorMark, ProseMirrorNode } from '../../server/documents/paper.js';

/** Seeded: a failure names its seed and path, and a rerun reproduces it. `FORMATS_SEED`/`FORMATS_RUNS` explore further. */
export const PROPERTY_SEED = Number(process.env['FORMATS_SEED'] ?? 20_260_521);
export const PROPERTY_RUNS = Number(process.env['FORMATS_RUNS'] ?? 400);

export interface PaperArbitraryOptions {
  /**
   * Whether text may hold what HTML rendering collapses: runs of spaces and tabs in inline
   * code (default true). HTML round trips read whitespace as a browser renders it.
   */
  readonly collapsibleWhitespace?: boolean;
}

/** Schema blocks (fitted, so canonical) of a generated paper. */
export function paperArbitrary(options: PaperArbitraryOptions = {}): fc.Arbitrary<ModelNode[]> {
  const collapsible = options.collapsibleWhitespace ?? true;

  const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789éßЖ中';
  const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~→';
  const char = (alphabet: string) => fc.constantFrom(...Array.from(alphabet));
  const alnumWord = fc.string({ unit: char(LETTERS), minLength: 1, maxLength: 8 });
  /** Plain text may hold any punctuation (all of it is Markdown syntax somewhere). */
  const plainWord = fc.string({
    unit: fc.oneof({ weight: 3, arbitrary: char(LETTERS) }, { weight: 2, arbitrary: char(PUNCTUATION) }),
    minLength: 1,
    maxLength: 8,
  });
  const words = (word: fc.Arbitrary<string>) => fc.array(word, { minLength: 1, maxLength: 4 }).map((list) => list.join(' '));

  const EMPHASIS = ['bold', 'italic', 'strike'] as const;
  const HREFS = [
    'https://example.org/paper',
    'https://example.org/a_(b)',
    'mailto:ada@example.org',
    '/d/notes',
    '#results',
    'https://example.org/?q=1&r=2',
  ];
  const link = fc.record({ href: fc.constantFrom(...HREFS), title: fc.option(words(alnumWord), { nil: null }) });

  /** One segment of a line: plain text, emphasized words (maybe linked), or code. */
  const segment: fc.Arbitrary<ProseMirrorNode[]> = fc.oneof(
    { weight: 4, arbitrary: words(plainWord).map((text) => [{ type: 'text', text }]) },
    {
      weight: 3,
      arbitrary: fc
        .record({ text: words(alnumWord), emphasis: fc.subarray([...EMPHASIS]), link: fc.option(link, { nil: null }) })
        .filter((run) => run.emphasis.length > 0 || run.link !== null)
        .map(({ text, emphasis, link }) => {
          const marks: ProseMirrorMark[] = emphasis.map((type) => ({ type }));
          if (link) marks.push({ type: 'link', attrs: link });
          return [{ type: 'text', text, marks }];
        }),
    },
    {
      weight: 1,
      arbitrary: fc
        .string({ unit: fc.oneof(char(LETTERS), char(PUNCTUATION), fc.constant(' ')), minLength: 1, maxLength: 10 })
        .map((text) => (collapsible ? text : text.trim().replace(/ +/g, ' ') || 'x'))
        .map((text) => [{ type: 'text', text, marks: [{ type: 'code' }] }]),
    },
  );

  /** A line: segments separated by spaces. */
  const line = fc
    .array(segment, { minLength: 1, maxLength: 4 })
    .map((segments) => segments.flatMap((nodes, i) => (i === 0 ? nodes : [{ type: 'text', text: ' ' }, ...nodes])));
  /** A paragraph's content: lines separated by hard breaks. */
  const lines = fc
    .array(line, { minLength: 1, maxLength: 3 })
    .map((all) => all.flatMap((nodes, i) => (i === 0 ? nodes : [{ type: 'hardBreak' }, ...nodes])));

  const codeText = fc
    .array(fc.string({ unit: fc.oneof(char(LETTERS), char(PUNCTUATION), fc.constantFrom(' ', '\t', '`', '~')), maxLength: 20 }), {
      minLength: 1,
      maxLength: 4,
    })
    .map((list) => list.join('\n'));

  const { block } = fc.letrec<{ block: ProseMirrorNode; blocks: ProseMirrorNode[]; item: ProseMirrorNode }>((tie) => ({
    block: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      lines.map((content) => ({ type: 'paragraph', content })),
      fc
        .record({ level: fc.integer({ min: 1, max: 6 }), content: line })
        .map(({ level, content }) => ({ type: 'heading', attrs: { level }, content })),
      fc.record({ language: fc.constantFrom(null, 'ts', 'python', 'c++', 'objective-c'), code: codeText }).map(({ language, code }) => ({
        type: 'codeBlock',
        attrs: { language },
        content: code === '' ? [] : [{ type: 'text', text: code }],
      })),
      fc.constant({ type: 'horizontalRule' }),
      tie('blocks').map((content) => ({ type: 'blockquote', content })),
      fc.array(tie('item'), { minLength: 1, maxLength: 3 }).map((content) => ({ type: 'bulletList', content })),
      fc
        .record({ start: fc.integer({ min: 0, max: 120 }), content: fc.array(tie('item'), { minLength: 1, maxLength: 3 }) })
        .map(({ start, content }) => ({ type: 'orderedList', attrs: { start }, content })),
    ),
    blocks: fc.array(tie('block'), { minLength: 1, maxLength: 3 }),
    item: fc
      .record({ first: lines, rest: fc.array(tie('block'), { maxLength: 2 }) })
      .map(({ first, rest }) => ({ type: 'listItem', content: [{ type: 'paragraph', content: first }, ...rest] })),
  }));

  return fc.array(block, { minLength: 1, maxLength: 5 }).map((blocks) => fitBlocks(blocks));
}
