/**
 * ProseMirror JSON of any origin made into blocks of the paper schema (paper-schema.ts).
 *
 * - `fitBlocks` is lenient: what an import produced (Markdown, HTML) or what some client
 *   wrote into the paper (a node type our editor lacks, a table, an unknown mark) becomes
 *   the nearest schema content: unknown containers give up their blocks, unknown inline
 *   nodes their text, unknown marks are dropped, stray inline content is wrapped in
 *   paragraphs, list items start with a paragraph, a table row becomes one paragraph of its
 *   cells' text (TABLE_CELL_SEPARATOR between two) so a table loses no text.
 * - `checkedBlocks` is strict, for content a caller sends as ProseMirror JSON: it must
 *   already be valid for the schema, else the caller is told what is wrong.
 * Both sanitize on the way: links only to safe addresses (link-policy.ts), attributes only
 * within their ranges, so nothing unsafe is stored whatever the input.
 * Pure: no I/O.
 */
import { Mark, type Node as ModelNode } from 'prosemirror-model';
import type { ProseMirrorMark, ProseMirrorNode } from '../paper.js';
import { safeHref, safeLanguage } from './link-policy.js';
import { ORDERED_LIST_TYPES, paperSchema } from './paper-schema.js';

/**
 * Below this depth, blocks are not nested further: their text joins the enclosing block.
 * It bounds the recursion (and so the stack) whatever the input; real papers stay far below.
 */
export const MAX_BLOCK_DEPTH = 48;

/**
 * Separates a table row's cells in the paragraph that stands for the row: the schema has no
 * tables, so every import keeps a table as one paragraph per row (docs/contracts.md).
 */
export const TABLE_CELL_SEPARATOR = ' | ';

/** A table row, in Tiptap's and prosemirror-tables' names (the table itself is a container). */
const TABLE_ROWS: ReadonlySet<string> = new Set(['tableRow', 'table_row']);

/** The largest ordered-list start Markdown can express (nine digits). */
const MAX_LIST_START = 999_999_999;

const nodes = paperSchema.nodes;
const marks = paperSchema.marks;

/** Mark names other editors use for our marks. */
const MARK_ALIASES: Readonly<Record<string, string>> = {
  strong: 'bold',
  em: 'italic',
  s: 'strike',
  strikethrough: 'strike',
  del: 'strike',
  u: 'underline',
};

const BLOCK_NAMES: ReadonlySet<string> = new Set([
  'paragraph',
  'heading',
  'blockquote',
  'bulletList',
  'orderedList',
  'listItem',
  'codeBlock',
  'horizontalRule',
]);

/** Schema blocks for `items`, leniently (see the module comment). */
export function fitBlocks(items: readonly ProseMirrorNode[]): ModelNode[] {
  return blocksOf(items, 0);
}

/**
 * `items` when they are valid blocks of the schema (then sanitized as `fitBlocks` does), or
 * the reason they are not.
 */
export function checkedBlocks(items: readonly ProseMirrorNode[]): { readonly blocks: ModelNode[] } | { readonly error: string } {
  if (items.length === 0) return { blocks: [] };
  try {
    paperSchema.nodeFromJSON({ type: 'doc', content: items }).check();
  } catch (error) {
    return { error: (error as Error).message };
  }
  return { blocks: fitBlocks(items) };
}

/** A document node holding `blocks` (an empty paper has none, which ProseMirror's `doc` does not check). */
export function paperDocOf(blocks: readonly ModelNode[]): ModelNode {
  return nodes.doc!.create(null, blocks);
}

