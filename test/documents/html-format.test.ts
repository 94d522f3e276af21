/**
 * HTML in and out of a paper (server/documents/formats/html-*.ts): the output holds only
 * the schema's tags with safe attributes and links, whatever the paper or the input held;
 * hostile input (scripts, event handlers, `javascript:` URLs in their disguises, embedded
 * content) never survives; and the supported constructs round-trip.
 */
import fc from 'fast-check';
import { parseFragment, type DefaultTreeAdapterTypes } from 'parse5';
import type { Node as ModelNode } from 'prosemirror-model';
import { describe, expect, test } from 'vitest';
import * as Y from 'yjs';
import { paperToHtml } from '../../server/documents/formats/html-export.js';
import { htmlToBlocks } from '../../server/documents/formats/html-import.js';
import { safeHref } from '../../server/documents/formats/link-policy.js';
import { fitBlocks } from '../../server/documents/formats/paper-fit.js';
import { renderPaper } from '../../server/documents/paper.js';
import { paperDoc, p, text } from '../helpers/documents.js';
import { paperArbitrary, PROPERTY_RUNS, PROPERTY_SEED } from './paper-arbitraries.js';

const json = (blocks: readonly ModelNode[]) => blocks.map((block) => block.toJSON() as unknown);

/** The tags the exporter may write, and the attributes each may carry. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  p: [],
  h1: [],
  h2: [],
  h3: [],
  h4: [],
  h5: [],
  h6: [],
  blockquote: [],
  ul: [],
  ol: ['start', 'type'],
  li: [],
  pre: [],
  code: ['class'],
  hr: [],
  br: [],
  strong: [],
  em: [],
  s: [],
  u: [],
  a: ['href', 'title', 'rel'],
};

/** Every element of `html` is allowed, with allowed attributes, safe links and a plain code class. */
function expectSanitized(html: string): void {
  const stack: DefaultTreeAdapterTypes.ChildNode[] = [...parseFragment(html).childNodes];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (!('tagName' in node)) {
      expect(node.nodeName === '#text', `only elements and text, got ${node.nodeName}`).toBe(true);
      continue;
    }
    const allowed = ALLOWED[node.tagName];
    expect(allowed, `tag <${node.tagName}> in ${html}`).toBeDefined();
    for (const attr of node.attrs) {
      expect(allowed, `attribute ${attr.name} on <${node.tagName}>`).toContain(attr.name);
      if (attr.name === 'href') expect(safeHref(attr.value), attr.value).toBe(attr.value);
      if (attr.name === 'class') expect(attr.value).toMatch(/^language-[\w#+.-]+$/);
      if (attr.name === 'rel') expect(attr.value).toBe('noopener noreferrer nofollow');
    }
    stack.push(...node.childNodes);
  }
}

const HOSTILE = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '<p onclick="alert(1)" style="background:url(javascript:alert(1))">click</p>',
  '<a href="javascript:alert(1)">a</a>',
  '<a href="JaVaScRiPt:alert(1)">b</a>',
  '<a href="  javascript:alert(1)">c</a>',
  '<a href="java&#x09;script:alert(1)">d</a>',
  '<a href="java\nscript:alert(1)">e</a>',
  '<a href="&#106;avascript:alert(1)">f</a>',
  '<a href="javascript&colon;alert(1)">g</a>',
  '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">h</a>',
  '<a href="vbscript:msgbox(1)">i</a>',
  '<a href="&#0;javascript:alert(1)">j</a>',
  '<a href="https://ok.example" onmouseover="alert(1)" style="x" target="_top">ok</a>',
  '<a href="https://ok.example" title=\'" onmouseover="alert(1)\'>quoted title</a>',
  '<svg><script>alert(1)</script><a xlink:href="javascript:alert(1)">svg</a></svg>',
  '<math><mi xlink:href="javascript:alert(1)">math</mi></math>',
  '<iframe src="https://evil.example"></iframe><object data="x"></object><embed src="x">',
  '<style>body{display:none}</style><link rel="stylesheet" href="x"><meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
  '<form action="https://evil.example"><input name="x" value="y"><button>Send</button></form>',
  '<noscript><img src=x onerror=alert(1)></noscript><template><script>alert(1)</script></template>',
  '<!-- <script>alert(1)</script> --><p>&lt;script&gt;alert(1)&lt;/script&gt;</p>',
  '<pre><code class="language-js&quot; onload=&quot;alert(1)">code</code></pre>',
  '<ol start="2&quot; onclick=&quot;alert(1)" type="javascript:"><li>x</li></ol>',
  '<details open ontoggle=alert(1)><summary>s</summary>d</details>',
  '<p><b><i><u><s><code><a href="https://ok.example">deep</a></code></s></u></i></b></p>',
  '<base href="javascript:alert(1)//"><a href="relative">rel</a>',
  '<table><tr><td onclick="x">a</td><td><script>x</script>b</td></tr></table>',
  '<scr<script>ipt>alert(1)</script>',
  '<p>1</p><select><option>x</option></select><textarea><script>alert(1)</script></textarea>',
];

