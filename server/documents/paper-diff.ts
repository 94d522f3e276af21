/**
 * Structured diff of two rendered papers (versions are garbage-collected Yjs states, so we
 * diff rendered content, never Yjs snapshots).
 *
 * - Blocks: the top-level nodes are aligned on their exact JSON: blocks unique on both
 *   sides anchor the alignment (patience diff), jsdiff's `diffArrays` (Myers, an LCS)
 *   aligns the gaps between anchors. Within each run of unmatched blocks, a removed block and a later added
 *   one of the same type whose words mostly agree are paired as `changed`; the rest are
 *   `added` or `removed`. Unchanged blocks are only counted.
 * - Text: a word-level diff (jsdiff `diffWordsWithSpace`: words, punctuation and runs of
 *   whitespace are tokens; plain `diffWords` ignores whitespace and does not rebuild the
 *   texts exactly) of each changed block, equal text for
 *   unchanged blocks and whole text for added/removed ones, stitched with the line separators
 *   into one sequence over the whole document: concatenating `equal` + `removed` parts gives
 *   `from.text`, `equal` + `added` parts gives `to.text`. A UI renders the parts in order and
 *   highlights added and removed ones. Word diffs run only on changed blocks, so cost follows
 *   the size of the change, not of the paper.
 * Pure: usable in the browser.
 */
import { diffArrays, diffWordsWithSpace } from 'diff';
import type { PaperContent, ProseMirrorNode } from './paper.js';
import { LINE_SEPARATOR, paperTextOf } from './paper-text.js';

export interface TextChange {
  readonly type: 'equal' | 'added' | 'removed';
  readonly value: string;
}

export type BlockChange =
  | { readonly op: 'added'; readonly toIndex: number; readonly block: ProseMirrorNode; readonly text: string }
  | { readonly op: 'removed'; readonly fromIndex: number; readonly block: ProseMirrorNode; readonly text: string }
  | {
      readonly op: 'changed';
      readonly fromIndex: number;
      readonly toIndex: number;
      readonly from: ProseMirrorNode;
      readonly to: ProseMirrorNode;
      /** Word-level diff of the block's text (all `equal` when only marks or attributes changed). */
      readonly text: readonly TextChange[];
    };

export interface PaperDiff {
  readonly kind: 'paper';
  /** Added, removed and changed top-level blocks, in document order. */
  readonly blocks: readonly BlockChange[];
  /** The whole text as equal/added/removed parts (adjacent parts of one type merged). */
  readonly text: readonly TextChange[];
  readonly stats: { readonly added: number; readonly removed: number; readonly changed: number; readonly unchanged: number };
}

/** Above this many block edits between two anchors the alignment stops looking for an LCS. */
const MAX_GAP_EDITS = 200;
/** Above this many word edits within one block, the block is shown as replaced whole. */
const MAX_WORD_EDITS = 2_000;
/** How far ahead among added blocks a removed block looks for its changed counterpart. */
const PAIRING_WINDOW = 8;
/** Share of words two blocks must have in common to count as one block changed. */
const PAIRING_SIMILARITY = 0.5;

interface Block {
  readonly node: ProseMirrorNode;
  readonly key: string;
  readonly text: string;
  readonly index: number;
}

