/**
 * Markdown in and out of a paper (server/documents/formats/markdown-*.ts): the supported
 * constructs round-trip (Markdown → paper → Markdown, checked as a seeded property over
 * generated papers), text that looks like Markdown syntax stays text, what the schema lacks
 * becomes its nearest content, and unsafe links never become links.
 */
import fc from 'fast-check';
import type { Node as ModelNode } from 'prosemirror-model';
import { describe, expect, test } from 'vitest';
import { markdownToBlocks } from '../../server/documents/formats/markdown-import.js';
import { paperToMarkdown } from '../../server/documents/formats/markdown-export.js';
import { fitBlocks, paperDocOf } from '../../server/documents/formats/paper-fit.js';
import { paperArbitrary, PROPERTY_RUNS, PROPERTY_SEED } from './paper-arbitraries.js';

const json = (blocks: readonly ModelNode[]) => blocks.map((block) => block.toJSON() as unknown);
const roundTrip = (blocks: readonly ModelNode[]) => markdownToBlocks(paperToMarkdown(blocks));

describe('Markdown round trip', () => {
  test('property: Markdown → paper → Markdown keeps generated papers of the supported constructs', () => {
    fc.assert(
      fc.property(paperArbitrary(), (blocks) => {
        paperDocOf(blocks).check();
        const markdown = paperToMarkdown(blocks);
        const back = markdownToBlocks(markdown);
        expect(json(back), markdown).toEqual(json(blocks));
        expect(paperToMarkdown(back)).toBe(markdown);
      }),
      { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS },
    );
  });

  test('the supported constructs, written as people write them, read as the paper they describe', () => {
    const markdown = [
      '# Results',
      '',
      'Plain, **bold**, *italic*, ***both***, ~~struck~~, `x = 1`, [a link](https://example.org/paper "The paper") and a',
      'soft break with a hard one\\',
      'here.',
      '',
      '- first',
      '- second',
      '  1. nested one',
      '  2. nested two',
      '',
      '3. three',
      '4. four',
      '',
      '> Quoted',
      '>',
      '> > deeper',
      '',
      '```python',
      'print("hi")',
      '```',
      '',
      '***',
    ].join('\n');
    expect(json(markdownToBlocks(markdown))).toEqual([
      { type: 'heading', attrs: { level: 1 }, content: [{ type: 'text', text: 'Results' }] },
      {
        type: 'paragraph',
        content: [
          { type: 'text', text: 'Plain, ' },
          { type: 'text', text: 'bold', marks: [{ type: 'bold' }] },
          { type: 'text', text: ', ' },
          { type: 'text', text: 'italic', marks: [{ type: 'italic' }] },
          { type: 'text', text: ', ' },
          { type: 'text', text: 'both', marks: [{ type: 'bold' }, { type: 'italic' }] },
          { type: 'text', text: ', ' },
          { type: 'text', text: 'struck', marks: [{ type: 'strike' }] },
          { type: 'text', text: ', ' },
          { type: 'text', text: 'x = 1', marks: [{ type: 'code' }] },
          { type: 'text', text: ', ' },
          {
            type: 'text',
            text: 'a link',
            marks: [
              {
                type: 'link',
                attrs: {
                  href: 'https://example.org/paper',
                  target: '_blank',
                  rel: 'noopener noreferrer nofollow',
                  class: null,
                  title: 'The paper',
                },
              },
            ],
          },
          { type: 'text', text: ' and a soft break with a hard one' },
          { type: 'hardBreak' },
          { type: 'text', text: 'here.' },
        ],
      },
      {
        type: 'bulletList',
        content: [
          { type: 'listItem', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'first' }] }] },
          {
            type: 'listItem',
            content: [
              { type: 'paragraph', content: [{ type: 'text', text: 'second' }] },
              {
                type: 'orderedList',
                attrs: { start: 1, type: null },
                content: [
                  { type: 'listItem', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'nested one' }] }] },
                  { type: 'listItem', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'nested two' }] }] },
                ],
              },
            ],
          },
        ],
      },
      {
        type: 'orderedList',
        attrs: { start: 3, type: null },
        content: [
          { type: 'listItem', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'three' }] }] },
          { type: 'listItem', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'four' }] }] },
        ],
      },
      {
        type: 'blockquote',
        content: [
          { type: 'paragraph', content: [{ type: 'text', text: 'Quoted' }] },
          { type: 'blockquote', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'deeper' }] }] },
        ],
      },
      { type: 'codeBlock', attrs: { language: 'python' }, content: [{ type: 'text', text: 'print("hi")' }] },
      { type: 'horizontalRule' },
    ]);
  });

  test('the paper is written as readable Markdown', () => {
    const blocks = markdownToBlocks('# Title\n\nSome **bold** text.\n\n- a\n- b\n  - c\n\n```ts\nconst a = 1;\n```\n');
    expect(paperToMarkdown(blocks)).toBe('# Title\n\nSome **bold** text.\n\n- a\n- b\n  - c\n\n```ts\nconst a = 1;\n```\n');
  });
});

