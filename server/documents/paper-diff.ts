/**
 * Structured diff of two rendered papers: added, removed and changed blocks, and a
 * word-level text diff (jsdiff). CONTRACT STUB: the paper work fills it in and may
 * refine the shape of PaperDiff (keep `kind: 'paper'`).
 */
import type { PaperContent } from './paper.js';

export interface PaperDiff {
  readonly kind: 'paper';
  readonly blocks: readonly unknown[];
  readonly text: readonly unknown[];
}

export function diffPapers(from: PaperContent, to: PaperContent): PaperDiff {
  void from;
  void to;
  throw new Error('diffPapers: not implemented yet');
}
