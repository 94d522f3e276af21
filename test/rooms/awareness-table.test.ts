import * as encoding from 'lib0/encoding';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeAwarenessUpdate, type AwarenessEntry } from '../../server/codec/awareness-codec.js';
import { MalformedFrameError } from '../../server/codec/malformed-frame-error.js';
import { ConfigError, configFromEnv } from '../../server/config.js';
import {
  AWARENESS_EXPIRE_MS,
  AWARENESS_TIMEOUT_MS,
  AwarenessTable,
  DEFAULT_AWARENESS_LIMITS,
  type AwarenessLimits,
  type AwarenessOwner,
} from '../../server/rooms/awareness-table.js';
import { decodeAwareness } from '../helpers/frames.js';

const NOW = 1_000_000;

const owner = (): AwarenessOwner => ({ awarenessClients: null });
const remoteOwner = (): AwarenessOwner => ({ awarenessClients: null, awarenessRemote: true });
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const entry = (clientId: number, clock: number, state: unknown): AwarenessEntry => ({
  clientId,
  clock,
  state: state === null ? null : json(state),
});

/** Applies entries as one update from `from`; returns what the table says to relay, decoded (null: nothing). */
function apply(table: AwarenessTable, entries: AwarenessEntry[], from: AwarenessOwner, now = NOW) {
  const relayed = table.receive(encodeAwarenessUpdate(entries), from, now);
  return relayed === null ? null : decodeAwareness(relayed);
}

/** The table's states as a joiner would receive them. */
function snapshot(table: AwarenessTable) {
  const update = table.snapshot();
  return update === null ? [] : decodeAwareness(update);
}

const ids = (table: AwarenessTable) => snapshot(table).map((e) => e.clientId);