describe('Markdown text that is not syntax', () => {
  const paragraph = (text: string) => fitBlocks([{ type: 'paragraph', content: [{ type: 'text', text }] }]);

  test.each([
    '# not a heading',
    '- not a list',
    '+ not a list',
    '1. not a list',
    '7) not a list',
    '> not a quote',
    '--- not a rule',
    '=== not an underline',
    '*not emphasis* and _not either_ and **nor this**',
    '`not code` and ~~not struck~~',
    '[not](a link) and ![not](an image) and <https://not.an/autolink>',
    'a | table | row',
    '&amp; &#35; &copy; stay as typed',
    'snake_case_name and 2*3*4 and C:\\path\\to',
    '    four spaces in front, and two at the end  ',
    '\ttab in front',
  ])('%j stays that text', (text) => {
    const blocks = paragraph(text);
    expect(json(roundTrip(blocks))).toEqual(json(blocks));
  });

  test('text after a hard break that would start a block stays text', () => {
    for (const text of ['# heading?', '- item?', '> quote?', '===', '---', '1. item?', '```']) {
      const blocks = fitBlocks([
        { type: 'paragraph', content: [{ type: 'text', text: 'first line' }, { type: 'hardBreak' }, { type: 'text', text }] },
      ]);
      expect(json(roundTrip(blocks)), text).toEqual(json(blocks));
    }
  });

  test('a heading ending with #s keeps them', () => {
    const blocks = fitBlocks([{ type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'C# and F #' }] }]);
    expect(json(roundTrip(blocks))).toEqual(json(blocks));
  });

  test('whitespace at the edges of emphasis moves outside it, so the emphasis survives', () => {
    const blocks = fitBlocks([
      {
        type: 'paragraph',
        content: [
          { type: 'text', text: 'Note: ', marks: [{ type: 'bold' }] },
          { type: 'text', text: 'read this' },
        ],
      },
    ]);
    expect(paperToMarkdown(blocks)).toBe('**Note:** read this\n');
    expect(json(roundTrip(blocks))).toEqual(
      json(
        fitBlocks([
          {
            type: 'paragraph',
            content: [
              { type: 'text', text: 'Note:', marks: [{ type: 'bold' }] },
              { type: 'text', text: ' read this' },
            ],
          },
        ]),
      ),
    );
  });

  test('code spans hold backticks and keep edge spaces', () => {
    for (const text of ['a`b', '`start', 'end`', ' padded ', '``double``']) {
      const blocks = fitBlocks([
        {
          type: 'paragraph',
          content: [
            { type: 'text', text: 'x ' },
            { type: 'text', text, marks: [{ type: 'code' }] },
          ],
        },
      ]);
      expect(json(roundTrip(blocks)), text).toEqual(json(blocks));
    }
  });

  test('a code block holding fences gets a longer fence', () => {
    const blocks = fitBlocks([{ type: 'codeBlock', attrs: { language: 'md' }, content: [{ type: 'text', text: '```js\nx\n```\n````' }] }]);
    expect(paperToMarkdown(blocks).startsWith('`````md\n')).toBe(true);
    expect(json(roundTrip(blocks))).toEqual(json(blocks));
  });

  test('two lists of the same kind in a row stay two lists', () => {
    const item = (text: string) => ({ type: 'listItem', content: [{ type: 'paragraph', content: [{ type: 'text', text }] }] });
    const blocks = fitBlocks([
      { type: 'bulletList', content: [item('a')] },
      { type: 'bulletList', content: [item('b')] },
      { type: 'bulletList', content: [item('c')] },
      { type: 'orderedList', content: [item('d')] },
      { type: 'orderedList', attrs: { start: 5 }, content: [item('e')] },
    ]);
    expect(json(roundTrip(blocks))).toEqual(json(blocks));
  });
});

