import { describe, expect, it } from 'vitest';
import { concatAwarenessUpdates, decodeAwarenessUpdate, encodeAwarenessUpdate } from '../../server/codec/awareness-codec.js';
import { Counters } from '../../server/metrics.js';
import { LocalFanOut, MAX_PENDING_AWARENESS_BYTES } from '../../server/rooms/local-fan-out.js';
import { fakeMember, Hub, ManualClock } from '../helpers/rooms.js';

const NAME = 'paper';
const WINDOW_MS = 40;
const state = (text: string) => new TextEncoder().encode(JSON.stringify({ user: text }));
const awareness = (clientId: number, clock: number, text: string | null) =>
  encodeAwarenessUpdate([{ clientId, clock, state: text === null ? null : state(text) }]);

function setup(windowMs: number | null = WINDOW_MS) {
  const hub = new Hub();
  const clock = new ManualClock();
  const fanOut = new LocalFanOut(NAME, hub, new Counters(), windowMs === null ? null : { ms: windowMs, clock });
  const hocuspocus = fakeMember(hub.socket(), NAME);
  const ywebsocket = fakeMember(hub.socket(), null);
  fanOut.join(hocuspocus);
  fanOut.join(ywebsocket);
  return { hub, clock, fanOut, hocuspocus, ywebsocket };
}

/** The awareness entries a y-websocket member received, frame by frame. */
const receivedEntries = (frames: Uint8Array[]) =>
  frames.map((frame) =>
    decodeAwarenessUpdate(frame.subarray(2)).map((e) => [e.clientId, e.clock, e.state && new TextDecoder().decode(e.state)]),
  );

describe('concatAwarenessUpdates', () => {
  it('gives one update whose entries are those of the parts, in order', () => {
    const parts = [awareness(1, 1, 'a'), encodeAwarenessUpdate([]), awareness(2, 5, null), awareness(1, 2, 'b')];
    expect(decodeAwarenessUpdate(concatAwarenessUpdates(parts))).toEqual([
      { clientId: 1, clock: 1, state: state('a') },
      { clientId: 2, clock: 5, state: null },
      { clientId: 1, clock: 2, state: state('b') },
    ]);
  });

  it('returns a single part as is', () => {
    const one = awareness(3, 1, 'x');
    expect(concatAwarenessUpdates([one])).toBe(one);
  });
});

describe('LocalFanOut awareness window', () => {
  it('sends a message after a quiet window at once, and the ones within a window together at its end', () => {
    const { hub, clock, fanOut, ywebsocket, hocuspocus } = setup();
    fanOut.awareness(awareness(1, 1, 'a'), null, null);
    expect(hub.published).toHaveLength(2); // at once: one publish per audience

    clock.advance(10);
    fanOut.awareness(awareness(2, 1, 'b'), null, null);
    clock.advance(10);
    fanOut.awareness(awareness(1, 2, 'c'), null, null);
    expect(hub.published).toHaveLength(2);
    expect(clock.pendingTimers).toBe(1);

    clock.advance(19); // 39 ms after the first send: still within its window
    expect(hub.published).toHaveLength(2);
    clock.advance(1);
    expect(hub.published).toHaveLength(4);
    expect(receivedEntries(ywebsocket.socket.frames)).toEqual([
      [[1, 1, '{"user":"a"}']],
      [
        [2, 1, '{"user":"b"}'],
        [1, 2, '{"user":"c"}'],
      ],
    ]);
    // The Hocuspocus audience gets the same update under its address.
    expect(hocuspocus.socket.frames).toHaveLength(2);

    // A window with nothing in it: the next message goes at once again.
    clock.advance(WINDOW_MS);
    fanOut.awareness(awareness(3, 1, 'd'), null, null);
    expect(hub.published).toHaveLength(6);
    expect(clock.pendingTimers).toBe(0);
  });

  it('keeps a copy of what waits: the transport may reuse the buffer of the message it came in', () => {
    const { clock, fanOut, ywebsocket } = setup();
    fanOut.awareness(awareness(1, 1, 'a'), null, null);
    const buffer = awareness(2, 1, 'b');
    fanOut.awareness(buffer, null, null);
    buffer.fill(0);
    clock.advance(WINDOW_MS);
    expect(receivedEntries(ywebsocket.socket.frames)[1]).toEqual([[2, 1, '{"user":"b"}']]);
  });

  it(`flushes at once when ${MAX_PENDING_AWARENESS_BYTES} bytes wait`, () => {
    const { hub, clock, fanOut } = setup();
    fanOut.awareness(awareness(1, 1, 'a'), null, null);
    const big = awareness(2, 1, 'x'.repeat(16 * 1024));
    let sent = 0;
    while (hub.published.length === 2) {
      fanOut.awareness(big, null, null);
      sent++;
    }
    expect(sent).toBe(Math.ceil(MAX_PENDING_AWARENESS_BYTES / big.length));
    expect(clock.pendingTimers).toBe(0);
  });

  it('flushAwareness sends what waits now; dispose drops it and its timer', () => {
    const { hub, clock, fanOut } = setup();
    fanOut.awareness(awareness(1, 1, 'a'), null, null);
    fanOut.awareness(awareness(2, 1, 'b'), null, null);
    fanOut.flushAwareness();
    expect(hub.published).toHaveLength(4);
    expect(clock.pendingTimers).toBe(0);

    fanOut.awareness(awareness(3, 1, 'c'), null, null);
    expect(clock.pendingTimers).toBe(1);
    fanOut.dispose();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(WINDOW_MS);
    expect(hub.published).toHaveLength(4);
  });

  it("without a window every message goes at once, the sender's frame reused for its audience", () => {
    const { hub, fanOut, ywebsocket } = setup(null);
    const frames = [1, 2, 3].map((i) => {
      const update = awareness(i, 1, 'a');
      const frame = new Uint8Array([1, update.length, ...update]);
      fanOut.awareness(update, null, frame);
      return frame;
    });
    expect(hub.published).toHaveLength(6);
    expect(ywebsocket.socket.frames).toEqual(frames);
    expect(ywebsocket.socket.frames[0]).toBe(frames[0]);
  });
});