describe('HTML input', () => {
  test.each(HOSTILE)('hostile input %j leaves nothing active', (html) => {
    const out = paperToHtml(htmlToBlocks(html));
    expectSanitized(out);
    expect(out).not.toMatch(/<script|javascript:|vbscript:|data:|<img|<iframe|<svg|<object|<embed|<style|<input|<form/i);
  });

  test('what is kept of hostile input: the text and the safe link', () => {
    expect(paperToHtml(htmlToBlocks(HOSTILE[13]!))).toBe('<p><a href="https://ok.example" rel="noopener noreferrer nofollow">ok</a></p>');
    expect(paperToHtml(htmlToBlocks(HOSTILE[14]!))).toBe(
      '<p><a href="https://ok.example" title="&quot; onmouseover=&quot;alert(1)" rel="noopener noreferrer nofollow">quoted title</a></p>',
    );
    expect(paperToHtml(htmlToBlocks(HOSTILE[21]!))).toBe('<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>');
    expect(paperToHtml(htmlToBlocks(HOSTILE[3]!))).toBe('<p>a</p>');
    expect(paperToHtml(htmlToBlocks(HOSTILE[2]!))).toBe('<p>click</p>');
    expect(paperToHtml(htmlToBlocks(HOSTILE[22]!))).toBe('<pre><code>code</code></pre>');
    expect(paperToHtml(htmlToBlocks(HOSTILE[23]!))).toBe('<ol start="2"><li><p>x</p></li></ol>');
    expect(paperToHtml(htmlToBlocks(HOSTILE[26]!))).toBe('<p><a href="relative" rel="noopener noreferrer nofollow">rel</a></p>');
  });

  test('property: any soup of tags, attributes and text exports sanitized', () => {
    const tag = fc.constantFrom(
      'p',
      'div',
      'span',
      'a',
      'b',
      'i',
      'script',
      'img',
      'svg',
      'ul',
      'ol',
      'li',
      'pre',
      'code',
      'table',
      'tr',
      'td',
      'h2',
      'blockquote',
      'iframe',
      'style',
      'br',
      'hr',
      'math',
      'template',
      'x-custom',
    );
    const attribute = fc.oneof(
      fc.constantFrom(
        'onclick="alert(1)"',
        'style="color:red"',
        'href="javascript:alert(1)"',
        'href="https://ok.example/x"',
        'href="/rel"',
        'src="x"',
        'class="language-py"',
        'class="x&quot;y"',
        'start="3"',
        'type="a"',
        'title="t"',
      ),
    );
    const open = fc
      .record({ tag, attrs: fc.array(attribute, { maxLength: 3 }) })
      .map(({ tag, attrs }) => `<${tag}${attrs.map((a) => ` ${a}`).join('')}>`);
    const close = tag.map((t) => `</${t}>`);
    const textPart = fc.string({ maxLength: 6 });
    const soup = fc
      .array(fc.oneof(open, close, textPart, fc.constantFrom('&lt;', '&amp;', '<!--', '-->', '"', "'")), { maxLength: 30 })
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(soup, (html) => {
        const blocks = htmlToBlocks(html);
        for (const block of blocks) block.check();
        expectSanitized(paperToHtml(blocks));
      }),
      { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS },
    );
  });

  test('the constructs of the schema, as people write them', () => {
    const html = `
      <h2>Results</h2>
      <p>Plain, <strong>bold</strong>, <em>italic</em>, <s>struck</s>, <u>under</u>, <code>x = 1</code>,
         <a href="https://example.org/p">a link</a><br>next line</p>
      <ul><li>first</li><li><p>second</p><ol start="3"><li>three</li></ol></li></ul>
      <blockquote>quoted</blockquote>
      <pre><code class="language-python">def f():
    return 1
</code></pre>
      <hr>
      loose text
    `;
    expect(paperToHtml(htmlToBlocks(html))).toBe(
      [
        '<h2>Results</h2>',
        '<p>Plain, <strong>bold</strong>, <em>italic</em>, <s>struck</s>, <u>under</u>, <code>x = 1</code>, ' +
          '<a href="https://example.org/p" rel="noopener noreferrer nofollow">a link</a><br>next line</p>',
        '<ul><li><p>first</p></li><li><p>second</p><ol start="3"><li><p>three</p></li></ol></li></ul>',
        '<blockquote><p>quoted</p></blockquote>',
        '<pre><code class="language-python">def f():\n    return 1\n</code></pre>',
        '<hr>',
        '<p>loose text</p>',
      ].join('\n'),
    );
  });

  test('a table keeps all its text: the caption, then a paragraph per row with its cells separated by " | "', () => {
    const html = `<table>
      <caption>Table 1: <b>results</b></caption>
      <thead><tr><th>Name</th><th>Value</th><th>Notes</th></tr></thead>
      <tbody>
        <tr><td><strong>a</strong></td><td></td><td><p>first</p><p>second</p></td></tr>
        <tr><td><ul><li>x</li><li>y</li></ul></td><td><pre>one\ntwo</pre></td><td>outer<table><tr><td>in 1</td><td>in 2</td></tr></table></td></tr>
      </tbody>
      <tfoot><tr><td>sum</td><td>1</td><td><h3>end</h3></td></tr></tfoot>
    </table><p>after</p>`;
    expect(json(htmlToBlocks(html))).toEqual([
      {
        type: 'paragraph',
        content: [
          { type: 'text', text: 'Table 1: ' },
          { type: 'text', text: 'results', marks: [{ type: 'bold' }] },
        ],
      },
      { type: 'paragraph', content: [{ type: 'text', text: 'Name | Value | Notes' }] },
      {
        type: 'paragraph',
        content: [
          { type: 'text', text: 'a', marks: [{ type: 'bold' }] },
          // The empty cell keeps its place.
          { type: 'text', text: ' |  | first second' },
        ],
      },
      {
        type: 'paragraph',
        content: [{ type: 'text', text: 'x y | one' }, { type: 'hardBreak' }, { type: 'text', text: 'two | outer in 1 | in 2' }],
      },
      { type: 'paragraph', content: [{ type: 'text', text: 'sum | 1 | end' }] },
      { type: 'paragraph', content: [{ type: 'text', text: 'after' }] },
    ]);
  });

  test('property: no word of a table is lost, and the words keep their order', () => {
    const word = fc.stringMatching(/^[a-z]{1,8}$/);
    const wrap = fc.constantFrom(
      '%',
      '<p>%</p>',
      '<b>%</b>',
      '<ul><li>%</li></ul>',
      '<h4>%</h4>',
      '<div>%</div>',
      '<blockquote>%</blockquote>',
    );
    const cell = fc.tuple(fc.constantFrom('td', 'th'), fc.array(fc.tuple(wrap, word), { maxLength: 3 }));
    const table = fc.record({
      caption: fc.option(word, { nil: undefined }),
      rows: fc.array(fc.array(cell, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 }),
    });
    fc.assert(
      fc.property(table, ({ caption, rows }) => {
        const words: string[] = caption === undefined ? [] : [caption];
        // Words in a cell are apart (inline ones would run together, as a browser shows them).
        const cellHtml = ([tag, parts]: [string, Array<[string, string]>]) =>
          `<${tag}>${parts.map(([template, w]) => (words.push(w), template.replace('%', w))).join(' ')}</${tag}>`;
        const html = `<table>${caption === undefined ? '' : `<caption>${caption}</caption>`}${rows.map((row) => `<tr>${row.map(cellHtml).join('')}</tr>`).join('')}</table>`;
        const text = htmlToBlocks(html)
          .map((block) => block.textContent)
          .join('\n');
        expect(text.match(/[a-z]+/g) ?? []).toEqual(words);
      }),
      { numRuns: PROPERTY_RUNS, seed: PROPERTY_SEED },
    );
  });

  test('whitespace collapses as a browser renders it; nbsp stays', () => {
    const blocks = htmlToBlocks('<p>  a \n\t b  <b> c </b> d\u00a0\u00a0e <br>  f  </p>');
    expect(json(blocks)).toEqual([
      {
        type: 'paragraph',
        content: [
          { type: 'text', text: 'a b ' },
          { type: 'text', text: 'c ', marks: [{ type: 'bold' }] },
          { type: 'text', text: 'd\u00a0\u00a0e' },
          { type: 'hardBreak' },
          { type: 'text', text: 'f' },
        ],
      },
    ]);
  });

  test('deeply nested input is read without exhausting the stack', () => {
    const depth = 20_000;
    const blocks = htmlToBlocks(`${'<div><blockquote>'.repeat(depth)}deep${'</blockquote></div>'.repeat(depth)}`);
    expect(paperToHtml(blocks)).toContain('deep');
  });
});