describe('Markdown outside the schema', () => {
  test('a GFM table becomes one paragraph per row, cells separated by " | "', () => {
    const blocks = markdownToBlocks('| Name | Value |\n| --- | --- |\n| **a** | 1 |\n| b | 2 |\n');
    expect(json(blocks)).toEqual([
      { type: 'paragraph', content: [{ type: 'text', text: 'Name | Value' }] },
      {
        type: 'paragraph',
        content: [
          { type: 'text', text: 'a', marks: [{ type: 'bold' }] },
          { type: 'text', text: ' | 1' },
        ],
      },
      { type: 'paragraph', content: [{ type: 'text', text: 'b | 2' }] },
    ]);
  });

  test('a table some client wrote (Tiptap or prosemirror-tables names) becomes one paragraph per row, no text lost', () => {
    const cell = (type: string, ...texts: string[]) => ({
      type,
      content: texts.map((text) => ({ type: 'paragraph', content: text === '' ? [] : [{ type: 'text', text }] })),
    });
    const blocks = fitBlocks([
      {
        type: 'table',
        content: [
          { type: 'tableRow', content: [cell('tableHeader', 'Name'), cell('tableHeader', 'Value')] },
          { type: 'tableRow', content: [cell('tableCell', 'a', 'b'), cell('tableCell', '')] },
          {
            type: 'tableRow',
            content: [
              { type: 'tableCell', content: [{ type: 'codeBlock', content: [{ type: 'text', text: 'x\ny' }] }] },
              {
                type: 'tableCell',
                content: [
                  {
                    type: 'bulletList',
                    content: [
                      {
                        type: 'listItem',
                        content: [{ type: 'paragraph', content: [{ type: 'text', text: 'item', marks: [{ type: 'bold' }] }] }],
                      },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      },
      { type: 'table', content: [{ type: 'table_row', content: [cell('table_cell', 'p'), cell('table_header', 'q')] }] },
    ]);
    expect(json(blocks)).toEqual([
      { type: 'paragraph', content: [{ type: 'text', text: 'Name | Value' }] },
      { type: 'paragraph', content: [{ type: 'text', text: 'a b | ' }] },
      {
        type: 'paragraph',
        content: [
          { type: 'text', text: 'x' },
          { type: 'hardBreak' },
          { type: 'text', text: 'y | ' },
          { type: 'text', text: 'item', marks: [{ type: 'bold' }] },
        ],
      },
      { type: 'paragraph', content: [{ type: 'text', text: 'p | q' }] },
    ]);
    // Exported, the rows stay paragraphs (their pipes escaped: not read back as a table).
    expect(json(markdownToBlocks(paperToMarkdown(blocks)))).toEqual(json(blocks));
  });

  test('raw HTML stays text; an image becomes a link to it', () => {
    const blocks = markdownToBlocks('<script>alert(1)</script>\n\nSee ![the chart](https://example.org/chart.png) <b>here</b>.');
    expect(json(blocks)).toEqual([
      { type: 'paragraph', content: [{ type: 'text', text: '<script>alert(1)</script>' }] },
      {
        type: 'paragraph',
        content: [
          { type: 'text', text: 'See ' },
          {
            type: 'text',
            text: 'the chart',
            marks: [
              {
                type: 'link',
                attrs: {
                  href: 'https://example.org/chart.png',
                  target: '_blank',
                  rel: 'noopener noreferrer nofollow',
                  class: null,
                  title: null,
                },
              },
            ],
          },
          { type: 'text', text: ' <b>here</b>.' },
        ],
      },
    ]);
  });

  test('links to unsafe addresses are never links', () => {
    const markdown = [
      '[a](javascript:alert(1))',
      '[b](JAVASCRIPT:alert(1))',
      '[c](data:text/html;base64,PHNjcmlwdD4=)',
      '[d](vbscript:msgbox)',
      '[e](file:///etc/passwd)',
      '[f](ftp://example.org)',
      '[g](<java\tscript:alert(1)>)',
      '[h](&#106;avascript:alert(1))',
      '[i]: javascript:alert(1)\n\n[i]',
    ].join('\n\n');
    const blocks = markdownToBlocks(markdown);
    const marks = blocks.flatMap((block) => {
      const found: string[] = [];
      block.descendants((node) => {
        for (const mark of node.marks) found.push(mark.type.name);
      });
      return found;
    });
    expect(marks).toEqual([]);
  });

  test('content some client wrote outside the schema is exported as its nearest schema form', () => {
    const blocks = fitBlocks([
      {
        type: 'table',
        content: [
          {
            type: 'tableRow',
            content: [{ type: 'tableCell', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'cell' }] }] }],
          },
        ],
      },
      {
        type: 'taskList',
        content: [
          { type: 'taskItem', attrs: { checked: true }, content: [{ type: 'paragraph', content: [{ type: 'text', text: 'done' }] }] },
        ],
      },
      {
        type: 'paragraph',
        content: [
          { type: 'mention', attrs: { id: 'u1' } },
          { type: 'text', text: 'hi', marks: [{ type: 'highlight' }, { type: 'bold' }] },
        ],
      },
    ]);
    expect(paperToMarkdown(blocks)).toBe('cell\n\ndone\n\n**hi**\n');
  });

  test('an empty paper is an empty text; empty paragraphs are left out', () => {
    expect(paperToMarkdown([])).toBe('');
    expect(
      paperToMarkdown(
        fitBlocks([{ type: 'paragraph' }, { type: 'paragraph', content: [{ type: 'text', text: 'x' }] }, { type: 'paragraph' }]),
      ),
    ).toBe('x\n');
    expect(markdownToBlocks('')).toEqual([]);
  });
});