function blocksOf(items: readonly ProseMirrorNode[], depth: number): ModelNode[] {
  const out: ModelNode[] = [];
  let pending: ProseMirrorNode[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const inline = inlineOf(pending, depth);
    pending = [];
    if (inline.length > 0) out.push(nodes.paragraph!.create(null, inline));
  };
  for (const item of items) {
    if (depth >= MAX_BLOCK_DEPTH && (BLOCK_NAMES.has(item.type) || TABLE_ROWS.has(item.type))) {
      pending.push({ type: 'text', text: textOf(item, ' ') });
      continue;
    }
    switch (item.type) {
      case 'paragraph':
        flush();
        out.push(nodes.paragraph!.create(null, inlineOf(item.content ?? [], depth)));
        break;
      case 'heading':
        flush();
        out.push(nodes.heading!.create({ level: headingLevel(item.attrs?.['level']) }, inlineOf(item.content ?? [], depth)));
        break;
      case 'blockquote': {
        flush();
        const inner = blocksOf(item.content ?? [], depth + 1);
        out.push(nodes.blockquote!.create(null, inner.length > 0 ? inner : [nodes.paragraph!.create()]));
        break;
      }
      case 'bulletList':
      case 'orderedList': {
        flush();
        const listItems = listItemsOf(item.content ?? [], depth + 1);
        if (listItems.length === 0) break;
        if (item.type === 'bulletList') out.push(nodes.bulletList!.create(null, listItems));
        else out.push(nodes.orderedList!.create(orderedListAttrs(item.attrs), listItems));
        break;
      }
      case 'listItem':
        // An item outside a list: its blocks.
        flush();
        out.push(...blocksOf(item.content ?? [], depth + 1));
        break;
      case 'codeBlock': {
        flush();
        const code = textOf(item, '\n');
        out.push(
          nodes.codeBlock!.create({ language: safeLanguage(item.attrs?.['language']) }, code === '' ? [] : [paperSchema.text(code)]),
        );
        break;
      }
      case 'horizontalRule':
        flush();
        out.push(nodes.horizontalRule!.create());
        break;
      case 'tableRow':
      case 'table_row':
        flush();
        out.push(nodes.paragraph!.create(null, rowInline(item, depth + 1)));
        break;
      default:
        if (item.type === 'text' || item.type === 'hardBreak' || !holdsBlocks(item)) pending.push(item);
        else {
          flush();
          out.push(...blocksOf(item.content ?? [], depth + 1));
        }
    }
  }
  flush();
  return out;
}

/**
 * A table row as one paragraph's content: each cell's text (its blocks apart by a space, a
 * code block's lines by line breaks), the cells apart by TABLE_CELL_SEPARATOR.
 */
function rowInline(row: ProseMirrorNode, depth: number): ModelNode[] {
  const out: ModelNode[] = [];
  (row.content ?? []).forEach((cell, index) => {
    if (index > 0) out.push(paperSchema.text(TABLE_CELL_SEPARATOR));
    let first = true;
    for (const textblock of textblocksOf(blocksOf(cell.content ?? [], depth + 1))) {
      if (textblock.content.size === 0) continue;
      if (!first) out.push(paperSchema.text(' '));
      first = false;
      textblock.content.forEach((inline) => {
        if (textblock.type === nodes.codeBlock && inline.text !== undefined) out.push(...linesOf(inline.text));
        else out.push(inline);
      });
    }
  });
  return out;
}

/** The textblocks (paragraphs, headings, code blocks) among and inside `blocks`, in document order. */
function textblocksOf(blocks: readonly ModelNode[]): ModelNode[] {
  const out: ModelNode[] = [];
  for (const block of blocks) {
    if (block.isTextblock) out.push(block);
    else
      block.descendants((node) => {
        if (node.isTextblock) out.push(node);
        return !node.isTextblock;
      });
  }
  return out;
}

/** Text with its line feeds as hard breaks. */
function linesOf(text: string): ModelNode[] {
  const out: ModelNode[] = [];
  text.split('\n').forEach((line, i) => {
    if (i > 0) out.push(nodes.hardBreak!.create());
    if (line !== '') out.push(paperSchema.text(line));
  });
  return out;
}

