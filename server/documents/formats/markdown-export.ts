/**
 * A paper (schema blocks, paper-fit.ts) as CommonMark, written so that reading it back
 * (markdown-import.ts) gives the same paper: headings, paragraphs, bold, italic, strike
 * (GFM `~~`), code, links, bullet and ordered lists (nested), blockquotes, fenced code
 * blocks, horizontal rules and hard breaks.
 *
 * How the round trip is kept:
 * - Text is escaped: every character that can start Markdown syntax anywhere, and at the
 *   start of a line (the block's first line and after each hard break) what would start a
 *   block there (`#`, `>`, `-`, `+`, `=`, `1.`, `1)`, indentation). Leading and trailing
 *   whitespace of a line, which Markdown would strip, is written as a character reference.
 * - Emphasis delimiters cannot enclose whitespace, so whitespace at the edge of bold,
 *   italic or strike text moves outside the mark (invisible, and what editors do too).
 * - Two lists of the same kind in a row would read back as one: they alternate their
 *   markers (`-`/`*`, `.`/`)`).
 * What Markdown cannot hold is left out: underline (no syntax), empty paragraphs, a hard
 * break that ends a block, an ordered list's `type`. A mark that ends next to a word
 * with punctuation at its inner edge (`**a.**b`) is a CommonMark limit: such text may read
 * back with literal delimiters.
 * Pure.
 */
import type { Mark, Node as ModelNode } from 'prosemirror-model';
import { inlinePieces, writeWithMarks, type InlinePiece } from './inline-marks.js';
import { safeLanguage } from './link-policy.js';

/** Marks written as flanking delimiters: whitespace at their edges is moved outside. */
const EMPHASIS: Readonly<Record<string, string>> = { bold: '**', italic: '*', strike: '~~' };

/** Characters escaped wherever they appear in text. */
const ALWAYS_ESCAPED: ReadonlySet<string> = new Set(['\\', '`', '*', '[', ']', '<', '&', '|', '~']);

/** Characters that start a block when they begin a line. */
const LINE_START_ESCAPED: ReadonlySet<string> = new Set(['#', '>', '-', '+', '=']);

