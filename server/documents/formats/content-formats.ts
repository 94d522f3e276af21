/**
 * A document's content in a requested format (`GET …/content?format=`), by kind:
 * - paper: `json` (ProseMirror JSON, as the editor reads the paper), `markdown`
 *   (markdown-export.ts), `html` (sanitized, html-export.ts), `text` (the plain-text rule of
 *   paper-text.ts), `yjs` (the whole state as one v1 update);
 * - research tree: `json` (`{nodes, edges, roots}`), `markdown` (a nested list), `yjs`.
 * Markdown and HTML go through the paper schema (paper-fit.ts), so content some client wrote
 * outside it is exported as its nearest schema form rather than refused.
 * Pure.
 */
import { z } from 'zod';
import * as Y from 'yjs';
import type { DocumentKind } from '../../persistence/documents.js';
import { renderTree } from '../../research-trees/render.js';
import { treeToMarkdown } from '../../research-trees/tree-formats.js';
import { renderPaper } from '../paper.js';
import { paperToHtml } from './html-export.js';
import { paperToMarkdown } from './markdown-export.js';
import { fitBlocks } from './paper-fit.js';

export const CONTENT_FORMATS = ['json', 'markdown', 'html', 'text', 'yjs'] as const;
export type ContentFormat = (typeof CONTENT_FORMATS)[number];

/** The `format` query parameter (absent: `json`). */
export const contentFormat = z.enum(CONTENT_FORMATS).default('json');

export const CONTENT_TYPES: Readonly<Record<ContentFormat, string>> = {
  json: 'application/json',
  markdown: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
  text: 'text/plain; charset=utf-8',
  yjs: 'application/octet-stream',
};

/** The formats each kind can be read in. */
export const FORMATS_OF_KIND: Readonly<Record<DocumentKind, readonly ContentFormat[]>> = {
  paper: CONTENT_FORMATS,
  research_tree: ['json', 'markdown', 'yjs'],
};

export interface ExportedContent {
  readonly contentType: string;
  /** The response body: UTF-8 text, or bytes for `yjs`. */
  readonly body: string | Uint8Array;
}

/** The document's content in `format`, or why that format is not available for its kind. */
export function exportContent(kind: DocumentKind, doc: Y.Doc, format: ContentFormat): ExportedContent | { readonly error: string } {
  if (!FORMATS_OF_KIND[kind].includes(format)) {
    return {
      error: `format ${format} is not available for a ${kind === 'paper' ? 'paper' : 'research tree'} (${FORMATS_OF_KIND[kind].join(', ')})`,
    };
  }
  const contentType = CONTENT_TYPES[format];
  if (format === 'yjs') return { contentType, body: Y.encodeStateAsUpdate(doc) };
  if (kind === 'research_tree') {
    const tree = renderTree(doc);
    return { contentType, body: format === 'markdown' ? treeToMarkdown(tree) : JSON.stringify(tree) };
  }
  const paper = renderPaper(doc);
  switch (format) {
    case 'json':
      return { contentType, body: JSON.stringify({ type: 'doc', content: paper.content }) };
    case 'text':
      return { contentType, body: paper.text };
    case 'markdown':
      return { contentType, body: paperToMarkdown(fitBlocks(paper.content)) };
    case 'html':
      return { contentType, body: paperToHtml(fitBlocks(paper.content)) };
  }
}
