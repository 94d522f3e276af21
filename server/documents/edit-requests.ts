/**
 * What an edit request (`POST …/edits {ops}`) is and answers, for papers and research trees
 * alike: ops are parsed one by one from unknown JSON by zod schemas (paper-edit-ops.ts,
 * research-trees/tree-edit-ops.ts, from which OpenAPI schemas can be generated), every op
 * is planned against the current document before anything is written, and a request
 * either applies whole or answers which op failed and why.
 * Pure.
 */
import type { z } from 'zod';
import { describeIssues } from '../zod-issues.js';

/** At most this many ops in one request: bounds the work and the transaction of one request. */
export const MAX_EDIT_OPS = 500;

/** Nesting deeper than this in an op is refused before it is parsed (bounds every recursion after). */
export const MAX_OP_DEPTH = 128;

export interface EditSuccess {
  /** How many ops were applied (all of them). */
  readonly applied: number;
  /** For each op that created something (a node, an edge), its index in `ops` → the new id. */
  readonly ids: Readonly<Record<string, string>>;
}

/** The op at index `op` could not apply (bad shape, anchor not found, unknown node…): nothing changed. */
export interface EditFailure {
  readonly error: string;
  readonly op: number;
}

export type EditOutcome = EditSuccess | EditFailure;

export function isEditFailure(outcome: object): outcome is EditFailure {
  return 'error' in outcome;
}

/** Thrown by a planner for the op it is planning; turned into an EditFailure with that op's index. */
export class EditOpError extends Error {}

/** The ops parsed by `schema`, or the first that does not parse. */
export function parseOps<T>(schema: z.ZodType<T>, ops: readonly unknown[]): { readonly ops: T[] } | EditFailure {
  if (ops.length === 0) return { error: 'ops: at least one op is required', op: 0 };
  if (ops.length > MAX_EDIT_OPS) return { error: `ops: at most ${MAX_EDIT_OPS} ops per request`, op: MAX_EDIT_OPS };
  const parsed: T[] = [];
  for (let index = 0; index < ops.length; index++) {
    const op = ops[index];
    if (nestedDeeperThan(op, MAX_OP_DEPTH)) return { error: `nested deeper than ${MAX_OP_DEPTH} levels`, op: index };
    const result = schema.safeParse(op);
    if (!result.success) return { error: describeIssues(result.error, op, 'op'), op: index };
    parsed.push(result.data);
  }
  return { ops: parsed };
}

/** Whether a JSON value nests arrays/objects deeper than `limit`, measured without recursion. */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: next, depth } = stack.pop()!;
    if (typeof next !== 'object' || next === null) continue;
    if (depth >= limit) return true;
    for (const child of Object.values(next)) stack.push({ value: child, depth: depth + 1 });
  }
  return false;
}
