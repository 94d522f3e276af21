/**
 * LiveSessions: which open document sessions an access event re-checks, and that a
 * `recheck-all` (events may have been missed) re-checks every one, spread out in slices
 * rather than all at once. No I/O: sessions that count their re-checks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InProcessAccessEvents } from '../../server/auth/access-events.js';
import { systemClock } from '../../server/clock.js';
import type { Principal } from '../../server/auth/authorizer.js';
import {
  LiveSessions,
  TOKEN_REQUEST_LEAD_MS,
  type Expiring,
  type Recheckable,
  type SessionHolder,
} from '../../server/protocol/live-sessions.js';
import type { PresentSession } from '../../server/cluster/session-presence.js';
import { ManualClock } from '../helpers/rooms.js';
import { sleep, waitFor } from '../helpers/wait.js';

type Session = Recheckable & PresentSession & { rechecks: number; deletions: number };

function session(userId: string, tokenSession: string, projectId: string, documentId = `${projectId}/doc-id`): Session {
  const made: Session = {
    userId,
    tokenSession,
    projectId,
    documentId,
    documentName: `${projectId}/doc`,
    sessionId: tokenSession,
    address: null,
    state: 'open',
    openedAt: 0,
    rechecks: 0,
    deletions: 0,
    recheck: () => void made.rechecks++,
    documentDeleted: () => void made.deletions++,
  };
  return made;
}

const holder = (sessions: Session[]): SessionHolder => ({ sessions: () => sessions });
let live: LiveSessions | null = null;
afterEach(() => live?.stop());

describe('LiveSessions', () => {
  it('re-checks only the sessions an event concerns', () => {
    const events = new InProcessAccessEvents();
    const ada = session('ada', 's1', 'p1');
    const adaElsewhere = session('ada', 's2', 'p2');
    const bob = session('bob', 's3', 'p1');
    live = new LiveSessions(events, () => [holder([ada, adaElsewhere]), holder([bob])], systemClock);
    events.publish({ type: 'session-revoked', sessionId: 's2' });
    events.publish({ type: 'membership-removed', userId: 'ada', projectId: 'p1' });
    events.publish({ type: 'membership-changed', userId: 'bob', projectId: 'p2' });
    expect([ada.rechecks, adaElsewhere.rechecks, bob.rechecks]).toEqual([1, 1, 0]);
  });

  it('closes the sessions of a deleted document, whoever holds them, and re-checks none on a rename', () => {
    const events = new InProcessAccessEvents();
    const ada = session('ada', 's1', 'p1', 'doc-a');
    const bob = session('bob', 's2', 'p1', 'doc-a');
    const other = session('ada', 's3', 'p1', 'doc-b');
    live = new LiveSessions(events, () => [holder([ada, other]), holder([bob])], systemClock);
    events.publish({ type: 'document-deleted', documentId: 'doc-a' });
    events.publish({ type: 'document-renamed', documentId: 'doc-b' });
    expect([ada.deletions, bob.deletions, other.deletions]).toEqual([1, 1, 0]);
    expect([ada.rechecks, bob.rechecks, other.rechecks]).toEqual([0, 0, 0]);
  });

  it('re-checks every session on recheck-all, a slice at a time; stop() cancels the rest', async () => {
    const events = new InProcessAccessEvents();
    const sessions = Array.from({ length: 450 }, (_, i) => session(`u${i}`, `s${i}`, 'p'));
    live = new LiveSessions(events, () => [holder(sessions)], systemClock);
    events.publish({ type: 'recheck-all' });
    const rechecked = () => sessions.filter((s) => s.rechecks === 1).length;
    expect(rechecked()).toBe(200); // the first slice at once
    await waitFor(() => rechecked() === 450, 2_000, 'every session re-checked');
    expect(sessions.every((s) => s.rechecks === 1)).toBe(true);

    events.publish({ type: 'recheck-all' });
    live.stop();
    await sleep(300);
    expect(sessions.filter((s) => s.rechecks === 2)).toHaveLength(200);
  });

  it("asks for a fresh token before the token's exp and expires its sessions at exp, on its clock", () => {
    const clock = new ManualClock();
    live = new LiveSessions(new InProcessAccessEvents(), () => [], clock);
    const principal: Principal = { userId: 'ada', sessionId: 's1', expiresAt: clock.now() + 2 * TOKEN_REQUEST_LEAD_MS };
    const calls: string[] = [];
    const session: Expiring = {
      principal,
      requestToken: () => void calls.push('token requested'),
      expire: (expired) => void calls.push(expired === principal ? 'expired' : 'expired (another principal)'),
    };

    live.track(session);
    clock.advance(TOKEN_REQUEST_LEAD_MS - 1);
    expect(calls).toEqual([]);
    clock.advance(1);
    expect(calls).toEqual(['token requested']);
    clock.advance(TOKEN_REQUEST_LEAD_MS - 1);
    expect(calls).toEqual(['token requested']);
    clock.advance(1);
    expect(calls).toEqual(['token requested', 'expired']);
    expect(live.expiringPrincipals).toBe(0);
  });
});
