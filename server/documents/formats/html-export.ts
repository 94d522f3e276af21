/**
 * A paper (schema blocks, paper-fit.ts) as sanitized HTML: only the schema's own tags
 * (p, h1–h6, blockquote, ul, ol, li, pre, code, hr, br, strong, em, s, u, a), every text and
 * attribute value escaped, links only to safe addresses (link-policy.ts) and opened with
 * `rel="noopener noreferrer nofollow"`. Nothing the paper holds is written as markup.
 * Pure.
 */
import type { Mark, Node as ModelNode } from 'prosemirror-model';
import { inlinePieces, writeWithMarks } from './inline-marks.js';
import { safeHref, safeLanguage } from './link-policy.js';
import { ORDERED_LIST_TYPES } from './paper-schema.js';

const MARK_TAGS: Readonly<Record<string, string>> = { bold: 'strong', italic: 'em', code: 'code', strike: 's', underline: 'u' };

/** The paper as an HTML fragment, one top-level block per line. */
export function paperToHtml(blocks: readonly ModelNode[]): string {
  return blocks.map(renderBlock).join('\n');
}

function renderBlock(block: ModelNode): string {
  switch (block.type.name) {
    case 'paragraph':
      return `<p>${renderInline(block)}</p>`;
    case 'heading': {
      const level = Number(block.attrs['level']);
      const tag = `h${Number.isInteger(level) && level >= 1 && level <= 6 ? level : 1}`;
      return `<${tag}>${renderInline(block)}</${tag}>`;
    }
    case 'blockquote':
      return `<blockquote>${renderChildren(block)}</blockquote>`;
    case 'bulletList':
      return `<ul>${renderChildren(block)}</ul>`;
    case 'orderedList': {
      const start = Number(block.attrs['start']);
      const type = block.attrs['type'];
      const startAttr = Number.isInteger(start) && start !== 1 ? ` start="${start}"` : '';
      const typeAttr = typeof type === 'string' && ORDERED_LIST_TYPES.has(type) ? ` type="${type}"` : '';
      return `<ol${startAttr}${typeAttr}>${renderChildren(block)}</ol>`;
    }
    case 'listItem':
      return `<li>${renderChildren(block)}</li>`;
    case 'codeBlock': {
      const language = safeLanguage(block.attrs['language']);
      const classAttr = language === null ? '' : ` class="language-${escapeHtml(language)}"`;
      return `<pre><code${classAttr}>${escapeHtml(block.textContent)}</code></pre>`;
    }
    case 'horizontalRule':
      return '<hr>';
    default:
      return renderChildren(block);
  }
}

function renderChildren(node: ModelNode): string {
  let out = '';
  node.forEach((child) => {
    out += renderBlock(child);
  });
  return out;
}

function renderInline(block: ModelNode): string {
  let out = '';
  writeWithMarks(inlinePieces(block), {
    open(mark) {
      out += openTag(mark);
    },
    close(mark) {
      out += closeTag(mark);
    },
    piece(piece) {
      out += piece.kind === 'break' ? '<br>' : escapeHtml(piece.text);
    },
  });
  return out;
}

function openTag(mark: Mark): string {
  if (mark.type.name === 'link') {
    const href = safeHref(mark.attrs['href']);
    if (href === null) return '';
    const title = mark.attrs['title'];
    const titleAttr = typeof title === 'string' && title !== '' ? ` title="${escapeHtml(title)}"` : '';
    return `<a href="${escapeHtml(href)}"${titleAttr} rel="noopener noreferrer nofollow">`;
  }
  const tag = MARK_TAGS[mark.type.name];
  return tag === undefined ? '' : `<${tag}>`;
}

function closeTag(mark: Mark): string {
  if (mark.type.name === 'link') return safeHref(mark.attrs['href']) === null ? '' : '</a>';
  const tag = MARK_TAGS[mark.type.name];
  return tag === undefined ? '' : `</${tag}>`;
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text or an attribute value, safe in either place. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}
