import { describe, expect, it } from 'vitest';
import { LargeFrameGate, type LargeFrameLimits } from '../../server/protocol/large-frame-gate.js';
import { Hub, ManualClock } from '../helpers/rooms.js';

const LIMITS: LargeFrameLimits = { minBytes: 100, bytesInFlight: 250, maxWaiting: 3, pollMs: 10 };
const frame = (bytes: number, fill = 1) => new Uint8Array(bytes).fill(fill);

function setup() {
  const hub = new Hub();
  const clock = new ManualClock();
  const gate = new LargeFrameGate(clock, LIMITS);
  return { hub, clock, gate };
}

describe('LargeFrameGate', () => {
  it('sends small frames at once and large ones while the bytes in flight allow', () => {
    const { hub, clock, gate } = setup();
    const [a, b, c, d] = [hub.socket(), hub.socket(), hub.socket(), hub.socket()];
    gate.send(a, frame(10));
    gate.send(a, frame(120));
    gate.send(b, frame(120));
    gate.send(c, frame(120)); // 360 > 250: waits
    gate.send(d, frame(50)); // small: never waits
    expect([a.sent.length, b.sent.length, c.sent.length, d.sent.length]).toEqual([2, 1, 0, 1]);
    expect(gate.stats).toEqual({ inFlight: 2, inFlightBytes: 240, waiting: 1 });

    // Still in the kernel's way: nothing moves.
    a.bufferedBytes = 100_000;
    b.bufferedBytes = 100_000;
    clock.advance(50);
    expect(c.sent).toHaveLength(0);

    // One written out: the waiting frame goes.
    a.bufferedBytes = 0;
    clock.advance(10);
    expect(c.sent).toHaveLength(1);
    expect(gate.stats).toEqual({ inFlight: 2, inFlightBytes: 240, waiting: 0 });

    c.bufferedBytes = 100_000;
    b.bufferedBytes = 0;
    clock.advance(10);
    expect(gate.stats.inFlight).toBe(1);
    c.bufferedBytes = 0;
    clock.advance(10);
    expect(gate.stats).toEqual({ inFlight: 0, inFlightBytes: 0, waiting: 0 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('lets one frame through however large, and keeps arrival order behind a waiting one', () => {
    const { hub, clock, gate } = setup();
    const [a, b, c] = [hub.socket(), hub.socket(), hub.socket()];
    a.bufferedBytes = 1_000_000;
    gate.send(a, frame(1_000));
    expect(a.sent).toHaveLength(1);
    gate.send(b, frame(200));
    gate.send(c, frame(100)); // would fit beside b, but b came first
    expect(gate.stats.waiting).toBe(2);
    a.bufferedBytes = 0;
    clock.advance(10);
    expect(b.sent).toHaveLength(1);
    expect(c.sent).toHaveLength(0); // 200 + 100 > 250
  });

  it("drops a closed socket's waiting frame and frees a closed socket's bytes", () => {
    const { hub, clock, gate } = setup();
    const [a, b, c] = [hub.socket(), hub.socket(), hub.socket()];
    a.bufferedBytes = 1_000_000;
    gate.send(a, frame(200));
    gate.send(b, frame(200));
    gate.send(c, frame(200));
    b.close(1000, 'gone');
    a.close(1000, 'gone');
    clock.advance(10);
    expect(b.sent).toHaveLength(0);
    expect(c.sent).toHaveLength(1);
  });

  it('sends at once when maxWaiting frames already wait (the transport backpressure limit then applies)', () => {
    const { hub, gate } = setup();
    const sockets = [hub.socket(), hub.socket(), hub.socket(), hub.socket(), hub.socket()];
    sockets[0]!.bufferedBytes = 1_000_000;
    for (const socket of sockets) gate.send(socket, frame(200));
    expect(sockets.map((s) => s.sent.length)).toEqual([1, 0, 0, 0, 1]);
  });

  it('close stops polling and drops what waits', () => {
    const { hub, clock, gate } = setup();
    const [a, b] = [hub.socket(), hub.socket()];
    a.bufferedBytes = 1_000_000;
    gate.send(a, frame(200));
    gate.send(b, frame(200));
    gate.close();
    expect(clock.pendingTimers).toBe(0);
    a.bufferedBytes = 0;
    clock.advance(100);
    expect(b.sent).toHaveLength(0);
  });

  it('calls onSent when the frame is handed to the socket', () => {
    const { hub, clock, gate } = setup();
    const [a, b] = [hub.socket(), hub.socket()];
    const sent: number[] = [];
    a.bufferedBytes = 1_000_000;
    gate.send(a, frame(200), (f) => sent.push(f.length));
    gate.send(b, frame(201), (f) => sent.push(f.length));
    expect(sent).toEqual([200]);
    a.bufferedBytes = 0;
    clock.advance(10);
    expect(sent).toEqual([200, 201]);
  });
});