export function diffPapers(from: PaperContent, to: PaperContent): PaperDiff {
  const fromBlocks = blocksOf(from.content);
  const toBlocks = blocksOf(to.content);
  const blocks: BlockChange[] = [];
  const text = new TextChanges();
  const stats = { added: 0, removed: 0, changed: 0, unchanged: 0 };
  let fromHasLine = false;
  let toHasLine = false;

  const separator = (): void => {
    if (fromHasLine && toHasLine) text.push('equal', LINE_SEPARATOR);
    else if (fromHasLine) text.push('removed', LINE_SEPARATOR);
    else if (toHasLine) text.push('added', LINE_SEPARATOR);
    fromHasLine = toHasLine = true;
  };
  const emitEqual = (block: Block): void => {
    stats.unchanged++;
    separator();
    text.push('equal', block.text);
  };
  const emitRemoved = (block: Block): void => {
    stats.removed++;
    blocks.push({ op: 'removed', fromIndex: block.index, block: block.node, text: block.text });
    if (fromHasLine) text.push('removed', LINE_SEPARATOR);
    fromHasLine = true;
    text.push('removed', block.text);
  };
  const emitAdded = (block: Block): void => {
    stats.added++;
    blocks.push({ op: 'added', toIndex: block.index, block: block.node, text: block.text });
    if (toHasLine) text.push('added', LINE_SEPARATOR);
    toHasLine = true;
    text.push('added', block.text);
  };
  const emitChanged = (before: Block, after: Block): void => {
    stats.changed++;
    const words = diffBlockText(before.text, after.text);
    blocks.push({ op: 'changed', fromIndex: before.index, toIndex: after.index, from: before.node, to: after.node, text: words });
    separator();
    for (const part of words) text.push(part.type, part.value);
  };

  for (const run of alignBlocks(fromBlocks, toBlocks)) {
    if (run.type === 'equal') {
      run.from.forEach(emitEqual);
      continue;
    }
    // An unmatched stretch: pair removed blocks with similar added ones that follow them.
    let next = 0;
    for (const removed of run.from) {
      const limit = Math.min(run.to.length, next + PAIRING_WINDOW);
      let match = -1;
      for (let j = next; j < limit; j++) {
        if (run.to[j]!.node.type === removed.node.type && similarity(removed.text, run.to[j]!.text) >= PAIRING_SIMILARITY) {
          match = j;
          break;
        }
      }
      if (match < 0) {
        emitRemoved(removed);
        continue;
      }
      for (; next < match; next++) emitAdded(run.to[next]!);
      emitChanged(removed, run.to[match]!);
      next = match + 1;
    }
    for (; next < run.to.length; next++) emitAdded(run.to[next]!);
  }

  return { kind: 'paper', blocks, text: text.parts, stats };
}

function blocksOf(content: readonly ProseMirrorNode[]): Block[] {
  return content.map((node, index) => ({ node, key: JSON.stringify(node), text: paperTextOf([node]), index }));
}

type Run = { readonly type: 'equal' | 'unmatched'; readonly from: Block[]; readonly to: Block[] };

/**
 * Equal runs and unmatched stretches (removed blocks, then added ones) in document order.
 * Patience-style: blocks whose JSON occurs exactly once on each side and in the same order
 * (longest increasing subsequence) are matched first, which is linear-logarithmic and fits
 * prose, where almost every block is unique. The gaps between those anchors are aligned by
 * jsdiff's `diffArrays` (an LCS); a gap with more than MAX_GAP_EDITS edits is left as one
 * unmatched stretch, so a wholesale rewrite costs linear time instead of an LCS search.
 */
function alignBlocks(from: Block[], to: Block[]): Run[] {
  const runs: Run[] = [];
  const push = (type: Run['type'], fromPart: Block[], toPart: Block[]): void => {
    if (fromPart.length === 0 && toPart.length === 0) return;
    const last = runs[runs.length - 1];
    if (last !== undefined && last.type === type) {
      last.from.push(...fromPart);
      last.to.push(...toPart);
    } else runs.push({ type, from: fromPart, to: toPart });
  };
  const alignGap = (fromGap: Block[], toGap: Block[]): void => {
    const changes =
      fromGap.length > 0 && toGap.length > 0
        ? diffArrays(
            fromGap.map((block) => block.key),
            toGap.map((block) => block.key),
            { maxEditLength: MAX_GAP_EDITS },
          )
        : undefined;
    if (changes === undefined) {
      push('unmatched', fromGap, toGap);
      return;
    }
    let i = 0;
    let j = 0;
    for (const change of changes) {
      const count = change.count;
      if (change.added) {
        push('unmatched', [], toGap.slice(j, j + count));
        j += count;
      } else if (change.removed) {
        push('unmatched', fromGap.slice(i, i + count), []);
        i += count;
      } else {
        push('equal', fromGap.slice(i, i + count), toGap.slice(j, j + count));
        i += count;
        j += count;
      }
    }
  };
  let i = 0;
  let j = 0;
  for (const [anchorFrom, anchorTo] of uniqueAnchors(from, to)) {
    alignGap(from.slice(i, anchorFrom), to.slice(j, anchorTo));
    push('equal', [from[anchorFrom]!], [to[anchorTo]!]);
    i = anchorFrom + 1;
    j = anchorTo + 1;
  }
  alignGap(from.slice(i), to.slice(j));
  return runs;
}