function limited(limits: Partial<AwarenessLimits>): AwarenessTable {
  return new AwarenessTable({ ...DEFAULT_AWARENESS_LIMITS, ...limits });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('AwarenessTable clock rule', () => {
  it('keeps a newer state over a stale or replayed one', () => {
    const table = new AwarenessTable();
    const a = owner();
    apply(table, [entry(1, 5, { cursor: 'new' })], a);

    expect(apply(table, [entry(1, 4, { cursor: 'stale' })], a)).toBeNull(); // older clock
    expect(apply(table, [entry(1, 5, { cursor: 'replayed' })], a)).toBeNull(); // same clock, not a removal

    expect(snapshot(table)).toEqual([{ clientId: 1, clock: 5, state: { cursor: 'new' } }]);
  });

  it('accepts a higher clock', () => {
    const table = new AwarenessTable();
    const a = owner();
    apply(table, [entry(1, 1, { v: 1 })], a);
    apply(table, [entry(1, 2, { v: 2 })], a);

    expect(snapshot(table)).toEqual([{ clientId: 1, clock: 2, state: { v: 2 } }]);
  });

  it('a removal at the same clock removes the state; a replay of the old state afterwards does not bring it back', () => {
    const table = new AwarenessTable();
    const a = owner();
    apply(table, [entry(1, 3, { here: true })], a);

    expect(apply(table, [entry(1, 3, null)], a)).toEqual([{ clientId: 1, clock: 3, state: null }]);
    expect(snapshot(table)).toEqual([]);

    apply(table, [entry(1, 3, { here: true })], a);
    apply(table, [entry(1, 2, { here: true })], a);
    expect(snapshot(table)).toEqual([]);
  });

  it('applies each entry of a multi-entry update on its own, and relays only what it kept', () => {
    const table = new AwarenessTable();
    const a = owner();
    apply(table, [entry(1, 5, { v: 'a5' }), entry(2, 1, { v: 'b1' })], a);

    const relayed = apply(table, [entry(1, 4, { v: 'a4' }), entry(2, 2, { v: 'b2' }), entry(3, 1, { v: 'c1' })], a);

    expect(relayed).toEqual([
      { clientId: 2, clock: 2, state: { v: 'b2' } },
      { clientId: 3, clock: 1, state: { v: 'c1' } },
    ]);
    expect(snapshot(table)).toEqual([
      { clientId: 1, clock: 5, state: { v: 'a5' } },
      { clientId: 2, clock: 2, state: { v: 'b2' } },
      { clientId: 3, clock: 1, state: { v: 'c1' } },
    ]);
    expect(a.awarenessClients).toEqual(new Set([1, 2, 3]));
  });

  it('returns the update itself when every entry was kept (relayed without re-encoding), null when none was', () => {
    const table = new AwarenessTable();
    const a = owner();
    const update = encodeAwarenessUpdate([entry(1, 1, { v: 1 })]);
    expect(table.receive(update, a, NOW)).toBe(update);
    expect(table.receive(update, a, NOW)).toBeNull(); // a replay
  });

  it('a client id named twice in one update counts once (the first)', () => {
    const table = new AwarenessTable();
    expect(apply(table, [entry(1, 1, { v: 'first' }), entry(1, 2, { v: 'second' })], owner())).toEqual([
      { clientId: 1, clock: 1, state: { v: 'first' } },
    ]);
  });
});

describe('AwarenessTable ownership', () => {
  it('records which owner set which client id', () => {
    const table = new AwarenessTable();
    const a = owner();
    const b = owner();
    apply(table, [entry(1, 1, {}), entry(2, 1, {})], a);
    apply(table, [entry(3, 1, {})], b);

    expect(a.awarenessClients).toEqual(new Set([1, 2]));
    expect(b.awarenessClients).toEqual(new Set([3]));
  });

  it("ignores another owner's entries for a client id it holds: no overwrite, no removal, nothing relayed", () => {
    const table = new AwarenessTable();
    const alice = owner();
    const mallory = owner();
    apply(table, [entry(7, 1, { user: 'alice' })], alice);

    expect(apply(table, [entry(7, 99, { user: 'mallory' })], mallory)).toBeNull();
    expect(apply(table, [entry(7, 100, null)], mallory)).toBeNull();
    // Mixed with its own: only its own is kept and relayed.
    expect(apply(table, [entry(7, 101, { user: 'mallory' }), entry(8, 1, { user: 'mallory' })], mallory)).toEqual([
      { clientId: 8, clock: 1, state: { user: 'mallory' } },
    ]);

    expect(snapshot(table)).toEqual([
      { clientId: 7, clock: 1, state: { user: 'alice' } },
      { clientId: 8, clock: 1, state: { user: 'mallory' } },
    ]);
    expect(mallory.awarenessClients).toEqual(new Set([8]));
    // Mallory leaving removes only its own id.
    expect(decodeAwareness(table.removeOwner(mallory, NOW)!)).toEqual([{ clientId: 8, clock: 2, state: null }]);
    expect(ids(table)).toEqual([7]);
  });

  it('keeps an id its owner removed (the owner may set it again, nobody else may), until the owner leaves', () => {
    const table = new AwarenessTable();
    const alice = owner();
    const other = owner();
    apply(table, [entry(7, 1, { user: 'alice' })], alice);
    apply(table, [entry(7, 2, null)], alice); // e.g. "hide my presence"

    expect(apply(table, [entry(7, 3, { user: 'other' })], other)).toBeNull();
    expect(apply(table, [entry(7, 3, { user: 'alice again' })], alice)).toEqual([
      { clientId: 7, clock: 3, state: { user: 'alice again' } },
    ]);

    // Once the holder left, the id is free (for a clock above the removal's).
    apply(table, [entry(7, 4, null)], alice);
    expect(table.removeOwner(alice, NOW)).toBeNull(); // nothing shown, nothing to tell
    expect(apply(table, [entry(7, 5, { user: 'other' })], other)).toEqual([{ clientId: 7, clock: 5, state: { user: 'other' } }]);
  });

  it('a removal of a client id nobody holds is ignored', () => {
    const table = new AwarenessTable();
    expect(apply(table, [entry(42, 9, null)], owner())).toBeNull();
    expect(table.size).toBe(0);
  });

  it('a stale update from another owner does not take the client id over', () => {
    const table = new AwarenessTable();
    const first = owner();
    const second = owner();
    apply(table, [entry(7, 5, { who: 'first' })], first);

    apply(table, [entry(7, 4, { who: 'second' })], second);

    expect(first.awarenessClients).toEqual(new Set([7]));
    expect(second.awarenessClients ?? new Set()).toEqual(new Set());
    expect(decodeAwareness(table.removeOwner(first, NOW)!)).toEqual([{ clientId: 7, clock: 6, state: null }]);
  });

  it("the other instances' removal gives the id up; their states do not override a local connection's", () => {
    const table = new AwarenessTable();
    const local = owner();
    const remote = remoteOwner();
    apply(table, [entry(1, 1, { on: 'local' })], local);
    apply(table, [entry(2, 1, { on: 'remote' })], remote);

    expect(apply(table, [entry(1, 5, { on: 'remote' })], remote)).toBeNull();
    expect(apply(table, [entry(2, 2, null)], remote)).toEqual([{ clientId: 2, clock: 2, state: null }]);
    expect(remote.awarenessClients?.has(2)).toBe(false);
    // Free again: a local connection may introduce it (the client moved here).
    expect(apply(table, [entry(2, 3, { on: 'local' })], local)).not.toBeNull();
    expect(ids(table)).toEqual([1, 2]);
  });
});

describe('AwarenessTable failover (clients of an instance that went silent)', () => {
  /** The bus relay's owner: states from the instances in `gone` may be taken over. */
  const relayOwner = (gone: Set<string>): AwarenessOwner => ({
    awarenessClients: null,
    awarenessRemote: true,
    awarenessSourceGone: (id) => gone.has(id),
  });
  const fromInstance = (table: AwarenessTable, entries: AwarenessEntry[], relay: AwarenessOwner, instance: string) => {
    const relayed = table.receive(encodeAwarenessUpdate(entries), relay, NOW, instance);
    return relayed === null ? null : decodeAwareness(relayed);
  };

  it('a connection takes over an id relayed from a silent instance (its client reconnected here), at the same clock; not from a live one', () => {
    const table = new AwarenessTable();
    const gone = new Set<string>();
    const relay = relayOwner(gone);
    fromInstance(table, [entry(7, 5, { user: 'moved' })], relay, 'a');
    const here = owner();

    expect(apply(table, [entry(7, 6, { user: 'spoof' })], here)).toBeNull(); // instance a is alive
    gone.add('a');
    expect(apply(table, [entry(7, 4, { user: 'moved' })], here)).toBeNull(); // older than what is held
    expect(apply(table, [entry(7, 5, { user: 'moved' })], here)).toEqual([{ clientId: 7, clock: 5, state: { user: 'moved' } }]);
    expect(here.awarenessClients).toEqual(new Set([7]));
    expect(relay.awarenessClients?.has(7)).toBe(false);
    // Now it is this connection's: the other instances cannot overwrite it, its leaving removes it.
    expect(fromInstance(table, [entry(7, 9, { user: 'late relay' })], relay, 'a')).toBeNull();
    expect(decodeAwareness(table.removeOwner(here, NOW)!)).toEqual([{ clientId: 7, clock: 6, state: null }]);
  });

  it('a removal does not take an id over, and the per-connection bound counts taken-over ids', () => {
    const table = limited({ maxClientsPerConnection: 1 });
    const relay = relayOwner(new Set(['a']));
    fromInstance(table, [entry(7, 5, {}), entry(8, 5, {})], relay, 'a');
    const here = owner();
    expect(apply(table, [entry(7, 6, null)], here)).toBeNull();
    expect(apply(table, [entry(7, 6, {}), entry(8, 6, {})], here)?.map((e) => e.clientId)).toEqual([7]);
  });

  it('answers another instance with the states of its own connections only', () => {
    const table = new AwarenessTable();
    apply(table, [entry(1, 1, { on: 'here' })], owner());
    fromInstance(table, [entry(2, 1, { on: 'there' })], relayOwner(new Set()), 'a');
    expect(decodeAwareness(table.localSnapshot()!)).toEqual([{ clientId: 1, clock: 1, state: { on: 'here' } }]);
    expect(ids(table)).toEqual([1, 2]);
  });
});

describe('AwarenessTable bounds', () => {
  it('reads at most maxEntriesPerMessage entries of a message and ignores the rest unread', () => {
    const counters = { awarenessDropped: 0 };
    const table = new AwarenessTable({ ...DEFAULT_AWARENESS_LIMITS, maxEntriesPerMessage: 3 }, counters);
    // Five entries announced; what follows the third is not even valid.
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, 5);
    for (const id of [1, 2, 3]) {
      encoding.writeVarUint(encoder, id);
      encoding.writeVarUint(encoder, 1);
      encoding.writeVarString(encoder, '{}');
    }
    encoding.writeUint8Array(encoder, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    const relayed = table.receive(encoding.toUint8Array(encoder), owner(), NOW);

    expect(decodeAwareness(relayed!).map((e) => e.clientId)).toEqual([1, 2, 3]);
    expect(counters.awarenessDropped).toBe(1);
  });

  it("another instance's message may carry a whole document's states (its catch-up reply)", () => {
    const table = limited({ maxEntriesPerMessage: 2, maxClientsPerDocument: 10 });
    const states = Array.from({ length: 12 }, (_, i) => entry(100 + i, 1, {}));
    apply(table, states, remoteOwner());
    expect(table.size).toBe(10);
  });

  it('drops a state larger than maxStateBytes before parsing it; the rest of the message is kept', () => {
    const counters = { awarenessDropped: 0 };
    const table = new AwarenessTable({ ...DEFAULT_AWARENESS_LIMITS, maxStateBytes: 100 }, counters);
    const parse = vi.spyOn(JSON, 'parse');
    const tooLarge = { clientId: 1, clock: 1, state: new TextEncoder().encode(`{not json ${'x'.repeat(200)}`) };

    const relayed = apply(table, [tooLarge, entry(2, 1, { user: 'small' })], owner());

    expect(relayed).toEqual([{ clientId: 2, clock: 1, state: { user: 'small' } }]);
    expect(parse).toHaveBeenCalledTimes(1 + 1); // the small state, and the test's own decode of it
    expect(counters.awarenessDropped).toBe(1);
  });

  it('holds at most maxClientsPerConnection ids per owner; renewals of held ones go on', () => {
    const table = limited({ maxClientsPerConnection: 2 });
    const a = owner();
    expect(apply(table, [entry(1, 1, {}), entry(2, 1, {}), entry(3, 1, {})], a)?.map((e) => e.clientId)).toEqual([1, 2]);
    expect(apply(table, [entry(4, 1, {})], a)).toBeNull();
    expect(apply(table, [entry(1, 2, { renewed: true })], a)).toEqual([{ clientId: 1, clock: 2, state: { renewed: true } }]);
    // An id the owner removed still counts: an owner cannot cycle through fresh ids.
    apply(table, [entry(2, 2, null)], a);
    expect(apply(table, [entry(5, 1, {})], a)).toBeNull();
    // Other owners have their own allowance.
    expect(apply(table, [entry(6, 1, {}), entry(7, 1, {})], owner())).toHaveLength(2);
  });

  it('holds at most maxClientsPerDocument ids in all, the other instances included', () => {
    const table = limited({ maxClientsPerDocument: 3 });
    apply(table, [entry(1, 1, {}), entry(2, 1, {})], owner());
    expect(apply(table, [entry(3, 1, {}), entry(4, 1, {})], remoteOwner())?.map((e) => e.clientId)).toEqual([3]);
    expect(apply(table, [entry(5, 1, {})], owner())).toBeNull();
    expect(ids(table)).toEqual([1, 2, 3]);
  });

  it('holds at most maxBytesPerDocument bytes of states; a state that would pass it is dropped, a smaller renewal is not', () => {
    const table = limited({ maxBytesPerDocument: 40 });
    const a = owner();
    const b = owner();
    apply(table, [entry(1, 1, { pad: 'x'.repeat(20) })], a); // 30 bytes
    expect(apply(table, [entry(2, 1, { pad: 'x'.repeat(10) })], b)).toBeNull(); // 20 more: over
    expect(apply(table, [entry(2, 1, { p: 1 })], b)).not.toBeNull(); // 7 more: fits
    expect(apply(table, [entry(1, 2, { pad: 'x'.repeat(24) })], a)).toBeNull(); // grows past it (41 bytes)
    expect(apply(table, [entry(1, 2, { pad: 'x' })], a)).not.toBeNull(); // shrinks
    expect(table.stateBytes).toBe(json({ pad: 'x' }).length + json({ p: 1 }).length);
  });

  it('a state that is not JSON is malformed: nothing of its message is kept', () => {
    const table = new AwarenessTable();
    const bad = { clientId: 2, clock: 1, state: new TextEncoder().encode('{not json') };
    expect(() => table.receive(encodeAwarenessUpdate([entry(1, 1, { fine: true }), bad]), owner(), NOW)).toThrow(MalformedFrameError);
    expect(table.size).toBe(0);
    expect(table.snapshot()).toBeNull();
  });

  it('a renewal with the same state is not parsed again (hot path)', () => {
    const table = new AwarenessTable();
    const a = owner();
    apply(table, [entry(1, 1, { user: 'ada', cursor: 3 })], a);
    const parse = vi.spyOn(JSON, 'parse');
    table.receive(encodeAwarenessUpdate([entry(1, 2, { user: 'ada', cursor: 3 })]), a, NOW);
    expect(parse).not.toHaveBeenCalled();
    table.receive(encodeAwarenessUpdate([entry(1, 3, { user: 'ada', cursor: 4 })]), a, NOW);
    expect(parse).toHaveBeenCalledTimes(1);
  });

  it("remembers at most maxClientsPerDocument given-up ids' clocks", () => {
    const table = limited({ maxClientsPerDocument: 5, maxClientsPerConnection: 5 });
    for (let round = 0; round < 10; round++) {
      const a = owner();
      apply(
        table,
        [0, 1, 2, 3, 4].map((i) => entry(round * 10 + i, 1, {})),
        a,
      );
      table.removeOwner(a, NOW);
    }
    expect((table as unknown as { released: Map<number, unknown> }).released.size).toBe(5);
  });
});

describe('AwarenessTable.removeOwner', () => {
  it('produces the removal update (clock + 1, state null) for every state the owner set, and only those', () => {
    const table = new AwarenessTable();
    const leaver = owner();
    const stayer = owner();
    apply(table, [entry(1, 3, { a: 1 }), entry(2, 9, { b: 2 })], leaver);
    apply(table, [entry(5, 1, { c: 3 })], stayer);

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
    apply(table, [entry(1, 1, {})], owner());
    expect(table.removeOwner(owner(), NOW)).toBeNull();
  });

  it('a state the owner removed itself is not removed again', () => {
    const table = new AwarenessTable();
    const a = owner();
    apply(table, [entry(1, 1, {}), entry(2, 1, {})], a);
    apply(table, [entry(1, 2, null)], a);

    expect(decodeAwareness(table.removeOwner(a, NOW)!)).toEqual([{ clientId: 2, clock: 2, state: null }]);
  });
});

describe('AwarenessTable.expire', () => {
  it('removes states not renewed within AWARENESS_EXPIRE_MS, as a leave would, and frees their ids', () => {
    const table = new AwarenessTable();
    const quiet = owner();
    const renewing = owner();
    apply(table, [entry(1, 4, { n: 1 })], quiet);
    apply(table, [entry(2, 1, { n: 2 })], renewing);
    apply(table, [entry(2, 2, { n: 2 })], renewing, NOW + 10_000);

    expect(table.expire(NOW + AWARENESS_EXPIRE_MS)).toEqual({ local: null, remote: null });
    const expired = table.expire(NOW + AWARENESS_EXPIRE_MS + 1);
    expect(decodeAwareness(expired.local!)).toEqual([{ clientId: 1, clock: 5, state: null }]);
    expect(expired.remote).toBeNull();
    expect(ids(table)).toEqual([2]);
    expect(quiet.awarenessClients?.size).toBe(0);
    // Its owner (still connected) may set it again with a newer clock; an older one stays refused.
    expect(apply(table, [entry(1, 5, { n: 1 })], quiet, NOW + AWARENESS_EXPIRE_MS + 2)).toBeNull();
    expect(apply(table, [entry(1, 6, { n: 1 })], quiet, NOW + AWARENESS_EXPIRE_MS + 2)).not.toBeNull();
    expect(table.removeOwner(quiet, NOW)).not.toBeNull();
  });

  it("sorts the removals by audience: other instances' states are removed for local clients only", () => {
    const table = new AwarenessTable();
    apply(table, [entry(1, 1, {})], owner());
    apply(table, [entry(2, 1, {}), entry(3, 7, {})], remoteOwner());
    const expired = table.expire(NOW + AWARENESS_EXPIRE_MS + 1);
    expect(decodeAwareness(expired.local!)).toEqual([{ clientId: 1, clock: 2, state: null }]);
    expect(decodeAwareness(expired.remote!)).toEqual([
      { clientId: 2, clock: 2, state: null },
      { clientId: 3, clock: 8, state: null },
    ]);
    expect(table.size).toBe(0);
    expect(table.stateBytes).toBe(0);
  });

  it('gives up, silently, an id its owner removed and did not set again', () => {
    const table = new AwarenessTable();
    const a = owner();
    apply(table, [entry(1, 1, {})], a);
    apply(table, [entry(1, 2, null)], a);
    expect(table.expire(NOW + AWARENESS_EXPIRE_MS + 1)).toEqual({ local: null, remote: null });
    expect(table.size).toBe(0);
    expect(a.awarenessClients?.size).toBe(0);
  });

  it('a renewal moves a state to the back: expiry stops at the first fresh state', () => {
    const table = new AwarenessTable();
    const a = owner();
    apply(table, [entry(1, 1, {}), entry(2, 1, {}), entry(3, 1, {})], a);
    apply(table, [entry(1, 2, {})], a, NOW + 20_000);
    const expired = table.expire(NOW + AWARENESS_EXPIRE_MS + 1);
    expect(decodeAwareness(expired.local!).map((e) => e.clientId)).toEqual([2, 3]);
    expect(ids(table)).toEqual([1]);
  });
});

describe('AwarenessTable.snapshot', () => {
  it('is null before any state and once all states are gone', () => {
    const table = new AwarenessTable();
    expect(table.snapshot()).toBeNull();
    const a = owner();
    apply(table, [entry(1, 1, {})], a);
    table.removeOwner(a, NOW);
    expect(table.snapshot()).toBeNull();
  });

  it('is encoded once per change: every query and joiner until the next change shares it', () => {
    const table = new AwarenessTable();
    const a = owner();
    apply(table, [entry(1, 1, { n: 1 })], a);
    const first = table.snapshot();
    expect(table.snapshot()).toBe(first);
    apply(table, [entry(1, 1, { n: 'replayed' })], a); // refused: no change
    expect(table.snapshot()).toBe(first);
    apply(table, [entry(1, 2, { n: 2 })], a);
    const second = table.snapshot();
    expect(second).not.toBe(first);
    expect(decodeAwareness(second!)).toEqual([{ clientId: 1, clock: 2, state: { n: 2 } }]);
  });

  it('returns the raw state JSON and clock unchanged', () => {
    const table = new AwarenessTable();
    const state = { user: { name: 'Ada', color: '#f00' }, cursor: { anchor: 3, head: 5 } };
    apply(table, [entry(42, 17, state)], owner());

    expect(snapshot(table)).toEqual([{ clientId: 42, clock: 17, state }]);
  });
});

describe('AwarenessTable after a leaver', () => {
  it("refuses the leaver's old state re-sent by a peer within the timeout, and forgets its clock after it", () => {
    const table = new AwarenessTable();
    const leaver = owner();
    const peer = owner();
    apply(table, [entry(5, 3, { cursor: 1 })], leaver);
    table.removeOwner(leaver, NOW);
    // A peer answering QueryAwareness with every state it still knows.
    apply(table, [entry(5, 3, { cursor: 1 })], peer, NOW + 1_000);
    expect(table.snapshot()).toBeNull();
    // Once the timeout has passed the clock is forgotten (the map stays bounded): a client id seen again is accepted.
    apply(table, [entry(5, 1, { cursor: 2 })], peer, NOW + AWARENESS_TIMEOUT_MS + 1);
    expect(ids(table)).toEqual([5]);
  });
});

describe('awareness configuration', () => {
  it('defaults to DEFAULT_AWARENESS_LIMITS, reads MAX_AWARENESS_* and refuses bad values', () => {
    const defaults = configFromEnv({});
    expect([
      defaults.maxAwarenessStateBytes,
      defaults.maxAwarenessEntriesPerMessage,
      defaults.maxAwarenessClientsPerConnection,
      defaults.maxAwarenessClientsPerDocument,
      defaults.maxAwarenessBytesPerDocument,
    ]).toEqual([16_384, 100, 4, 2_000, 1_048_576]);
    const set = configFromEnv({
      MAX_AWARENESS_STATE_BYTES: '4096',
      MAX_AWARENESS_ENTRIES_PER_MESSAGE: '10',
      MAX_AWARENESS_CLIENTS_PER_CONNECTION: '1',
      MAX_AWARENESS_CLIENTS_PER_DOCUMENT: '50',
      MAX_AWARENESS_BYTES_PER_DOCUMENT: '65536',
    });
    expect([
      set.maxAwarenessStateBytes,
      set.maxAwarenessEntriesPerMessage,
      set.maxAwarenessClientsPerConnection,
      set.maxAwarenessClientsPerDocument,
      set.maxAwarenessBytesPerDocument,
    ]).toEqual([4096, 10, 1, 50, 65_536]);
    expect(() => configFromEnv({ MAX_AWARENESS_CLIENTS_PER_CONNECTION: '0' })).toThrow(ConfigError);
    expect(() => configFromEnv({ MAX_AWARENESS_STATE_BYTES: 'lots' })).toThrow(/MAX_AWARENESS_STATE_BYTES/);
  });
});
