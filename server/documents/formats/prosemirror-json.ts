/**
 * ProseMirror JSON as input (`content` of an edit op, `format: "json"` of a new document):
 * its zod schema, for parsing unknown JSON and for OpenAPI. Whether the nodes are valid for
 * the paper schema is checked later (paper-fit.ts `checkedBlocks`).
 * Pure.
 */
import { z } from 'zod';
import type { ProseMirrorNode } from '../paper.js';

/** At most this many nodes in one `content` array, and marks on one text node. */
export const MAX_CONTENT_NODES = 10_000;
export const MAX_NODE_MARKS = 16;

const proseMirrorMark = z.object({
  type: z.string().min(1),
  attrs: z.record(z.string(), z.unknown()).optional(),
});

/** A ProseMirror node as JSON (what `Node.toJSON()` gives). */
export const proseMirrorNode: z.ZodType<ProseMirrorNode> = z.lazy(() =>
  z.object({
    type: z.string().min(1),
    attrs: z.record(z.string(), z.unknown()).optional(),
    content: z.array(proseMirrorNode).max(MAX_CONTENT_NODES).optional(),
    text: z.string().optional(),
    marks: z.array(proseMirrorMark).max(MAX_NODE_MARKS).optional(),
  }),
);

/** Block nodes: an array of them, or a whole `doc` node. */
export const proseMirrorBlocks = z.union([
  z.array(proseMirrorNode).max(MAX_CONTENT_NODES),
  z.object({ type: z.literal('doc'), content: z.array(proseMirrorNode).max(MAX_CONTENT_NODES).optional() }),
]);