/** Index pairs of blocks unique on both sides, the longest run of them in the same order. */
function uniqueAnchors(from: readonly Block[], to: readonly Block[]): [number, number][] {
  const count = (blocks: readonly Block[]): Map<string, number> => {
    const positions = new Map<string, number>();
    for (const block of blocks) positions.set(block.key, positions.has(block.key) ? -1 : block.index);
    return positions;
  };
  const inFrom = count(from);
  const inTo = count(to);
  const pairs: [number, number][] = [];
  for (const block of from) {
    const j = inTo.get(block.key);
    if (j !== undefined && j >= 0 && inFrom.get(block.key) === block.index) pairs.push([block.index, j]);
  }
  // Longest increasing subsequence of the `to` indices (patience sorting).
  const tails: number[] = []; // tails[k]: index in pairs of the smallest tail of a run of length k+1
  const previous = new Array<number>(pairs.length).fill(-1);
  for (let k = 0; k < pairs.length; k++) {
    const value = pairs[k]![1];
    let low = 0;
    let high = tails.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (pairs[tails[mid]!]![1] < value) low = mid + 1;
      else high = mid;
    }
    if (low > 0) previous[k] = tails[low - 1]!;
    tails[low] = k;
  }
  const anchors: [number, number][] = [];
  for (let k = tails.length > 0 ? tails[tails.length - 1]! : -1; k >= 0; k = previous[k]!) anchors.push(pairs[k]!);
  return anchors.reverse();
}

function diffBlockText(before: string, after: string): TextChange[] {
  if (before === after) return before === '' ? [] : [{ type: 'equal', value: before }];
  const changes = diffWordsWithSpace(before, after, { maxEditLength: MAX_WORD_EDITS });
  const parts = new TextChanges();
  if (changes === undefined) {
    parts.push('removed', before);
    parts.push('added', after);
  } else {
    for (const change of changes) parts.push(change.added ? 'added' : change.removed ? 'removed' : 'equal', change.value);
  }
  return parts.parts;
}

/** Dice coefficient of the two texts' word multisets (1 for two empty texts). */
function similarity(a: string, b: string): number {
  const wordsA = words(a);
  const wordsB = words(b);
  if (wordsA.length === 0 && wordsB.length === 0) return 1;
  const counts = new Map<string, number>();
  for (const word of wordsA) counts.set(word, (counts.get(word) ?? 0) + 1);
  let common = 0;
  for (const word of wordsB) {
    const count = counts.get(word) ?? 0;
    if (count > 0) {
      common++;
      counts.set(word, count - 1);
    }
  }
  return (2 * common) / (wordsA.length + wordsB.length);
}

function words(value: string): string[] {
  return value.split(/\s+/).filter((word) => word.length > 0);
}

/** Text parts with adjacent parts of one type merged and empty ones dropped. */
class TextChanges {
  readonly parts: TextChange[] = [];

  push(type: TextChange['type'], value: string): void {
    if (value === '') return;
    const last = this.parts[this.parts.length - 1];
    if (last !== undefined && last.type === type) this.parts[this.parts.length - 1] = { type, value: last.value + value };
    else this.parts.push({ type, value });
  }
}
