import { describe, expect, it } from 'vitest';
import type { AwarenessEntry } from '../../server/codec/awareness-codec.js';
import { AWARENESS_TIMEOUT_MS, AwarenessTable, type AwarenessOwner } from '../../server/rooms/awareness-table.js';
import { decodeAwareness } from '../helpers/frames.js';

const NOW = 1_000_000;

const owner = (): AwarenessOwner => ({ awarenessClients: null });
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const entry = (clientId: number, clock: number, state: unknown): AwarenessEntry => ({ clientId, clock, state: state === null ? null : json(state) });

/** The table's states as a joiner would receive them. */
function snapshot(table: AwarenessTable, now = NOW) {
  const update = table.snapshot(now);
  return update === null ? [] : decodeAwareness(update);
}

describe('AwarenessTable clock rule', () => {
  it('keeps a newer state over a stale or replayed one', () => {
    const table = new AwarenessTable();
    const a = owner();
    table.apply([entry(1, 5, { cursor: 'new' })], a, NOW);

    table.apply([entry(1, 4, { cursor: 'stale' })], a, NOW); // older clock
    table.apply([entry(1, 5, { cursor: 'replayed' })], a, NOW); // same clock, not a removal

    expect(snapshot(table)).toEqual([{ clientId: 1, clock: 5, state: { cursor: 'new' } }]);
  });

  it('accepts a higher clock', () => {
    const table = new AwarenessTable();
    const a = owner();
    table.apply([entry(1, 1, { v: 1 })], a, NOW);
    table.apply([entry(1, 2, { v: 2 })], a, NOW);

    expect(snapshot(table)).toEqual([{ clientId: 1, clock: 2, state: { v: 2 } }]);
  });

  it('a removal at the same clock removes the state; a replay of the old state afterwards does not bring it back', () => {
    const table = new AwarenessTable();
    const a = owner();
    table.apply([entry(1, 3, { here: true })], a, NOW);

    table.apply([entry(1, 3, null)], a, NOW);
    expect(snapshot(table)).toEqual([]);
    expect(a.awarenessClients?.has(1)).toBe(false);

    table.apply([entry(1, 3, { here: true })], a, NOW);
    table.apply([entry(1, 2, { here: true })], a, NOW);
    expect(snapshot(table)).toEqual([]);
  });

  it('applies each entry of a multi-entry update on its own', () => {
    const table = new AwarenessTable();
    const a = owner();
    table.apply([entry(1, 5, { v: 'a5' }), entry(2, 1, { v: 'b1' })], a, NOW);

    table.apply([entry(1, 4, { v: 'a4' }), entry(2, 2, { v: 'b2' }), entry(3, 1, { v: 'c1' })], a, NOW);

    expect(snapshot(table)).toEqual([
      { clientId: 1, clock: 5, state: { v: 'a5' } },
      { clientId: 2, clock: 2, state: { v: 'b2' } },
      { clientId: 3, clock: 1, state: { v: 'c1' } },
    ]);
    expect(a.awarenessClients).toEqual(new Set([1, 2, 3]));
  });
});

describe('AwarenessTable ownership', () => {
  it('records which owner set which client id', () => {
    const table = new AwarenessTable();
    const a = owner();
    const b = owner();
    table.apply([entry(1, 1, {}), entry(2, 1, {})], a, NOW);
    table.apply([entry(3, 1, {})], b, NOW);

    expect(a.awarenessClients).toEqual(new Set([1, 2]));
    expect(b.awarenessClients).toEqual(new Set([3]));
  });

  it('moves a client id to the owner that set its newer state; the previous owner no longer removes it', () => {
    const table = new AwarenessTable();
    const first = owner();
    const second = owner();
    table.apply([entry(7, 1, { tab: 'old socket' })], first, NOW);

    table.apply([entry(7, 2, { tab: 'new socket' })], second, NOW);

    expect(first.awarenessClients?.has(7)).toBe(false);
    expect(second.awarenessClients).toEqual(new Set([7]));
    expect(table.removeOwner(first, NOW)).toBeNull();
    expect(snapshot(table)).toEqual([{ clientId: 7, clock: 2, state: { tab: 'new socket' } }]);

    const removal = table.removeOwner(second, NOW);
    expect(removal).not.toBeNull();
    expect(decodeAwareness(removal!)).toEqual([{ clientId: 7, clock: 3, state: null }]);
    expect(snapshot(table)).toEqual([]);
  });

  it('a stale update from another owner does not take the client id over', () => {
    const table = new AwarenessTable();
    const first = owner();
    const second = owner();
    table.apply([entry(7, 5, { who: 'first' })], first, NOW);

    table.apply([entry(7, 4, { who: 'second' })], second, NOW);

    expect(first.awarenessClients).toEqual(new Set([7]));
    expect(second.awarenessClients ?? new Set()).toEqual(new Set());
    expect(decodeAwareness(table.removeOwner(first, NOW)!)).toEqual([{ clientId: 7, clock: 6, state: null }]);
  });
});

