/**
 * The bookkeeping behind "relayed but not yet stored": how far a sender's published
 * updates are durable across rooms that commit in their own order, and what a receiver
 * keeps, forgets and stores. No I/O: Durability counters and a storage that records.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { AppendMeta } from '../../server/persistence/storage.js';
import { PublishedUpdates, UnconfirmedUpdates } from '../../server/cluster/relay-durability.js';
import { Durability } from '../../server/rooms/durability.js';

const logger = pino({ level: 'silent' });

describe('PublishedUpdates', () => {
  it('is durable through the first published update whose room has not settled it', () => {
    const published = new PublishedUpdates();
    const one = new Durability();
    const two = new Durability();
    const append = (durability: Durability) => {
      durability.appended++;
      return published.record(durability);
    };
    expect([append(one), append(two), append(one)]).toEqual([1, 2, 3]);
    expect(published.durableThrough()).toBe(0);
    two.committed(1); // room two commits first: update 2 is stored, 1 is not
    expect(published.durableThrough()).toBe(0);
    one.committed(1);
    expect(published.durableThrough()).toBe(2);
    one.committed(1);
    expect(published.durableThrough()).toBe(3);
    expect(published.published).toBe(3);
  });
});

describe('UnconfirmedUpdates', () => {
  const rooms = new Map<string, { id: string; durability: Durability }>();
  /** The room of document `id` (one Durability each, to watch its unconfirmed count). */
  const room = (id: string) => {
    let found = rooms.get(id);
    if (!found) rooms.set(id, (found = { id, durability: new Durability() }));
    return found;
  };
  const recording = () => {
    rooms.clear();
    const stored: Array<{ documentId: string; update: number; meta: AppendMeta }> = [];
    const storage = {
      append: (documentId: string, update: Uint8Array, meta: AppendMeta) => void stored.push({ documentId, update: update[0]!, meta }),
    };
    return { stored, unconfirmed: new UnconfirmedUpdates(storage, logger) };
  };

  it('forgets what the sender announced as stored, and stores nothing of a live sender', () => {
    const { stored, unconfirmed } = recording();
    unconfirmed.retain('a', 1, room('d1'), new Uint8Array([1]), 0);
    unconfirmed.retain('a', 2, room('d2'), new Uint8Array([2]), 0);
    unconfirmed.announced('a', 1, 10_000, 3_000);
    expect([...unconfirmed.waitingOn()]).toEqual(['a']);
    expect([room('d1').durability.unconfirmedRemote, room('d2').durability.unconfirmedRemote]).toEqual([0, 1]);
    unconfirmed.announced('a', 2, 10_000, 3_000);
    expect([...unconfirmed.waitingOn()]).toEqual([]);
    expect(stored).toEqual([]);
    expect(room('d2').durability.unconfirmedRemote).toBe(0);
  });

  it('stores what a sender whose announcement lapsed left unconfirmed for long enough, once', () => {
    const { stored, unconfirmed } = recording();
    unconfirmed.retain('gone', 5, room('d1'), new Uint8Array([5]), 0);
    unconfirmed.retain('gone', 6, room('d1'), new Uint8Array([6]), 2_500);
    expect(room('d1').durability.unconfirmedRemote).toBe(2);
    unconfirmed.announced('gone', null, 3_000, 3_000);
    expect(stored).toEqual([{ documentId: 'd1', update: 5, meta: { userId: null, sessionId: 'recovered:gone' } }]);
    expect(room('d1').durability.unconfirmedRemote).toBe(1);
    unconfirmed.announced('gone', null, 6_000, 3_000);
    expect(stored.map((entry) => entry.update)).toEqual([5, 6]);
    unconfirmed.announced('gone', null, 9_000, 3_000);
    expect(stored).toHaveLength(2);
    expect([...unconfirmed.waitingOn()]).toEqual([]);
    expect(room('d1').durability.unconfirmedRemote).toBe(0);
  });

  it('keeps at most its bound per sender, storing the oldest half when it is passed', () => {
    const { stored, unconfirmed } = recording();
    for (let seq = 1; seq <= 10_001; seq++) unconfirmed.retain('busy', seq, room('d'), new Uint8Array([seq % 256]), 0);
    expect(stored).toHaveLength(5_000);
    expect(room('d').durability.unconfirmedRemote).toBe(5_001);
    unconfirmed.announced('busy', 10_001, 1, 3_000);
    expect([...unconfirmed.waitingOn()]).toEqual([]);
    expect(room('d').durability.unconfirmedRemote).toBe(0);
  });
});
