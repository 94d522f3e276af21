/**
 * Folding many Yjs updates into one.
 *
 * Applying them to a Y.Doc in one transaction and re-encoding is far faster than
 * Y.mergeUpdates at every size measured, and the gap grows with the count (BENCHMARKS.md
 * "Persistence"; `node dist/bench/persist-bench.js` times this route on a 100,000-row
 * log). So the Y.Doc route is used for every size. It also
 * garbage-collects deleted content, keeping documents.state small, and keeps
 * updates whose dependencies are missing as pending structs inside the output.
 */
import * as Y from 'yjs';

export interface MergeResult {
  /** Null when nothing was merged (no input, or no input applied). */
  readonly state: Uint8Array | null;
  /**
   * Indices (into the input, ascending) of the updates Yjs refused to apply. They
   * are not in `state`, or only partly: Yjs decodes an update's structs before its
   * delete set, so one that fails late has its structs applied. Callers keep such
   * rows out of their folded set (see compaction.ts), never count them as merged.
   */
  readonly failed: readonly number[];
}

/**
 * Where folds run: in this thread, or on a worker thread (VersionWorker), where folding a large
 * document does not pause every editor on the instance.
 */
export interface UpdateMerger {
  /** `mergeUpdates(updates)`, or with `encode` false only which fail (`state` null). */
  merge(updates: readonly Uint8Array[], encode: boolean): Promise<MergeResult>;
  /** Stops a worker behind it (its owner calls this once, at shutdown). */
  close?(): Promise<void>;
}

/** Folds in the calling thread (tests, tools, and when no worker is given). */
export const IN_THREAD_MERGER: UpdateMerger = {
  async merge(updates, encode) {
    return encode ? mergeUpdates(updates) : { state: null, failed: failingUpdates(updates) };
  },
};

/** Folds `updates` into one; every input is applied, also a lone one, so `failed` is always right. */
export function mergeUpdates(updates: readonly Uint8Array[]): MergeResult {
  return applyUpdates(updates, true);
}

/**
 * Which of `updates` apply (in order, each on top of those before it), without encoding the
 * result: what a compaction that does not write the state needs to know.
 */
export function failingUpdates(updates: readonly Uint8Array[]): readonly number[] {
  return applyUpdates(updates, false).failed;
}

function applyUpdates(updates: readonly Uint8Array[], encode: boolean): MergeResult {
  if (updates.length === 0) return { state: null, failed: [] };
  const doc = new Y.Doc();
  const failed: number[] = [];
  Y.transact(doc, () => {
    for (let i = 0; i < updates.length; i++) {
      try {
        Y.applyUpdate(doc, updates[i] as Uint8Array);
      } catch {
        // Rooms validate updates before appending; a corrupt row must not make the
        // whole document unloadable, and must be reported rather than skipped.
        failed.push(i);
      }
    }
  });
  const state = encode && failed.length < updates.length ? Y.encodeStateAsUpdate(doc) : null;
  doc.destroy();
  return { state, failed };
}
