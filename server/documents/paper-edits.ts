/**
 * High-level edits of a paper, atomic: every op is parsed and planned against a model of the
 * paper (paper-model.ts) before anything is written, each op seeing the ops before it; only
 * when all of them can apply are they written, in one `doc.transact(…, origin)`. An op that
 * cannot apply (bad shape, invalid content, anchor or text not found) leaves the Y.Doc
 * untouched, byte for byte, and names the op.
 *
 * Ops (paper-edit-ops.ts): `append`, `insert` (after the top-level block holding the first
 * occurrence of a text; blocks are found by their text as the plain-text rule reads them,
 * paper-text.ts), `replace` and `delete` (text inside one run of text — the text between two
 * inline nodes such as hard breaks — in document order). Replaced text is edited in place
 * in its Y.XmlText: concurrent typing elsewhere in the same paragraph survives.
 * Pure: no I/O.
 */
import type { Node as ModelNode } from 'prosemirror-model';
import type * as Y from 'yjs';
import { EditOpError, isEditFailure, parseOps, type EditOutcome } from './edit-requests.js';
import { markdownToBlocks } from './formats/markdown-import.js';
import { checkedBlocks } from './formats/paper-fit.js';
import { paperEditOp, type PaperEditOp } from './paper-edit-ops.js';
import { holdsEditorContent, PAPER_FRAGMENT, paperFragment } from './paper-fragment.js';
import {
  modelOfNode,
  modelOfYType,
  modelTextTree,
  textRunsOf,
  yTypeOfModel,
  type ModelChild,
  type Splice,
  type TextRun,
} from './paper-model.js';
import { walkPaperText } from './paper-text.js';
import type { ProseMirrorNode } from './paper.js';

type TopLevelType = Y.XmlElement | Y.XmlText | Y.XmlHook;

/** A top-level block of the paper as planned: an existing one (read when needed) or a new one. */
interface PlannedBlock {
  readonly source: TopLevelType | null;
  model: ModelChild | null;
}

/** The paper as the ops so far leave it. */
class PaperDraft {
  readonly blocks: PlannedBlock[];

  constructor(readonly fragment: Y.XmlFragment) {
    this.blocks = fragment.toArray().map((source) => ({ source: source as TopLevelType, model: null }));
  }

  modelOf(block: PlannedBlock): ModelChild {
    block.model ??= modelOfYType(block.source!);
    return block.model;
  }

  /** The block's text by the plain-text rule (lines joined by newlines). */
  textOf(block: PlannedBlock): string {
    const parts: string[] = [];
    walkPaperText([this.modelOf(block)], modelTextTree, {
      text: (node) => parts.push(node.kind === 'text' ? node.run.text : ''),
      literal: (value) => parts.push(value),
      element: () => {},
    });
    return parts.join('');
  }

  /** Every run of text, in document order, with the name of the element holding it. */
  *runs(): Generator<{ readonly run: TextRun; readonly parent: string }> {
    for (const block of this.blocks) yield* textRunsOf(this.modelOf(block));
  }

  insertAt(index: number, blocks: readonly ModelNode[]): void {
    this.blocks.splice(index, 0, ...blocks.map((node) => ({ source: null, model: modelOfNode(node) })));
  }
}

/**
 * Applies `ops` (unknown JSON, each parsed here) to the paper of `doc` in one transaction
 * with `origin`, or changes nothing and answers which op failed.
 */
export function applyPaperEdits(doc: Y.Doc, ops: readonly unknown[], origin: unknown = null): EditOutcome {
  const parsed = parseOps(paperEditOp, ops);
  if (isEditFailure(parsed)) return parsed;
  const fragment = paperFragment(doc);
  if (fragment === null || !holdsEditorContent(fragment)) {
    return { error: 'this paper holds content no editor wrote (raw text in its fragment): it cannot be edited by ops', op: 0 };
  }
  const draft = new PaperDraft(fragment);
  const touched = new Set<TextRun>();
  for (let index = 0; index < parsed.ops.length; index++) {
    try {
      planOp(draft, parsed.ops[index]!, touched);
    } catch (error) {
      if (error instanceof EditOpError) return { error: error.message, op: index };
      throw error;
    }
  }
  doc.transact(() => writeDraft(draft, touched), origin);
  return { applied: parsed.ops.length, ids: {} };
}

