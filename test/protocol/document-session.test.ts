import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryStorage } from '../../server/persistence/memory-storage.js';
import type { DocumentRef, StoredDocument } from '../../server/persistence/storage.js';
import { PermissionDeniedError, type Authorizer, type Grant } from '../../server/auth/authorizer.js';
import { DocumentSession, QueueOverflowError, type RefusalKind, type SessionHost } from '../../server/protocol/document-session.js';
import { QueueBudget } from '../../server/protocol/queue-budget.js';
import { InvalidUpdateError, type Room } from '../../server/rooms/room.js';
import { Editor, flush, protocolEnv, textOf, UNINTEGRABLE_UPDATE, type FakeSocket, type ProtocolEnv } from '../helpers/rooms.js';
import type { ProtocolLimits } from '../../server/protocol/context.js';

const NAME = 'session-doc';

/** The protocol host, reduced to a recorder: what a connection would be told, in order. */
class RecordingHost implements SessionHost {
  readonly budget: QueueBudget;
  readonly events: string[] = [];
  readonly dispatched: Uint8Array[] = [];
  readonly refusals: Array<{ kind: RefusalKind; reason: string }> = [];
  readonly failures: unknown[] = [];
  readonly openedCorked: boolean[] = [];
  closed = 0;
  /** Make dispatch throw for this frame (by first byte). */
  failOn: number | null = null;

  constructor(
    readonly env: ProtocolEnv,
    readonly socket: FakeSocket,
  ) {
    this.budget = new QueueBudget(env.context.limits);
  }

  get context() {
    return this.env.context;
  }

  sessionReauthorized(session: DocumentSession): void {
    this.events.push(`reauthorized(${session.readOnly ? 'readonly' : 'read-write'})`);
  }
  sessionOpened(_session: DocumentSession, reopened: boolean): void {
    this.events.push(`opened(${reopened})`);
    this.openedCorked.push(this.socket.corkDepth > 0);
  }
  dispatch(_session: DocumentSession, frame: Uint8Array): void {
    if (frame[0] === this.failOn) throw new Error(`cannot handle frame ${frame[0]}`);
    this.events.push(`dispatch(${frame[0]})`);
    this.dispatched.push(frame);
  }
  sessionRefused(_session: DocumentSession, kind: RefusalKind, reason: string): void {
    this.events.push(`refused(${kind})`);
    this.refusals.push({ kind, reason });
  }
  sessionClosed(): void {
    this.events.push('closed');
    this.closed++;
  }
  updateRefused(): void {}
  frameFailed(error: unknown): void {
    this.events.push('frameFailed');
    this.failures.push(error);
  }
}

function setup(options: { storage?: MemoryStorage; authorizer?: Authorizer; limits?: Partial<ProtocolLimits> } = {}) {
  const storage = options.storage ?? new MemoryStorage();
  const env = protocolEnv(storage, options);
  const host = new RecordingHost(env, env.hub.socket());
  const session = new DocumentSession(host, NAME, NAME, 'session-id');
  return { storage, env, host, session };
}

const frame = (...bytes: number[]) => new Uint8Array(bytes);

const grantWithoutCreate: Authorizer = {
  authenticate: () => Promise.resolve({ userId: 'u1', sessionId: 's1', expiresAt: null }),
  revalidate: () => Promise.resolve(),
  authorize: (principal): Promise<Grant> => Promise.resolve({ ...principal, scope: 'read-write', create: null }),
};