/** An unknown node with content other than text and hard breaks is a container (a table, a task list, a figure). */
function holdsBlocks(item: ProseMirrorNode): boolean {
  return (item.content ?? []).some((child) => child.type !== 'text' && child.type !== 'hardBreak' && child.text === undefined);
}

function listItemsOf(children: readonly ProseMirrorNode[], depth: number): ModelNode[] {
  const items: ModelNode[] = [];
  let stray: ProseMirrorNode[] = [];
  const flushStray = (): void => {
    if (stray.length > 0) items.push(listItem(stray, depth));
    stray = [];
  };
  for (const child of children) {
    if (child.type === 'listItem') {
      flushStray();
      items.push(listItem(child.content ?? [], depth));
    } else stray.push(child);
  }
  flushStray();
  return items;
}

function listItem(content: readonly ProseMirrorNode[], depth: number): ModelNode {
  const blocks = blocksOf(content, depth + 1);
  if (blocks[0]?.type !== nodes.paragraph) blocks.unshift(nodes.paragraph!.create());
  return nodes.listItem!.create(null, blocks);
}

/** Inline content: text with schema marks and hard breaks; anything else gives its text. */
function inlineOf(items: readonly ProseMirrorNode[], depth: number): ModelNode[] {
  const out: ModelNode[] = [];
  const visit = (item: ProseMirrorNode, level: number): void => {
    if (item.type === 'hardBreak') {
      out.push(nodes.hardBreak!.create());
      return;
    }
    if (typeof item.text === 'string') {
      // Any node carrying text (a `text` node, or an unknown one such as a mention's label).
      if (item.text !== '') out.push(paperSchema.text(item.text, marksOf(item.marks ?? [])));
      return;
    }
    const children = item.content ?? [];
    if (level >= MAX_BLOCK_DEPTH) {
      const text = textOf(item, ' ');
      if (text !== '') out.push(paperSchema.text(text));
      return;
    }
    for (const child of children) visit(child, level + 1);
  };
  for (const item of items) visit(item, depth);
  return out;
}

/** The schema's marks for `input`, in rank order; unknown ones and unsafe links dropped. */
export function marksOf(input: readonly ProseMirrorMark[]): readonly Mark[] {
  let set: readonly Mark[] = Mark.none;
  for (const mark of input) {
    const name = MARK_ALIASES[mark.type] ?? mark.type;
    if (name === 'link') {
      const href = safeHref(mark.attrs?.['href']);
      if (href === null) continue;
      const title = mark.attrs?.['title'];
      set = marks.link!.create({ href, title: typeof title === 'string' && title !== '' ? title : null }).addToSet(set);
    } else if (name === 'bold' || name === 'italic' || name === 'strike' || name === 'underline' || name === 'code') {
      set = marks[name]!.create().addToSet(set);
    }
  }
  return set;
}

/** The text inside a node: text nodes as they are, hard breaks and block boundaries as `separator`. Iterative (any depth). */
function textOf(root: ProseMirrorNode, separator: string): string {
  const parts: string[] = [];
  const stack: ProseMirrorNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (typeof node.text === 'string') parts.push(node.text);
    else if (node.type === 'hardBreak') parts.push('\n');
    else if (node !== root && BLOCK_NAMES.has(node.type) && parts.length > 0) parts.push(separator);
    const children = node.content ?? [];
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return parts.join('');
}

function headingLevel(value: unknown): number {
  const level = typeof value === 'number' ? Math.round(value) : typeof value === 'string' ? Number.parseInt(value, 10) : 1;
  return Number.isFinite(level) ? Math.min(6, Math.max(1, level)) : 1;
}

function orderedListAttrs(attrs: Readonly<Record<string, unknown>> | undefined): { start: number; type: string | null } {
  const start = attrs?.['start'];
  const type = attrs?.['type'];
  return {
    start: typeof start === 'number' && Number.isInteger(start) && start >= 0 && start <= MAX_LIST_START ? start : 1,
    type: typeof type === 'string' && ORDERED_LIST_TYPES.has(type) ? type : null,
  };
}