describe('AwarenessTable.removeOwner', () => {
  it("produces the removal update (clock + 1, state null) for every state the owner set, and only those", () => {
    const table = new AwarenessTable();
    const leaver = owner();
    const stayer = owner();
    table.apply([entry(1, 3, { a: 1 }), entry(2, 9, { b: 2 })], leaver, NOW);
    table.apply([entry(5, 1, { c: 3 })], stayer, NOW);

    const removal = table.removeOwner(leaver, NOW);

    expect(decodeAwareness(removal!)).toEqual([
      { clientId: 1, clock: 4, state: null },
      { clientId: 2, clock: 10, state: null },
    ]);
    expect(leaver.awarenessClients?.size).toBe(0);
    expect(snapshot(table)).toEqual([{ clientId: 5, clock: 1, state: { c: 3 } }]);
    // Nothing left to remove.
    expect(table.removeOwner(leaver, NOW)).toBeNull();
  });

  it('returns null for an owner that never set a state, and on an empty table', () => {
    const table = new AwarenessTable();
    expect(table.removeOwner(owner(), NOW)).toBeNull();
    table.apply([entry(1, 1, {})], owner(), NOW);
    expect(table.removeOwner(owner(), NOW)).toBeNull();
  });

  it('a state the owner removed itself is not removed again', () => {
    const table = new AwarenessTable();
    const a = owner();
    table.apply([entry(1, 1, {}), entry(2, 1, {})], a, NOW);
    table.apply([entry(1, 2, null)], a, NOW);

    expect(decodeAwareness(table.removeOwner(a, NOW)!)).toEqual([{ clientId: 2, clock: 2, state: null }]);
  });
});

describe('AwarenessTable.snapshot', () => {
  it('is null before any state and once all states are gone', () => {
    const table = new AwarenessTable();
    expect(table.snapshot(NOW)).toBeNull();
    const a = owner();
    table.apply([entry(1, 1, {})], a, NOW);
    table.removeOwner(a, NOW);
    expect(table.snapshot(NOW)).toBeNull();
  });

  it('includes states renewed within AWARENESS_TIMEOUT_MS and leaves out older ones', () => {
    const table = new AwarenessTable();
    const a = owner();
    table.apply([entry(1, 1, { n: 1 })], a, NOW);
    table.apply([entry(2, 1, { n: 2 })], a, NOW + 10_000);

    expect(snapshot(table, NOW + AWARENESS_TIMEOUT_MS).map((e) => e.clientId)).toEqual([1, 2]);
    expect(snapshot(table, NOW + AWARENESS_TIMEOUT_MS + 1).map((e) => e.clientId)).toEqual([2]);
    expect(snapshot(table, NOW + 10_000 + AWARENESS_TIMEOUT_MS + 1)).toEqual([]);
  });

  it('a renewal (higher clock) resets the age; a rejected stale update does not', () => {
    const table = new AwarenessTable();
    const a = owner();
    table.apply([entry(1, 2, { v: 'x' }), entry(2, 2, { v: 'y' })], a, NOW);

    const later = NOW + 20_000;
    table.apply([entry(1, 3, { v: 'x' })], a, later); // renewed
    table.apply([entry(2, 1, { v: 'y' })], a, later); // stale: ignored

    expect(snapshot(table, NOW + AWARENESS_TIMEOUT_MS + 1)).toEqual([{ clientId: 1, clock: 3, state: { v: 'x' } }]);
  });

  it('returns the raw state JSON and clock unchanged', () => {
    const table = new AwarenessTable();
    const state = { user: { name: 'Ada', color: '#f00' }, cursor: { anchor: 3, head: 5 } };
    table.apply([entry(42, 17, state)], owner(), NOW);

    expect(snapshot(table)).toEqual([{ clientId: 42, clock: 17, state }]);
  });
});

describe('AwarenessTable after a leaver', () => {
  it("refuses the leaver's old state re-sent by a peer within the timeout, and forgets its clock after it", () => {
    const table = new AwarenessTable();
    const leaver = owner();
    const peer = owner();
    table.apply([entry(5, 3, { cursor: 1 })], leaver, NOW);
    table.removeOwner(leaver, NOW);
    // A peer answering QueryAwareness with every state it still knows.
    table.apply([entry(5, 3, { cursor: 1 })], peer, NOW + 1_000);
    expect(table.snapshot(NOW + 1_000)).toBeNull();
    // Once the timeout has passed the clock is forgotten (the map stays bounded): a client id seen again is accepted.
    table.apply([entry(5, 1, { cursor: 2 })], peer, NOW + AWARENESS_TIMEOUT_MS + 1);
    expect(snapshot(table, NOW + AWARENESS_TIMEOUT_MS + 1).map((e) => e.clientId)).toEqual([5]);
  });
});
