/**
 * Whether one Yjs state holds everything another does, compared by snapshots (state vector
 * plus delete set): a derived record (the research-tree projection) written from an older
 * state must not replace one written from a newer state. A state vector alone is not enough:
 * a delete adds nothing to it. Works on garbage-collected documents (collected structs count
 * as deleted in the delete set).
 */
import * as Y from 'yjs';

/** True when `stored` (encoded with Y.encodeSnapshot; null: nothing stored) covers `ours`. */
export function snapshotCovers(stored: Uint8Array | null, ours: Y.Snapshot): boolean {
  if (stored === null) return false;
  let theirs: Y.Snapshot;
  try {
    theirs = Y.decodeSnapshot(stored);
  } catch {
    return false; // unreadable: ours replaces it
  }
  for (const [client, clock] of ours.sv) if ((theirs.sv.get(client) ?? 0) < clock) return false;
  for (const [client, ranges] of ours.ds.clients) {
    if (!rangesCover(theirs.ds.clients.get(client) ?? [], ranges)) return false;
  }
  return true;
}

interface Range {
  readonly clock: number;
  readonly len: number;
}

/** Every clock of `inner` lies in some range of `outer`. */
function rangesCover(outer: readonly Range[], inner: readonly Range[]): boolean {
  const merged = merge(outer);
  let k = 0;
  for (const range of [...inner].sort((a, b) => a.clock - b.clock)) {
    if (range.len === 0) continue;
    while (k < merged.length && merged[k]!.clock + merged[k]!.len <= range.clock) k++;
    const m = merged[k];
    if (!m || m.clock > range.clock || m.clock + m.len < range.clock + range.len) return false;
  }
  return true;
}

/** Sorted ranges with touching or overlapping ones joined. */
function merge(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a.clock - b.clock);
  const out: { clock: number; len: number }[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.clock <= last.clock + last.len) last.len = Math.max(last.len, r.clock + r.len - last.clock);
    else out.push({ clock: r.clock, len: r.len });
  }
  return out;
}
