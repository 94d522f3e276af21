/**
 * The high-level edit ops on a paper (docs/contracts.md "Programmable documents"), as zod schemas:
 * they parse ops from unknown JSON (edit-requests.ts) and describe them for OpenAPI.
 * - `append`: blocks (Markdown, or ProseMirror JSON nodes as `content`) added at the end;
 * - `insert`: blocks added after the top-level block holding the first occurrence of `after`;
 * - `replace`: text replaced inside blocks, the first occurrence or `all`; the new text takes
 *   the marks of the first replaced character;
 * - `delete`: text deleted inside blocks, the first occurrence or `all`.
 * Pure.
 */
import { z } from 'zod';
import { MAX_CONTENT_NODES, proseMirrorNode } from './formats/prosemirror-json.js';
import type { ProseMirrorNode } from './paper.js';

/** Bounds of one op's strings (the request body has its own limit too). */
export const MAX_MARKDOWN_LENGTH = 1_000_000;
export const MAX_FIND_LENGTH = 10_000;

const markdown = z.string().max(MAX_MARKDOWN_LENGTH).describe('CommonMark with GFM tables and strikethrough');
const content = z.array(proseMirrorNode).max(MAX_CONTENT_NODES).describe('ProseMirror JSON block nodes');
const text = z.string().min(1).max(MAX_FIND_LENGTH);

const oneSource = (op: { markdown?: string | undefined; content?: readonly ProseMirrorNode[] | undefined }): boolean =>
  (op.markdown === undefined) !== (op.content === undefined);
const oneSourceMessage = { message: 'give either markdown or content (one of them)' };

export const appendOp = z
  .strictObject({ op: z.literal('append'), markdown: markdown.optional(), content: content.optional() })
  .refine(oneSource, oneSourceMessage);

export const insertOp = z
  .strictObject({
    op: z.literal('insert'),
    after: text.describe('text whose first occurrence marks the top-level block to insert after'),
    markdown: markdown.optional(),
    content: content.optional(),
  })
  .refine(oneSource, oneSourceMessage);

export const replaceOp = z.strictObject({
  op: z.literal('replace'),
  find: text,
  with: z.string().max(MAX_FIND_LENGTH),
  all: z.boolean().optional(),
});

export const deleteOp = z.strictObject({
  op: z.literal('delete'),
  find: text,
  all: z.boolean().optional(),
});

export const paperEditOp = z.discriminatedUnion('op', [appendOp, insertOp, replaceOp, deleteOp]);

export type PaperEditOp = z.infer<typeof paperEditOp>;
