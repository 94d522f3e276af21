/**
 * When a compaction writes documents.state: a cost that scales with the document.
 *
 * A compaction pass (compaction.ts) applies the stored state and the log's tail, coarsens the
 * tail's small appended rows into history rows (history-coarsening.ts) and, only when the fold
 * is due, writes the whole state back. Rewriting the state is the expensive part: for a large
 * document "every thousand rows" meant its whole size per thousand keystrokes. So while a room
 * is live the fold waits until the unfolded tail holds `foldRatio` times the state's bytes.
 * While a document grows, each fold then writes at most (1 + foldRatio) times what the previous
 * one wrote, so documents.state receives about (1 + foldRatio) / foldRatio bytes per byte of
 * growth, however large the document gets. Between folds the tail stays in few coarsened rows.
 *
 * A pass itself applies the state and the whole unfolded tail (it has to, to know that each new
 * row applies), so a pass costs CPU in proportion to the document. It runs once enough rows
 * were appended since the last one: at least the configured rows or bytes, and for a large
 * document proportionally more, so that its CPU per appended row does not grow with the
 * document either (`passDue`).
 *
 * When the last client leaves (release), whatever the tail holds is folded: the next load is
 * then the stored state alone, with no Yjs work, and a load is what a person waits for while a
 * release happens in the background. That costs the state's size once per editing session that
 * changed the document, where "every thousand rows" cost it a thousand keystrokes at a time.
 */

/** Why a pass runs, which decides whether it writes documents.state. */
export type FoldRule =
  /** An explicit request (admin API, tests): fold. */
  | 'always'
  /** The last client left: fold, so the next load reads the state alone. */
  | 'release'
  /** The tail grew: fold when due. */
  | 'due';

export interface FoldPolicy {
  /** Fold when the unfolded tail's bytes reach this multiple of the state's bytes. */
  readonly foldRatio: number;
}

export const DEFAULT_FOLD_POLICY: FoldPolicy = {
  // Documents then receive one and a half times their growth (see above) plus one state per
  // session, which stays within three times the growth of a document written in one session
  // wherever its last fold falls.
  foldRatio: 2,
};

/** Whether a pass that read `stateBytes` of state and `tailBytes` of unfolded log writes the state. */
export function foldDue(rule: FoldRule, policy: FoldPolicy, stateBytes: number, tailBytes: number): boolean {
  if (tailBytes === 0) return false;
  if (rule !== 'due') return true;
  return tailBytes >= policy.foldRatio * stateBytes;
}

/** Appended rows per byte of state before a pass runs, for a state too large for the minimums. */
const ROWS_PER_STATE_BYTE = 1 / 4096;
/** Appended bytes per byte of state before a pass runs, likewise. */
const BYTES_PER_STATE_BYTE = 1 / 8;

/**
 * Whether `rows` / `bytes` appended since the last pass call for one on a document whose state
 * has `stateBytes`: `minRows` / `minBytes`, or a share of the state when that is more.
 */
export function passDue(minRows: number, minBytes: number, stateBytes: number, rows: number, bytes: number): boolean {
  return rows >= Math.max(minRows, stateBytes * ROWS_PER_STATE_BYTE) || bytes >= Math.max(minBytes, stateBytes * BYTES_PER_STATE_BYTE);
}

/** The strongest of two rules (a queued pass asked for twice folds as the stronger asks). */
export function strongerRule(a: FoldRule, b: FoldRule): FoldRule {
  const rank: Record<FoldRule, number> = { due: 0, release: 1, always: 2 };
  return rank[a] >= rank[b] ? a : b;
}