/** The paper as Markdown, ending with a newline (empty for an empty paper). */
export function paperToMarkdown(blocks: readonly ModelNode[]): string {
  const lines = renderBlocks(blocks);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/**
 * Blocks separated by blank lines. In a list item (`inItem`), a list right after the item's
 * paragraph follows it directly, as people write nested lists (a list may interrupt a
 * paragraph: a bullet list always, an ordered one when it starts at 1).
 */
function renderBlocks(blocks: readonly ModelNode[], inItem = false): string[] {
  const out: string[] = [];
  let previous: { type: string; marker: string } | null = null;
  for (const block of blocks) {
    const type = block.type.name;
    let marker = '';
    if (type === 'bulletList') marker = previous?.type === 'bulletList' && previous.marker === '-' ? '*' : '-';
    else if (type === 'orderedList') marker = previous?.type === 'orderedList' && previous.marker === '.' ? ')' : '.';
    const lines = renderBlock(block, marker);
    if (lines.length === 0) continue;
    if (out.length > 0 && !(inItem && previous?.type === 'paragraph' && interruptsParagraph(block))) out.push('');
    out.push(...lines);
    previous = { type, marker };
  }
  return out;
}

function interruptsParagraph(block: ModelNode): boolean {
  if (block.type.name !== 'bulletList' && (block.type.name !== 'orderedList' || Number(block.attrs['start']) !== 1)) return false;
  // An empty item cannot interrupt a paragraph.
  return block.firstChild?.firstChild?.content.size !== 0;
}

function renderBlock(block: ModelNode, marker: string): string[] {
  switch (block.type.name) {
    case 'paragraph': {
      const text = renderInline(block, false);
      return text === '' ? [] : text.split('\n');
    }
    case 'heading': {
      const level = Number(block.attrs['level']);
      const text = renderInline(block, true);
      return ['#'.repeat(level) + (text === '' ? '' : ` ${text}`)];
    }
    case 'blockquote': {
      const inner = renderBlocks(childrenOf(block));
      return inner.length === 0 ? ['>'] : inner.map((line) => (line === '' ? '>' : `> ${line}`));
    }
    case 'bulletList':
      return renderList(block, () => `${marker} `);
    case 'orderedList': {
      const start = Number(block.attrs['start']);
      return renderList(block, (index) => `${start + index}${marker} `);
    }
    case 'codeBlock':
      return renderCodeBlock(block);
    case 'horizontalRule':
      return ['---'];
    default:
      return renderBlocks(childrenOf(block));
  }
}

/** Items one per line group; an item's continuation lines are indented under its text. */
function renderList(list: ModelNode, markerOf: (index: number) => string): string[] {
  const out: string[] = [];
  childrenOf(list).forEach((item, index) => {
    const marker = markerOf(index);
    const lines = renderBlocks(childrenOf(item), true);
    if (lines.length === 0) {
      out.push(marker.trimEnd());
      return;
    }
    const indent = ' '.repeat(marker.length);
    lines.forEach((line, i) => out.push(i === 0 ? marker + line : line === '' ? '' : indent + line));
  });
  return out;
}

function renderCodeBlock(block: ModelNode): string[] {
  const code = block.textContent;
  let longest = 0;
  for (const run of code.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const fence = '`'.repeat(Math.max(3, longest + 1));
  const info = safeLanguage(block.attrs['language']) ?? '';
  return code === '' ? [fence + info, fence] : [fence + info, ...code.split('\n'), fence];
}

function childrenOf(node: ModelNode): ModelNode[] {
  const children: ModelNode[] = [];
  node.forEach((child) => children.push(child));
  return children;
}

/** A textblock's inline content; hard breaks become `\` + newline (a space in a heading, which is one line). */
function renderInline(block: ModelNode, heading: boolean): string {
  let pieces = inlinePieces(block);
  if (heading) pieces = pieces.map((piece) => (piece.kind === 'break' ? { kind: 'text', text: ' ', marks: piece.marks } : piece));
  // A break that ends the block cannot be written (a trailing `\` is literal).
  while (pieces.length > 0 && pieces[pieces.length - 1]!.kind === 'break') pieces = pieces.slice(0, -1);
  pieces = expelWhitespace(pieces);
  let out = '';
  let lineStart = true;
  writeWithMarks(pieces, {
    open(mark) {
      if (mark.type.name === 'link') out += '[';
      else out += EMPHASIS[mark.type.name] ?? '';
      if (mark.type.name !== 'underline' && mark.type.name !== 'code') lineStart = false;
    },
    close(mark) {
      if (mark.type.name === 'link') out += `](${linkDestination(String(mark.attrs['href']))}${linkTitle(mark)})`;
      else out += EMPHASIS[mark.type.name] ?? '';
    },
    piece(piece, index) {
      if (piece.kind === 'break') {
        out += '\\\n';
        lineStart = true;
        return;
      }
      const next = pieces[index + 1];
      const lineEnd = next === undefined || next.kind === 'break';
      if (piece.marks.some((mark) => mark.type.name === 'code')) out += codeSpan(piece.text);
      else out += escapeText(piece.text.replace(/[\r\n]/g, ' '), lineStart, lineEnd, heading);
      lineStart = false;
    },
  });
  return out;
}

/**
 * Moves whitespace at the edges of emphasis-marked text outside the marks that open or
 * close there (`** a **` is not emphasis in CommonMark).
 */
function expelWhitespace(pieces: readonly InlinePiece[]): InlinePiece[] {
  const out: InlinePiece[] = [];
  pieces.forEach((piece, i) => {
    if (piece.kind !== 'text' || !piece.marks.some(isEmphasis)) {
      out.push(piece);
      return;
    }
    const before = neighbourMarks(pieces, i - 1);
    const after = neighbourMarks(pieces, i + 1);
    const [, lead = '', body = '', trail = ''] = /^(\s*)([\s\S]*?)(\s*)$/.exec(piece.text) ?? [];
    const outside = (neighbour: readonly Mark[]) => piece.marks.filter((mark) => !isEmphasis(mark) || mark.isInSet(neighbour));
    if (body === '') {
      out.push({ kind: 'text', text: piece.text, marks: outside(before).filter((mark) => !isEmphasis(mark) || mark.isInSet(after)) });
      return;
    }
    if (lead !== '') out.push({ kind: 'text', text: lead, marks: outside(before) });
    out.push({ kind: 'text', text: body, marks: piece.marks });
    if (trail !== '') out.push({ kind: 'text', text: trail, marks: outside(after) });
  });
  return out;
}

/** The marks of the text piece at `i` (none for a break or past the ends: emphasis never spans them). */
function neighbourMarks(pieces: readonly InlinePiece[], i: number): readonly Mark[] {
  const piece = pieces[i];
  return piece?.kind === 'text' ? piece.marks : [];
}

function isEmphasis(mark: Mark): boolean {
  return EMPHASIS[mark.type.name] !== undefined;
}

/** Text with its Markdown syntax escaped (see the module comment). */
export function escapeText(text: string, lineStart: boolean, lineEnd: boolean, heading = false): string {
  const chars = Array.from(text);
  const out = chars.map((char, i) => {
    if (ALWAYS_ESCAPED.has(char)) return `\\${char}`;
    if (char === '_') return isWordChar(chars[i - 1]) && isWordChar(chars[i + 1]) ? char : '\\_';
    // A heading's trailing #s would read as its closing sequence.
    if (char === '#' && heading) return '\\#';
    return char;
  });
  if (out.length === 0) return '';
  if (lineStart) {
    const first = chars[0]!;
    if (first === ' ' || first === '\t') out[0] = characterReference(first);
    else if (LINE_START_ESCAPED.has(first) && !out[0]!.startsWith('\\')) out[0] = `\\${first}`;
    else {
      const number = /^(\d{1,9})([.)])/.exec(text);
      if (number) out[number[1]!.length] = `\\${number[2]}`;
    }
  }
  if (lineEnd) {
    const last = chars.length - 1;
    if (chars[last] === ' ' || chars[last] === '\t') out[last] = characterReference(chars[last]!);
  }
  return out.join('');
}

function characterReference(char: string): string {
  return `&#${char.codePointAt(0)};`;
}

function isWordChar(char: string | undefined): boolean {
  return char !== undefined && /[\p{L}\p{N}]/u.test(char);
}

/**
 * A code span: enough backticks to hold the text's own, padded with a space on each side
 * when the text would otherwise merge with the backticks or lose an edge space (a reader
 * strips one space from each side of a span that has both; markdown-it does so for spaces
 * only too).
 */
function codeSpan(text: string): string {
  const value = text.replace(/[\r\n]/g, ' ');
  let longest = 0;
  for (const run of value.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const ticks = '`'.repeat(longest + 1);
  const pad = value.startsWith('`') || value.endsWith('`') || (value.startsWith(' ') && value.endsWith(' ')) ? ' ' : '';
  return ticks + pad + value + pad + ticks;
}

function linkDestination(href: string): string {
  if (/[\s<>]/.test(href)) return `<${href.replace(/[\\<>]/g, '\\$&')}>`;
  return href.replace(/[\\()]/g, '\\$&');
}

function linkTitle(mark: Mark): string {
  const title = mark.attrs['title'];
  if (typeof title !== 'string' || title === '') return '';
  return ` "${title.replace(/[\r\n]+/g, ' ').replace(/[\\"]/g, '\\$&')}"`;
}