describe('HTML output', () => {
  test('property: papers of the supported constructs round-trip through HTML', () => {
    fc.assert(
      fc.property(paperArbitrary({ collapsibleWhitespace: false }), (blocks) => {
        const html = paperToHtml(blocks);
        expectSanitized(html);
        expect(json(htmlToBlocks(html)), html).toEqual(json(blocks));
      }),
      { seed: PROPERTY_SEED, numRuns: PROPERTY_RUNS },
    );
  });

  test('a paper some client filled with markup-like text and an unsafe link exports as text', () => {
    const doc = paperDoc([
      p('<script>alert(1)</script> & "quotes"', ' ', text('click', { type: 'link', attrs: { href: 'javascript:alert(1)' } })),
      { type: 'codeBlock', attrs: { language: '"><script>' }, content: [text('</code><script>alert(1)</script>')] },
    ]);
    const html = paperToHtml(fitBlocks(renderPaper(doc).content));
    expectSanitized(html);
    expect(html).toBe(
      '<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot; click</p>\n<pre><code>&lt;/code&gt;&lt;script&gt;alert(1)&lt;/script&gt;</code></pre>',
    );
  });

  test('content outside the schema (a foreign root written as Y.Text) still exports', () => {
    const doc = new Y.Doc();
    doc.get('default', Y.Text).insert(0, 'line one\nline <two>');
    expect(paperToHtml(fitBlocks(renderPaper(doc).content))).toBe('<p>line one</p>\n<p>line &lt;two&gt;</p>');
  });
});
