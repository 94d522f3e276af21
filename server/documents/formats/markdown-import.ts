/**
 * Markdown (CommonMark with GFM tables and strikethrough, parsed by markdown-it) as paper
 * blocks. markdown-it's tokens become ProseMirror JSON, which paper-fit.ts makes into the
 * schema (and whose link policy drops unsafe links). Raw HTML is not interpreted: it stays
 * text. What the schema lacks is kept as the nearest content: a table becomes one
 * paragraph per row with its cells separated by ` | `, an image its description as a link
 * to it.
 * Pure.
 */
import MarkdownIt from 'markdown-it';
import type { Token } from 'markdown-it';
import type { Node as ModelNode } from 'prosemirror-model';
import type { ProseMirrorMark, ProseMirrorNode } from '../paper.js';
import { fitBlocks, TABLE_CELL_SEPARATOR } from './paper-fit.js';

// The commonmark preset bounds nesting (its maxNesting), and so every recursion after the
// parse, whatever the input.
const markdown = new MarkdownIt('commonmark', { html: false, linkify: false, typographer: false }).enable(['table', 'strikethrough']);

/** The schema blocks a Markdown text stands for. */
export function markdownToBlocks(source: string): ModelNode[] {
  return fitBlocks(markdownToJSON(source));
}

/** A node under construction: its JSON fields, content filled as tokens arrive. */
interface OpenNode {
  readonly type: string;
  readonly attrs?: Record<string, unknown>;
  readonly content: ProseMirrorNode[];
}

const BLOCKS: Readonly<Record<string, string>> = {
  paragraph_open: 'paragraph',
  heading_open: 'heading',
  blockquote_open: 'blockquote',
  bullet_list_open: 'bulletList',
  ordered_list_open: 'orderedList',
  list_item_open: 'listItem',
  tr_open: 'paragraph',
};

/** The blocks of a Markdown text as (not yet fitted) ProseMirror JSON. */
export function markdownToJSON(source: string): ProseMirrorNode[] {
  const tokens = markdown.parse(source, {});
  const root: OpenNode = { type: 'doc', content: [] };
  const stack: OpenNode[] = [root];
  let cellIndex = 0;
  for (const token of tokens) {
    const top = stack[stack.length - 1]!;
    const opened = BLOCKS[token.type];
    if (opened !== undefined) {
      stack.push({ type: opened, attrs: blockAttrs(token), content: [] });
      cellIndex = 0;
      continue;
    }
    switch (token.type) {
      case 'paragraph_close':
      case 'heading_close':
      case 'blockquote_close':
      case 'bullet_list_close':
      case 'ordered_list_close':
      case 'list_item_close':
      case 'tr_close': {
        const node = stack.pop()!;
        stack[stack.length - 1]!.content.push(
          node.attrs ? { type: node.type, attrs: node.attrs, content: node.content } : { type: node.type, content: node.content },
        );
        break;
      }
      case 'th_open':
      case 'td_open':
        if (cellIndex++ > 0) top.content.push({ type: 'text', text: TABLE_CELL_SEPARATOR });
        break;
      case 'inline':
        top.content.push(...inlineJSON(token.children ?? []));
        break;
      case 'fence':
      case 'code_block': {
        const code = token.content.endsWith('\n') ? token.content.slice(0, -1) : token.content;
        const language = token.type === 'fence' ? (token.info.trim().split(/\s+/, 1)[0] ?? '') : '';
        top.content.push({
          type: 'codeBlock',
          attrs: { language: language === '' ? null : language },
          content: code === '' ? [] : [{ type: 'text', text: code }],
        });
        break;
      }
      case 'hr':
        top.content.push({ type: 'horizontalRule' });
        break;
      default:
        // table_open/close, thead, tbody, th/td_close: the rows carry the content.
        break;
    }
  }
  return root.content;
}

function blockAttrs(token: Token): Record<string, unknown> | undefined {
  if (token.type === 'heading_open') return { level: Number(token.tag.slice(1)) };
  if (token.type === 'ordered_list_open') {
    const start = Number(token.attrGet('start') ?? '1');
    return { start: Number.isInteger(start) ? start : 1 };
  }
  return undefined;
}

/** Inline tokens as text nodes with marks and hard breaks. */
function inlineJSON(tokens: readonly Token[]): ProseMirrorNode[] {
  const out: ProseMirrorNode[] = [];
  const active: ProseMirrorMark[] = [];
  const text = (value: string, extra?: ProseMirrorMark): void => {
    if (value === '') return;
    const marks = extra ? [...active, extra] : [...active];
    out.push(marks.length > 0 ? { type: 'text', text: value, marks } : { type: 'text', text: value });
  };
  const close = (type: string): void => {
    for (let i = active.length - 1; i >= 0; i--) {
      if (active[i]!.type === type) {
        active.splice(i, 1);
        return;
      }
    }
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    switch (token.type) {
      case 'text':
      case 'text_special':
        text(token.content);
        break;
      case 'softbreak':
        text(' ');
        break;
      case 'hardbreak':
        out.push({ type: 'hardBreak' });
        break;
      case 'code_inline':
        text(token.content, { type: 'code' });
        break;
      case 'strong_open':
        active.push({ type: 'bold' });
        break;
      case 'strong_close':
        close('bold');
        break;
      case 'em_open':
        active.push({ type: 'italic' });
        break;
      case 'em_close':
        close('italic');
        break;
      case 's_open':
        active.push({ type: 'strike' });
        break;
      case 's_close':
        close('strike');
        break;
      case 'link_open':
        active.push({ type: 'link', attrs: { href: token.attrGet('href'), title: token.attrGet('title') } });
        break;
      case 'link_close':
        close('link');
        break;
      case 'image': {
        const description = token.content !== '' ? token.content : (token.attrGet('src') ?? '');
        text(description, { type: 'link', attrs: { href: token.attrGet('src'), title: token.attrGet('title') } });
        break;
      }
      default:
        if (token.content) text(token.content);
    }
  }
  return out;
}
