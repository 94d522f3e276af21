/**
 * The high-level edit ops on a research tree (docs/contracts.md "Programmable documents"), as zod
 * schemas: they parse ops from unknown JSON (documents/edit-requests.ts) and describe them
 * for OpenAPI.
 * - `addNode {id?, title, parentId?, status?, after?}`: a new node under `parentId` (absent or
 *   null: a root), right after the sibling `after` (absent: last; null: first);
 * - `updateNode {id, title?, status?}`;
 * - `moveNode {id, parentId, after?}` (same placement rule);
 * - `deleteNode {id}`: its children move up to its parent, at its place;
 * - `addEdge {id?, from, to, type}`, `deleteEdge {id}`.
 * Pure.
 */
import { z } from 'zod';

/** Bounds of one op's strings. */
export const MAX_ID_LENGTH = 255;
export const MAX_TITLE_LENGTH = 10_000;
export const MAX_STATUS_LENGTH = 200;

const id = z.string().min(1).max(MAX_ID_LENGTH);
const title = z.string().max(MAX_TITLE_LENGTH);
const status = z.string().max(MAX_STATUS_LENGTH).nullable();
const after = id.nullable().describe('the sibling to place the node after; null: first; absent: last');

export const addNodeOp = z.strictObject({
  op: z.literal('addNode'),
  id: id.optional().describe('default: a new UUID'),
  title,
  parentId: id.nullable().optional().describe('absent or null: a root'),
  status: status.optional(),
  after: after.optional(),
});

export const updateNodeOp = z
  .strictObject({ op: z.literal('updateNode'), id, title: title.optional(), status: status.optional() })
  .refine((op) => op.title !== undefined || op.status !== undefined, { message: 'give title or status (or both)' });

export const moveNodeOp = z.strictObject({
  op: z.literal('moveNode'),
  id,
  parentId: id.nullable().describe('null: to the roots'),
  after: after.optional(),
});

export const deleteNodeOp = z.strictObject({ op: z.literal('deleteNode'), id });

export const addEdgeOp = z.strictObject({
  op: z.literal('addEdge'),
  id: id.optional().describe('default: a new UUID'),
  from: id,
  to: id,
  type: z.string().min(1).max(MAX_STATUS_LENGTH),
});

export const deleteEdgeOp = z.strictObject({ op: z.literal('deleteEdge'), id });

export const treeEditOp = z.discriminatedUnion('op', [addNodeOp, updateNodeOp, moveNodeOp, deleteNodeOp, addEdgeOp, deleteEdgeOp]);

export type TreeEditOp = z.infer<typeof treeEditOp>;
