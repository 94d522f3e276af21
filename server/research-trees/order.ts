/**
 * Sibling order of a research tree: one total order over whatever `order` values the shared
 * state holds, and new positions as fractional-index strings (`fractional-indexing`).
 *
 * The total order, ties broken by node id (code-unit order):
 *   1. finite numbers (written by other clients, e.g. 0, 1, 2…), by value;
 *   2. strings, by code-unit order — the order of fractional-index keys (base-62 digits in
 *      ASCII order), so keys from the library sort as the library means them to;
 *   3. anything else (missing, NaN, booleans, objects), as if equal.
 * Pure: no I/O, no Node APIs (the browser app imports it).
 */
import { generateNKeysBetween } from 'fractional-indexing';

/** An order value as the state may hold it: a number, a string, or junk from some client. */
export type OrderValue = number | string | null;

/** The rank of the value's kind in the total order. */
function kindRank(order: unknown): 0 | 1 | 2 {
  if (typeof order === 'number' && Number.isFinite(order)) return 0;
  if (typeof order === 'string') return 1;
  return 2;
}

/** Compares two order values (not the ids): negative, zero or positive. */
export function compareOrderValues(a: unknown, b: unknown): number {
  const ka = kindRank(a);
  const kb = kindRank(b);
  if (ka !== kb) return ka - kb;
  if (ka === 0) return (a as number) - (b as number);
  if (ka === 1) return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
  return 0;
}

/** Code-unit comparison of ids (not localeCompare: it must be the same on every replica). */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The sibling order: by order value, then by id. */
export function compareSiblings(
  a: { readonly order: unknown; readonly id: string },
  b: { readonly order: unknown; readonly id: string },
): number {
  return compareOrderValues(a.order, b.order) || compareIds(a.id, b.id);
}

/** Normalises a stored order value for the rendered output (junk becomes null). */
export function orderValue(order: unknown): OrderValue {
  const rank = kindRank(order);
  return rank === 2 ? null : (order as number | string);
}

/**
 * The order values to write so that the nodes `ids` stand, in that order, at `index` among
 * `siblings` (sorted by `compareSiblings`, the moved nodes excluded). Fractional-index
 * strings wherever they fit: strings sort after every number, so a string fits anywhere
 * after the last number. Only between two numbers, or before a first number, numbers are
 * written, because no string sorts there. When nothing fits between the neighbours (junk
 * or invalid keys, equal keys, numbers too close together) the whole sibling list gets fresh
 * keys in the wanted order — the only case that writes other nodes than `ids`.
 */
export function placeAt(
  siblings: readonly { readonly id: string; readonly order: unknown }[],
  index: number,
  ids: readonly string[],
): Map<string, number | string> {
  const at = Math.max(0, Math.min(index, siblings.length));
  const prev = at > 0 ? siblings[at - 1]!.order : null;
  const next = at < siblings.length ? siblings[at]!.order : null;
  const values = between(at > 0, prev, at < siblings.length, next, ids.length);
  if (values !== null) return new Map(ids.map((id, i) => [id, values[i]!]));
  const all = siblings.map((sibling) => sibling.id);
  all.splice(at, 0, ...ids);
  const keys = generateNKeysBetween(null, null, all.length);
  return new Map(all.map((id, i) => [id, keys[i]!]));
}

/** `count` increasing values strictly between the neighbours in the total order, or null when none can be made. */
function between(hasPrev: boolean, prev: unknown, hasNext: boolean, next: unknown, count: number): (number | string)[] | null {
  const prevRank = hasPrev ? kindRank(prev) : null;
  const nextRank = hasNext ? kindRank(next) : null;
  if (prevRank === 2 || nextRank === 2) return null;
  if (prevRank === 0 && nextRank === 0) {
    const low = prev as number;
    const step = ((next as number) - low) / (count + 1);
    return increasingWithin(
      Array.from({ length: count }, (_, i) => low + step * (i + 1)),
      low,
      next as number,
    );
  }
  if (prevRank === null && nextRank === 0) {
    const high = next as number;
    return increasingWithin(
      Array.from({ length: count }, (_, i) => high - count + i),
      -Infinity,
      high,
    );
  }
  // From here `next` is a string or absent: a string fits after any number.
  try {
    return generateNKeysBetween(prevRank === 1 ? (prev as string) : null, nextRank === 1 ? (next as string) : null, count);
  } catch {
    // Not a valid fractional-index key (written by another client), or equal keys.
    return null;
  }
}

/** The values when they increase strictly within (low, high) — floating point can run out. */
function increasingWithin(values: number[], low: number, high: number): number[] | null {
  let last = low;
  for (const value of values) {
    if (!(value > last)) return null;
    last = value;
  }
  return last < high ? values : null;
}
