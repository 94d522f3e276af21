/**
 * When a compaction writes documents.state: a cost that scales with the document.
 *
 * A compaction pass (compaction.ts) applies the stored state and the log's tail, coarsens the
 * tail's appended rows into history rows (history-coarsening.ts) and, only when the fold is
 * due, writes the whole state back. Rewriting the state is the expensive part: for a large
 * document "every thousand rows" meant its whole size per thousand keystrokes. So the fold
 * waits until the unfolded tail holds `foldRatio` times the state's bytes. While a document
 * grows, each fold then writes at most (1 + foldRatio) times what the previous one wrote, so
 * documents.state receives about (1 + foldRatio) / foldRatio bytes per byte of growth, however
 * large the document gets. Between folds the tail stays in few coarsened rows, so a load reads
 * the state plus those rows, never thousands of tiny ones.
 *
 * When the last client leaves (release), a small document is folded completely so that its next
 * load is the stored state alone: writing it costs little, and a load then does no Yjs work.
 */

/** Why a pass runs, which decides whether it writes documents.state. */
export type FoldRule =
  /** An explicit request (admin API, tests): fold whatever the sizes. */
  | 'always'
  /** The last client left: fold a small document completely, a large one when due. */
  | 'release'
  /** The tail grew: fold when due. */
  | 'due';

export interface FoldPolicy {
  /** Fold when the unfolded tail's bytes reach this fraction of the state's bytes. */
  readonly foldRatio: number;
  /** On release, fold a document whose state is at most this many bytes. */
  readonly releaseFoldBytes: number;
}

export const DEFAULT_FOLD_POLICY: FoldPolicy = {
  // Documents receive about twice their growth (see above), leaving room under the
  // budget for the coarsened log rows a pass writes.
  foldRatio: 1,
  releaseFoldBytes: 1024 * 1024,
};

/** Whether a pass that read `stateBytes` of state and `tailBytes` of unfolded log writes the state. */
export function foldDue(rule: FoldRule, policy: FoldPolicy, stateBytes: number, tailBytes: number): boolean {
  if (tailBytes === 0) return false;
  if (rule === 'always') return true;
  if (rule === 'release' && stateBytes <= policy.releaseFoldBytes) return true;
  return tailBytes >= policy.foldRatio * stateBytes;
}

/** The strongest of two rules (a queued pass asked for twice folds as the stronger asks). */
export function strongerRule(a: FoldRule, b: FoldRule): FoldRule {
  const rank: Record<FoldRule, number> = { due: 0, release: 1, always: 2 };
  return rank[a] >= rank[b] ? a : b;
}