/** Fails the first `failures` loads as an unreachable database would. */
class FlakyStorage extends MemoryStorage {
  loads = 0;
  constructor(private failures: number) {
    super();
  }
  override async load(document: DocumentRef): Promise<StoredDocument> {
    this.loads++;
    if (this.failures > 0) {
      this.failures--;
      throw new Error('connect ECONNREFUSED');
    }
    return super.load(document);
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('DocumentSession queue', () => {
  it('replays the frames queued before open, in order, right after sessionOpened and corked', async () => {
    const { host, session, env } = setup();
    session.enqueue(frame(1, 1));
    session.enqueue(frame(2, 2, 2));
    expect(host.budget.frames).toBe(2);
    expect(host.budget.bytes).toBe(5);

    session.open('token');
    expect(session.state).toBe('opening');
    session.enqueue(frame(3)); // still opening: queued as well
    expect(host.dispatched).toEqual([]);
    await flush();

    expect(session.state).toBe('open');
    expect(host.events).toEqual(['opened(false)', 'dispatch(1)', 'dispatch(2)', 'dispatch(3)']);
    expect(host.dispatched).toEqual([frame(1, 1), frame(2, 2, 2), frame(3)]);
    expect(host.openedCorked).toEqual([true]);
    expect(host.budget.frames).toBe(0);
    expect(host.budget.bytes).toBe(0);
    const room = (await env.rooms.find(NAME)) as Room;
    expect(session.room).toBe(room);
    expect(room.members.has(session)).toBe(true);
    expect(session.accepting).toBe(true);
  });

  it('keeps a copy of each queued frame (the transport reuses its buffer)', async () => {
    const { host, session } = setup();
    const buffer = frame(7, 7, 7);
    session.enqueue(buffer);
    buffer.fill(0);

    session.open('token');
    await flush();

    expect(host.dispatched).toEqual([frame(7, 7, 7)]);
  });

  it('throws QueueOverflowError past the frame budget, shared by the sessions of one socket', () => {
    const { host, session, env } = setup({ limits: { maxQueuedFrames: 3 } });
    const sibling = new DocumentSession(host, 'another', 'another', 'session-id');
    session.enqueue(frame(1));
    sibling.enqueue(frame(2));
    session.enqueue(frame(3));

    expect(() => sibling.enqueue(frame(4))).toThrow(QueueOverflowError);
    expect(() => session.enqueue(frame(5))).toThrow(QueueOverflowError);
    expect(host.budget.frames).toBe(3);
    expect(env.context.limits.maxQueuedFrames).toBe(3);
  });

  it('throws QueueOverflowError past the byte budget', () => {
    const { host, session } = setup({ limits: { maxQueuedBytes: 10 } });
    session.enqueue(new Uint8Array(8));

    expect(() => session.enqueue(new Uint8Array(3))).toThrow(QueueOverflowError);
    session.enqueue(new Uint8Array(2)); // exactly at the limit
    expect(host.budget.bytes).toBe(10);
  });

  it('stops replaying at the first frame that fails and reports it', async () => {
    const { host, session } = setup();
    host.failOn = 2;
    for (const first of [1, 2, 3]) session.enqueue(frame(first));

    session.open('token');
    await flush();

    expect(host.events).toEqual(['opened(false)', 'dispatch(1)', 'frameFailed']);
    expect(host.budget.frames).toBe(0);
  });

  it('close drops the queue, gives the budget back, leaves and releases the room', async () => {
    const { host, session, env } = setup();
    session.open('token');
    await flush();
    const room = session.room!;
    session.enqueue(frame(9)); // e.g. queued by a caller while reopening

    session.close();
    session.close(); // idempotent

    expect(session.state).toBe('closed');
    expect(host.closed).toBe(1);
    expect(host.budget.frames).toBe(0);
    expect(room.members.has(session)).toBe(false);
    await flush();
    expect(env.rooms.size).toBe(0);
  });
});

describe('DocumentSession open refusals', () => {
  it("refuses as 'denied' when the grant may not create the document, and creates nothing", async () => {
    const { host, session, storage, env } = setup({ authorizer: grantWithoutCreate });
    session.enqueue(frame(1));

    session.open('token');
    await flush();

    expect(host.events).toEqual(['refused(denied)', 'closed']);
    expect(host.refusals).toEqual([{ kind: 'denied', reason: `no document named ${JSON.stringify(NAME)}` }]);
    expect(session.state).toBe('closed');
    expect(host.dispatched).toEqual([]);
    expect(host.budget.frames).toBe(0);
    expect(await storage.find(NAME)).toBeNull();
    expect(env.rooms.size).toBe(0);
  });

  it("refuses as 'denied' with the authorizer's reason, before loading anything", async () => {
    const storage = new MemoryStorage();
    await storage.create(NAME, { kind: 'paper' });
    const load = vi.spyOn(storage, 'load');
    const authorize = vi.fn(() => Promise.reject(new PermissionDeniedError('token expired')));
    const authenticate = vi.fn((token: string) => Promise.resolve({ userId: 'u1', sessionId: token, expiresAt: null }));
    const { host, session } = setup({ storage, authorizer: { authenticate, revalidate: () => Promise.resolve(), authorize } });

    session.open('old-token');
    await flush();

    expect(authenticate).toHaveBeenCalledWith('old-token');
    expect(authorize).toHaveBeenCalledWith(
      { userId: 'u1', sessionId: 'old-token', expiresAt: null },
      NAME,
      await storage.find(NAME),
      'read',
    );
    expect(host.refusals).toEqual([{ kind: 'denied', reason: 'token expired' }]);
    expect(load).not.toHaveBeenCalled();
    expect(session.state).toBe('closed');
  });

  it('retries a failing load with backoff and opens once it succeeds', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const storage = new FlakyStorage(2);
    const { host, session } = setup({ storage });
    session.enqueue(frame(1));

    session.open('token');
    await flush();
    expect(storage.loads).toBe(1);
    expect(session.state).toBe('opening');

    vi.advanceTimersByTime(199);
    await flush();
    expect(storage.loads).toBe(1);
    vi.advanceTimersByTime(1); // 200 ms after the first failure
    await flush();
    expect(storage.loads).toBe(2);

    vi.advanceTimersByTime(399);
    await flush();
    expect(storage.loads).toBe(2);
    vi.advanceTimersByTime(1); // 400 ms after the second
    await flush();

    expect(storage.loads).toBe(3);
    expect(session.state).toBe('open');
    expect(host.events).toEqual(['opened(false)', 'dispatch(1)']);
    expect(host.refusals).toEqual([]);
  });

  it("refuses as 'unavailable' after the last retry fails", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const storage = new FlakyStorage(Number.POSITIVE_INFINITY);
    const { host, session } = setup({ storage });
    session.enqueue(frame(1));

    session.open('token');
    await flush();
    // Backoff doubles: 200, 400, 800, 1600 ms after each failure.
    for (const [i, delay] of [200, 400, 800, 1600].entries()) {
      expect(host.refusals).toEqual([]);
      vi.advanceTimersByTime(delay - 1);
      await flush();
      expect(storage.loads).toBe(i + 1);
      vi.advanceTimersByTime(1);
      await flush();
      expect(storage.loads).toBe(i + 2);
    }

    expect(storage.loads).toBe(5);
    expect(host.events).toEqual(['refused(unavailable)', 'closed']);
    expect(host.refusals).toEqual([{ kind: 'unavailable', reason: 'document could not be loaded; try again later' }]);
    expect(session.state).toBe('closed');
    expect(host.budget.frames).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a session closed while waiting for a retry does not retry', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const storage = new FlakyStorage(1);
    const { host, session } = setup({ storage });
    session.open('token');
    await flush();

    session.close();
    vi.advanceTimersByTime(10_000);
    await flush();

    expect(storage.loads).toBe(1);
    expect(host.events).toEqual(['closed']);
  });

  it('a session closed while opening releases the room it then acquires', async () => {
    const { host, session, env } = setup();
    session.open('token');
    session.close();
    await flush();

    expect(host.events).toEqual(['closed']);
    expect(env.rooms.size).toBe(0);
  });
});