/** Appends schema blocks at the end of the paper (a new document's initial content) in one transaction. */
export function appendPaperBlocks(doc: Y.Doc, blocks: readonly ModelNode[], origin: unknown = null): void {
  if (blocks.length === 0) return;
  const fragment = doc.getXmlFragment(PAPER_FRAGMENT);
  doc.transact(
    () =>
      fragment.insert(
        fragment.length,
        blocks.map((block) => yTypeOfModel(modelOfNode(block))),
      ),
    origin,
  );
}

function planOp(draft: PaperDraft, op: PaperEditOp, touched: Set<TextRun>): void {
  switch (op.op) {
    case 'append':
      draft.insertAt(draft.blocks.length, blocksOf(op));
      return;
    case 'insert': {
      const blocks = blocksOf(op);
      const index = draft.blocks.findIndex((block) => draft.textOf(block).includes(op.after));
      if (index === -1) throw new EditOpError(`after: no block holds the text ${quote(op.after)}`);
      draft.insertAt(index + 1, blocks);
      return;
    }
    case 'replace':
      replaceText(draft, op.find, op.with, op.all ?? false, touched);
      return;
    case 'delete':
      replaceText(draft, op.find, null, op.all ?? false, touched);
      return;
  }
}

/** The blocks an append or insert adds (never none: an op that adds nothing is a mistake worth telling). */
function blocksOf(op: { readonly markdown?: string | undefined; readonly content?: readonly ProseMirrorNode[] | undefined }): ModelNode[] {
  let blocks: ModelNode[];
  if (op.content !== undefined) {
    const checked = checkedBlocks(op.content);
    if ('error' in checked) throw new EditOpError(`content: ${checked.error}`);
    blocks = checked.blocks;
  } else {
    blocks = markdownToBlocks(op.markdown ?? '');
  }
  if (blocks.length === 0) throw new EditOpError(op.content !== undefined ? 'content: no blocks to add' : 'markdown: no blocks to add');
  return blocks;
}

/**
 * Replaces (`replacement` null: deletes) the first or every occurrence of `find` inside runs
 * of text, never inside text it inserted. The new text gets the formatting of the first
 * character it replaces.
 */
function replaceText(draft: PaperDraft, find: string, replacement: string | null, all: boolean, touched: Set<TextRun>): void {
  const insert = replacement ?? '';
  let found = 0;
  for (const { run, parent } of draft.runs()) {
    const text = run.text;
    const ranges: Splice[] = [];
    for (let at = text.indexOf(find); at !== -1; at = all ? text.indexOf(find, at + find.length) : -1) {
      ranges.push({ index: at, remove: find.length, insert, attributes: insert === '' ? {} : run.attributesAt(at) });
    }
    if (ranges.length === 0) continue;
    if (/[\r\n]/.test(insert) && parent !== 'codeBlock') {
      throw new EditOpError('with: a line break can only be put into a code block (add blocks with insert instead)');
    }
    run.splice(ranges);
    touched.add(run);
    found += ranges.length;
    if (!all) return;
  }
  if (found === 0) throw new EditOpError(`find: the text ${quote(find)} is not in the paper`);
}

/** Writes the planned paper: splices into existing text, new blocks at their places. */
function writeDraft(draft: PaperDraft, touched: ReadonlySet<TextRun>): void {
  for (const run of touched) if (run.source !== null) run.replay();
  const fragment = draft.fragment;
  let position = 0;
  let pending: (Y.XmlElement | Y.XmlText)[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    fragment.insert(position, pending);
    position += pending.length;
    pending = [];
  };
  for (const block of draft.blocks) {
    if (block.source !== null) {
      flush();
      position++;
    } else pending.push(yTypeOfModel(block.model!));
  }
  flush();
}

/** A text as quoted in messages, shortened. */
function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}…` : text);
}
