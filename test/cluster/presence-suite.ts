/**
 * The Presence conformance suites (Presence, and SessionPresence writing to it), as
 * functions so they run against every implementation: in process and Redis
 * (presence.test.ts), Redis Cluster (test/cluster/redis-cluster.test.ts). A clock of the
 * test's own, so expiry needs no waiting.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../server/clock.js';
import {
  PRESENCE_RENEW_MS,
  PRESENCE_TTL_MS,
  presenceSessionKey,
  type Presence,
  type PresenceEntry,
} from '../../server/cluster/presence.js';
import { SessionPresence, type PresentSession } from '../../server/cluster/session-presence.js';

const logger = pino({ level: 'silent' });

/** A Presence on the shared store, reading time from `clock`. */
export type PresenceFactory = (clock: Clock) => Presence;

/** A clock the test moves by hand; `every` callbacks run when the test says so. */
export class ManualClock implements Clock {
  t = Date.now();
  readonly timers = new Set<() => void>();
  now = (): number => this.t;
  every(_ms: number, fn: () => void): () => void {
    this.timers.add(fn);
    return () => this.timers.delete(fn);
  }
  /** Runs at the next `tick`, once. */
  after(_ms: number, fn: () => void): () => void {
    const once = () => {
      this.timers.delete(once);
      fn();
    };
    this.timers.add(once);
    return () => this.timers.delete(once);
  }
  tick(): void {
    for (const fn of this.timers) fn();
  }
}

export const unique = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;
export const entry = (document: string, sessionKey: string, over: Partial<PresenceEntry> = {}): PresenceEntry => ({
  document,
  sessionKey,
  userId: `user-${sessionKey}`,
  name: null,
  instanceId: 'instance-1',
  since: Date.now(),
  ...over,
});
export const keys = (entries: readonly PresenceEntry[]) => entries.map((e) => e.sessionKey);

export function presenceConformance(implementations: Array<[string, PresenceFactory]>): void {
  describe.each(implementations)('Presence conformance: %s', (_name, make) => {
    it('join, list (oldest first), join again replaces, leave', async () => {
      const clock = new ManualClock();
      const presence = make(clock);
      const doc = unique('doc');
      expect(await presence.list(doc)).toEqual([]);
      const a = entry(doc, 's-a', { since: clock.t - 2000, name: 'Ada' });
      const b = entry(doc, 's-b', { since: clock.t - 5000, userId: null });
      await presence.join(a);
      await presence.join(b);
      expect(await presence.list(doc)).toEqual([b, a]);
      await presence.join({ ...a, instanceId: 'instance-2' });
      expect(await presence.list(doc)).toEqual([b, { ...a, instanceId: 'instance-2' }]);
      await presence.leave(doc, 's-b');
      expect(keys(await presence.list(doc))).toEqual(['s-a']);
      await presence.leave(doc, 's-b'); // idempotent
      await presence.leave(doc, 's-a');
      expect(await presence.list(doc)).toEqual([]);
    });

    it('documents are apart; names and keys with odd characters round-trip', async () => {
      const clock = new ManualClock();
      const presence = make(clock);
      const one = unique('paper/{one}');
      const two = unique('paper:two ü');
      const key = presenceSessionKey('proc:1', `${one}\0x`, one);
      await presence.join(entry(one, key));
      await presence.join(entry(two, 's'));
      expect(keys(await presence.list(one))).toEqual([key]);
      expect(keys(await presence.list(two))).toEqual(['s']);
    });

    it('an entry not renewed expires after the TTL; a renewed one stays, with its since', async () => {
      const clock = new ManualClock();
      const presence = make(clock);
      const doc = unique('doc');
      const kept = entry(doc, 'kept', { since: clock.t });
      const dropped = entry(doc, 'dropped', { since: clock.t });
      await presence.join(kept);
      await presence.join(dropped);
      clock.t += PRESENCE_TTL_MS - 1000;
      expect(keys(await presence.list(doc))).toEqual(['dropped', 'kept']);
      await presence.renew([kept]);
      clock.t += 2000;
      expect(await presence.list(doc)).toEqual([kept]);
      clock.t += PRESENCE_TTL_MS;
      expect(await presence.list(doc)).toEqual([]);
    });

    it('renewal brings back an entry that was lost (expired while the instance could not renew)', async () => {
      const clock = new ManualClock();
      const presence = make(clock);
      const doc = unique('doc');
      const lost = entry(doc, 'lost', { since: clock.t });
      await presence.join(lost);
      clock.t += PRESENCE_TTL_MS + 1;
      expect(await presence.list(doc)).toEqual([]);
      await presence.renew([lost]);
      expect(await presence.list(doc)).toEqual([lost]);
    });

    it('the user key: online in the document joined or opened last, offline after userOffline', async () => {
      const clock = new ManualClock();
      const presence = make(clock);
      const userId = unique('user');
      const doc = unique('doc');
      const other = unique('doc');
      expect(await presence.user(userId)).toBeNull();
      await presence.join(entry(doc, 's1', { userId, since: clock.t }));
      expect(await presence.user(userId)).toEqual({ status: 'online', lastSeen: clock.t, document: doc });
      clock.t += 10;
      await presence.renew([entry(doc, 's1', { userId, since: clock.t - 10 }), entry(other, 's2', { userId, since: clock.t })]);
      expect(await presence.user(userId)).toEqual({ status: 'online', lastSeen: clock.t, document: other });
      clock.t += 10;
      await presence.userOffline(userId, other);
      expect(await presence.user(userId)).toEqual({ status: 'offline', lastSeen: clock.t, document: other });
    });
  });

  describe.each(implementations)('SessionPresence on %s', (_name, make) => {
    const session = (document: string, sessionId: string, userId: string | null, openedAt: number): PresentSession => ({
      documentName: document,
      sessionId,
      address: document,
      userId,
      state: 'open',
      openedAt,
    });

    it("joins on open and leaves on close, with the session's own since", async () => {
      const clock = new ManualClock();
      const presence = make(clock);
      const live: PresentSession[] = [];
      const publisher = new SessionPresence(presence, 'this-instance', () => live, clock, logger);
      const doc = unique('tracked');
      const a = session(doc, 's1', unique('u'), clock.t);
      const b = session(doc, 's2', null, clock.t + 5);
      publisher.opened(a);
      publisher.opened(b);
      await waitUntil(async () => (await presence.list(doc)).length === 2);
      expect((await presence.list(doc)).map((e) => [e.since, e.instanceId])).toEqual([
        [a.openedAt, 'this-instance'],
        [b.openedAt, 'this-instance'],
      ]);
      publisher.closed(a);
      await waitUntil(async () => (await presence.list(doc)).length === 1);
      await publisher.close();
    });

    it('renews every live session on its timer, so they outlive the TTL; after close() it writes nothing', async () => {
      const clock = new ManualClock();
      const presence = make(clock);
      const doc = unique('renewed');
      const live = [session(doc, 'held', 'u-held', clock.t)];
      const publisher = new SessionPresence(presence, 'this-instance', () => live, clock, logger);
      publisher.opened(live[0]!);
      await waitUntil(async () => (await presence.list(doc)).length === 1);
      for (let minute = 0; minute < 10; minute++) {
        clock.t += PRESENCE_RENEW_MS;
        clock.tick();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(keys(await presence.list(doc))).toHaveLength(1);
      await publisher.close();
      expect(clock.timers.size).toBe(0);
      publisher.opened(session(doc, 'late', null, clock.t)); // after shutdown: ignored
      clock.t += 6 * 60_000;
      expect(await presence.list(doc)).toEqual([]);
    });
  });
}

export async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