describe('DocumentSession after an eviction', () => {
  it('roomEvicted reopens the session on a fresh room (sessionOpened with reopened = true)', async () => {
    const { host, session, env } = setup();
    session.open('token');
    await flush();
    const oldRoom = session.room!;
    expect(session.applyUpdate(new Editor(100).insert('saved'), null)).toBe('changed');

    expect(() => session.applyUpdate(UNINTEGRABLE_UPDATE, null)).toThrow(InvalidUpdateError);
    expect(session.accepting).toBe(false);
    await Promise.resolve(); // the registry tells members after a microtask
    expect(session.state).toBe('opening');
    expect(session.room).toBeNull();
    session.enqueue(frame(4)); // arrives while reopening
    await flush();

    expect(host.events).toEqual(['opened(false)', 'opened(true)', 'dispatch(4)']);
    expect(session.state).toBe('open');
    const newRoom = session.room!;
    expect(newRoom).not.toBe(oldRoom);
    expect(newRoom.members.has(session)).toBe(true);
    expect(oldRoom.members.has(session)).toBe(false);
    expect(textOf(newRoom.doc)).toBe('saved');
    expect(await env.rooms.find(NAME)).toBe(newRoom);
    expect(host.closed).toBe(0);
  });

  it('does not reopen when its socket is already closed', async () => {
    const { host, session } = setup();
    session.open('token');
    await flush();

    host.socket.close(1000, 'gone');
    expect(() => session.applyUpdate(UNINTEGRABLE_UPDATE, null)).toThrow(InvalidUpdateError);
    await flush();

    expect(host.events).toEqual(['opened(false)']);
    expect(session.room).toBeNull();
  });
});
