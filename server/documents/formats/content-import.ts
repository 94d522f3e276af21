/**
 * A new paper's initial content (`POST /api/documents {content, format}`): Markdown, HTML or
 * ProseMirror JSON made into the paper schema (html-import.ts, markdown-import.ts,
 * paper-fit.ts) and written as an editor would write it, as one Yjs update for the new
 * document's state.
 * Pure.
 */
import type { Node as ModelNode } from 'prosemirror-model';
import { z } from 'zod';
import * as Y from 'yjs';
import { MAX_OP_DEPTH, nestedDeeperThan } from '../edit-requests.js';
import { appendPaperBlocks } from '../paper-edits.js';
import { htmlToBlocks } from './html-import.js';
import { markdownToBlocks } from './markdown-import.js';
import { checkedBlocks } from './paper-fit.js';
import { proseMirrorBlocks } from './prosemirror-json.js';

export const IMPORT_FORMATS = ['markdown', 'json', 'html'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** The `format` of a new document's `content` (absent: `markdown` for a string, else `json`). */
export const importFormat = z.enum(IMPORT_FORMATS);

/** The schema blocks `content` stands for in `format`, or what is wrong with it. */
export function paperBlocksOf(content: unknown, format?: ImportFormat): { readonly blocks: ModelNode[] } | { readonly error: string } {
  const chosen = format ?? (typeof content === 'string' ? 'markdown' : 'json');
  if (chosen !== 'json') {
    if (typeof content !== 'string') return { error: `content: a string is expected for format ${chosen}` };
    return { blocks: chosen === 'markdown' ? markdownToBlocks(content) : htmlToBlocks(content) };
  }
  if (nestedDeeperThan(content, MAX_OP_DEPTH)) return { error: `content: nested deeper than ${MAX_OP_DEPTH} levels` };
  const parsed = proseMirrorBlocks.safeParse(content);
  if (!parsed.success) return { error: 'content: ProseMirror JSON is expected (a doc node or an array of block nodes)' };
  const checked = checkedBlocks(Array.isArray(parsed.data) ? parsed.data : (parsed.data.content ?? []));
  return 'error' in checked ? { error: `content: ${checked.error}` } : checked;
}

/** A new paper holding `content`, as one Yjs update (its whole state), or what is wrong with the content. */
export function initialPaperUpdate(content: unknown, format?: ImportFormat): { readonly update: Uint8Array } | { readonly error: string } {
  const result = paperBlocksOf(content, format);
  if ('error' in result) return result;
  const doc = new Y.Doc();
  try {
    appendPaperBlocks(doc, result.blocks);
    return { update: Y.encodeStateAsUpdate(doc) };
  } finally {
    doc.destroy();
  }
}
