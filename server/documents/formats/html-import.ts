/**
 * HTML as paper blocks. The HTML is parsed as a browser would (parse5, the WHATWG
 * algorithm), then read for what the schema holds: paragraphs, headings, lists,
 * blockquotes, preformatted code, rules, line breaks, and bold, italic, code, strike,
 * underline and link marks. Everything else is dropped: scripts, styles, embedded content,
 * forms, event handler and style attributes (no attribute is read but `href`, `title`,
 * `start`, `type` and a code language class), and links to unsafe addresses
 * (paper-fit.ts applies the link policy). Unknown elements give up their content. A table
 * becomes its caption, then one paragraph per row (paper-fit.ts), so none of its text is lost.
 * Whitespace collapses as a browser renders it, except in `pre`.
 * Pure.
 */
import { parseFragment, type DefaultTreeAdapterTypes } from 'parse5';
import type { Node as ModelNode } from 'prosemirror-model';
import type { ProseMirrorMark, ProseMirrorNode } from '../paper.js';
import { fitBlocks } from './paper-fit.js';

type HtmlNode = DefaultTreeAdapterTypes.ChildNode;
type HtmlElement = DefaultTreeAdapterTypes.Element;

/** Deeper elements are read for their text only: bounds the recursion whatever the input. */
const MAX_ELEMENT_DEPTH = 64;

/** Dropped with everything inside them. */
const DROPPED: ReadonlySet<string> = new Set([
  'script',
  'style',
  'template',
  'noscript',
  'iframe',
  'frame',
  'frameset',
  'object',
  'embed',
  'applet',
  'svg',
  'math',
  'canvas',
  'video',
  'audio',
  'source',
  'track',
  'img',
  'picture',
  'input',
  'select',
  'option',
  'optgroup',
  'textarea',
  'button',
  'head',
  'title',
  'meta',
  'link',
  'base',
  'param',
  'map',
  'area',
  'datalist',
  'output',
  'progress',
  'meter',
  'dialog',
]);

/** Block-level elements whose content is read as blocks in turn. */
const CONTAINERS: ReadonlySet<string> = new Set([
  'div',
  'section',
  'article',
  'main',
  'header',
  'footer',
  'nav',
  'aside',
  'address',
  'figure',
  'figcaption',
  'details',
  'summary',
  'dl',
  'dt',
  'dd',
  'center',
  'form',
  'fieldset',
  'legend',
  'html',
  'body',
  'hgroup',
  'search',
  'caption',
]);

const MARKS: Readonly<Record<string, string>> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  cite: 'italic',
  var: 'italic',
  dfn: 'italic',
  code: 'code',
  kbd: 'code',
  samp: 'code',
  tt: 'code',
  s: 'strike',
  del: 'strike',
  strike: 'strike',
  u: 'underline',
  ins: 'underline',
};

/** The schema blocks an HTML fragment stands for. */
export function htmlToBlocks(html: string): ModelNode[] {
  return fitBlocks(htmlToJSON(html));
}

/** The blocks of an HTML fragment as (not yet fitted) ProseMirror JSON. */
export function htmlToJSON(html: string): ProseMirrorNode[] {
  return blocksOf(parseFragment(html).childNodes, 0);
}

function isElement(node: HtmlNode): node is HtmlElement {
  return 'tagName' in node;
}

function attribute(element: HtmlElement, name: string): string | null {
  for (const attr of element.attrs) if (attr.name === name) return attr.value;
  return null;
}

function blocksOf(children: readonly HtmlNode[], depth: number): ProseMirrorNode[] {
  const out: ProseMirrorNode[] = [];
  let pending: ProseMirrorNode[] = [];
  const flush = (): void => {
    const inline = collapseWhitespace(pending);
    pending = [];
    if (inline.length > 0) out.push({ type: 'paragraph', content: inline });
  };
  for (const child of children) {
    if (!isElement(child)) {
      if (child.nodeName === '#text') pending.push({ type: 'text', text: child.value });
      continue;
    }
    const tag = child.tagName;
    if (DROPPED.has(tag) || child.namespaceURI !== 'http://www.w3.org/1999/xhtml') continue;
    if (depth >= MAX_ELEMENT_DEPTH) {
      pending.push({ type: 'text', text: textContent(child) });
      continue;
    }
    const heading = /^h([1-6])$/.exec(tag);
    if (tag === 'p' || heading) {
      flush();
      const content = collapseWhitespace(inlineOf(child.childNodes, [], depth + 1));
      out.push(heading ? { type: 'heading', attrs: { level: Number(heading[1]) }, content } : { type: 'paragraph', content });
    } else if (tag === 'ul' || tag === 'ol' || tag === 'menu') {
      flush();
      out.push(listOf(child, depth + 1));
    } else if (tag === 'li') {
      flush();
      out.push(...blocksOf(child.childNodes, depth + 1));
    } else if (tag === 'blockquote') {
      flush();
      out.push({ type: 'blockquote', content: blocksOf(child.childNodes, depth + 1) });
    } else if (tag === 'pre') {
      flush();
      out.push(codeBlockOf(child));
    } else if (tag === 'hr') {
      flush();
      out.push({ type: 'horizontalRule' });
    } else if (tag === 'table') {
      flush();
      out.push(...tableRows(child, depth + 1));
    } else if (CONTAINERS.has(tag)) {
      flush();
      out.push(...blocksOf(child.childNodes, depth + 1));
    } else {
      pending.push(...inlineOf([child], [], depth + 1));
    }
  }
  flush();
  return out;
}

function listOf(list: HtmlElement, depth: number): ProseMirrorNode {
  const items: ProseMirrorNode[] = [];
  for (const child of list.childNodes) {
    if (isElement(child) && child.tagName === 'li') items.push({ type: 'listItem', content: blocksOf(child.childNodes, depth + 1) });
    else if (isElement(child) || (child.nodeName === '#text' && child.value.trim() !== '')) {
      // Content between items (invalid HTML, still parsed): an item of its own.
      const blocks = blocksOf([child], depth + 1);
      if (blocks.length > 0) items.push({ type: 'listItem', content: blocks });
    }
  }
  if (list.tagName !== 'ol') return { type: 'bulletList', content: items };
  const start = Number.parseInt(attribute(list, 'start') ?? '1', 10);
  return { type: 'orderedList', attrs: { start: Number.isNaN(start) ? 1 : start, type: attribute(list, 'type') }, content: items };
}

function codeBlockOf(pre: HtmlElement): ProseMirrorNode {
  let language: string | null = languageOf(pre);
  for (const child of pre.childNodes) if (language === null && isElement(child) && child.tagName === 'code') language = languageOf(child);
  const code = textContent(pre);
  return { type: 'codeBlock', attrs: { language }, content: code === '' ? [] : [{ type: 'text', text: code }] };
}

function languageOf(element: HtmlElement): string | null {
  const match = /(?:^|\s)(?:language|lang)-(\S+)/.exec(attribute(element, 'class') ?? '');
  return match ? match[1]! : null;
}

/**
 * A table's rows as `tableRow` nodes of their cells' blocks, which paper-fit.ts makes into one
 * paragraph per row (the schema has no tables); its caption's blocks before them.
 */
function tableRows(table: HtmlElement, depth: number): ProseMirrorNode[] {
  const rows: ProseMirrorNode[] = [];
  const visit = (element: HtmlElement, level: number): void => {
    for (const child of element.childNodes) {
      if (!isElement(child)) continue;
      if (child.tagName === 'tr') {
        const cells: ProseMirrorNode[] = [];
        for (const cell of child.childNodes) {
          if (isElement(cell) && (cell.tagName === 'td' || cell.tagName === 'th'))
            cells.push({ type: 'tableCell', content: blocksOf(cell.childNodes, level + 1) });
        }
        rows.push({ type: 'tableRow', content: cells });
      } else if (child.tagName === 'caption') {
        rows.push(...blocksOf(child.childNodes, level + 1));
      } else if (level < MAX_ELEMENT_DEPTH && (child.tagName === 'thead' || child.tagName === 'tbody' || child.tagName === 'tfoot')) {
        visit(child, level + 1);
      }
    }
  };
  visit(table, depth);
  return rows;
}

/** Inline content under `marks`: text, line breaks, and the marks of the elements around them. */
function inlineOf(children: readonly HtmlNode[], marks: readonly ProseMirrorMark[], depth: number): ProseMirrorNode[] {
  const out: ProseMirrorNode[] = [];
  for (const child of children) {
    if (!isElement(child)) {
      if (child.nodeName === '#text' && child.value !== '')
        out.push(marks.length > 0 ? { type: 'text', text: child.value, marks } : { type: 'text', text: child.value });
      continue;
    }
    const tag = child.tagName;
    if (DROPPED.has(tag) || child.namespaceURI !== 'http://www.w3.org/1999/xhtml') continue;
    if (tag === 'br') {
      out.push({ type: 'hardBreak' });
      continue;
    }
    if (depth >= MAX_ELEMENT_DEPTH) {
      out.push({ type: 'text', text: textContent(child), marks });
      continue;
    }
    let inner = marks;
    const mark = MARKS[tag];
    if (mark !== undefined) inner = [...marks, { type: mark }];
    else if (tag === 'a') {
      const href = attribute(child, 'href');
      if (href !== null) inner = [...marks, { type: 'link', attrs: { href, title: attribute(child, 'title') } }];
    }
    out.push(...inlineOf(child.childNodes, inner, depth + 1));
  }
  return out;
}

/** All text under an element (`br` as a newline), read without recursion. */
function textContent(root: HtmlElement): string {
  const parts: string[] = [];
  const stack: HtmlNode[] = [...root.childNodes].reverse();
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (!isElement(node)) {
      if (node.nodeName === '#text') parts.push(node.value);
      continue;
    }
    if (DROPPED.has(node.tagName)) continue;
    if (node.tagName === 'br') parts.push('\n');
    for (let i = node.childNodes.length - 1; i >= 0; i--) stack.push(node.childNodes[i]!);
  }
  return parts.join('');
}

/**
 * Whitespace as a browser renders it outside `pre`: runs collapse to one space, none at the
 * start or end of a line. Text left empty is removed.
 */
function collapseWhitespace(items: readonly ProseMirrorNode[]): ProseMirrorNode[] {
  const out: ProseMirrorNode[] = [];
  let afterSpace = true;
  const trimEnd = (): void => {
    const last = out[out.length - 1];
    if (last?.type !== 'text' || !last.text!.endsWith(' ')) return;
    const text = last.text!.slice(0, -1);
    if (text === '') out.pop();
    else out[out.length - 1] = { ...last, text };
  };
  for (const item of items) {
    if (item.type !== 'text') {
      if (item.type === 'hardBreak') trimEnd();
      out.push(item);
      afterSpace = item.type === 'hardBreak';
      continue;
    }
    let text = item.text!.replace(/[ \t\n\r\f]+/g, ' ');
    if (afterSpace && text.startsWith(' ')) text = text.slice(1);
    if (text === '') continue;
    out.push({ ...item, text });
    afterSpace = text.endsWith(' ');
  }
  trimEnd();
  return out;
}
