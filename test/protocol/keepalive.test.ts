import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../server/persistence/memory-storage.js';
import { PING_FRAME } from '../../server/codec/frames.js';
import type { WireProtocol } from '../../server/protocol/close-codes.js';
import { HocuspocusConnection } from '../../server/protocol/hocuspocus/hocuspocus-connection.js';
import { Keepalive, type Watched } from '../../server/protocol/keepalive.js';
import { YWebsocketConnection } from '../../server/protocol/y-websocket/y-websocket-connection.js';
import { CloseCode } from '../../server/transport/transport.js';
import { authFrame } from '../helpers/frames.js';
import { flush, Hub, ManualClock, protocolEnv, type FakeSocket } from '../helpers/rooms.js';

const GROUPS = 16;
const IDLE_MS = 60_000;
// Round = min(15 s, idle / 4) = 15 s, split into 16 ticks.
const TICK_MS = 15_000 / GROUPS;
const IDLE_TICKS = Math.ceil(IDLE_MS / TICK_MS); // 64

function setup(idleMs = IDLE_MS) {
  const hub = new Hub();
  const clock = new ManualClock();
  const keepalive = new Keepalive(hub, idleMs, clock);
  const watched = (protocol: WireProtocol = 'hocuspocus'): Watched & { socket: FakeSocket } => {
    const connection = { socket: hub.socket(), protocol, lastSeen: -1, keepaliveGroup: -1, sessions: () => [] };
    keepalive.watch(connection);
    return connection;
  };
  const ticks = (n: number) => {
    for (let i = 0; i < n; i++) clock.fire();
  };
  return { hub, clock, keepalive, watched, ticks };
}

describe('Keepalive timer', () => {
  it('registers one repeating timer with the clock and cancels it on stop', () => {
    const { clock, keepalive } = setup();
    expect(clock.timers).toHaveLength(1);
    expect(clock.timers[0]!.ms).toBe(TICK_MS);
    expect(clock.timers[0]!.cancelled).toBe(false);

    keepalive.stop();

    expect(clock.timers[0]!.cancelled).toBe(true);
  });

  it('rounds scale with a short idle timeout: a quarter of it, split into 16 ticks', () => {
    const { clock } = setup(2_000);
    expect(clock.timers[0]!.ms).toBe(500 / GROUPS);
  });
});

describe('Keepalive pings', () => {
  it('pings one group per tick with a single publish of the bare Ping frame', () => {
    const { hub, ticks, keepalive } = setup();
    for (let i = 0; i < 40; i++)
      keepalive.watch({ socket: hub.socket(), protocol: 'hocuspocus' as const, lastSeen: 0, keepaliveGroup: 0, sessions: () => [] });

    ticks(1);
    expect(hub.published).toEqual([{ topic: 'ping:1', frame: PING_FRAME }]);
    expect([...PING_FRAME]).toEqual([9]);

    ticks(GROUPS - 1);
    expect(hub.published).toHaveLength(GROUPS);
    // One round: every group's topic exactly once, in order.
    expect(hub.published.map((p) => p.topic)).toEqual(Array.from({ length: GROUPS }, (_, i) => `ping:${(i + 1) % GROUPS}`));
  });

  it("spreads connections over the groups; each one's ping topic is its group's", () => {
    const { ticks, watched, keepalive } = setup();
    const connections = Array.from({ length: GROUPS + 2 }, () => watched());

    expect(connections.map((c) => c.keepaliveGroup)).toEqual([...Array.from({ length: GROUPS }, (_, i) => i), 0, 1]);
    // A v4 provider subscribes to its topic; it receives exactly one ping per round.
    for (const connection of connections) connection.socket.subscribe(keepalive.pingTopic(connection));
    ticks(GROUPS);
    for (const connection of connections) expect(connection.socket.frames).toEqual([PING_FRAME]);
  });
});

describe('Keepalive idle close', () => {
  it('closes a connection with 4408 once nothing arrived for longer than the idle timeout, never before', () => {
    const { ticks, watched, keepalive, clock } = setup();
    const start = clock.now();
    const connection = watched(); // group 0, lastSeen = tick 0

    // Through the idle timeout: still open.
    ticks(IDLE_TICKS);
    expect(clock.now() - start).toBe(IDLE_MS);
    expect(connection.socket.closed).toBe(false);

    // Its group's next sweep after the timeout closes it: within one round.
    let closedAt = -1;
    for (let i = 0; i < GROUPS && closedAt < 0; i++) {
      ticks(1);
      if (connection.socket.closed) closedAt = keepalive.tick;
    }
    expect(closedAt).toBe(IDLE_TICKS + GROUPS);
    expect(connection.socket.closes).toEqual([{ code: CloseCode.ConnectionTimeout, reason: 'Connection Timeout' }]);
    expect(CloseCode.ConnectionTimeout).toBe(4408);
  });

  it('closes an idle y-websocket connection with 4508, a code y-websocket 3 clients retry (they stop for good on 44xx)', () => {
    const { ticks, watched } = setup();
    const hocuspocus = watched('hocuspocus');
    const yWebsocket = watched('y-websocket');

    ticks(IDLE_TICKS + GROUPS);

    expect(hocuspocus.socket.closes).toEqual([{ code: 4408, reason: 'Connection Timeout' }]);
    expect(yWebsocket.socket.closes).toEqual([{ code: 4508, reason: 'Connection Timeout' }]);
  });

  it('keeps a connection that sent something (lastSeen = keepalive.tick) and closes its idle neighbours', () => {
    const { ticks, keepalive, hub } = setup();
    const active = { socket: hub.socket(), protocol: 'hocuspocus' as const, lastSeen: 0, keepaliveGroup: 0, sessions: () => [] };
    const idle = { socket: hub.socket(), protocol: 'hocuspocus' as const, lastSeen: 0, keepaliveGroup: 0, sessions: () => [] };
    keepalive.watch(active);
    for (let i = 1; i < GROUPS; i++)
      keepalive.watch({ socket: hub.socket(), protocol: 'hocuspocus' as const, lastSeen: 0, keepaliveGroup: 0, sessions: () => [] });
    keepalive.watch(idle); // group 0 as well
    expect(active.keepaliveGroup).toBe(0);
    expect(idle.keepaliveGroup).toBe(0);

    // A message every 20 ticks, as a connection's onMessage does.
    for (let t = 0; t < 3 * IDLE_TICKS; t++) {
      ticks(1);
      if (keepalive.tick % 20 === 0) active.lastSeen = keepalive.tick;
    }

    expect(active.socket.closed).toBe(false);
    expect(idle.socket.closed).toBe(true);
  });

  it('an active connection that then goes quiet is closed an idle timeout after its last frame', () => {
    const { ticks, keepalive, watched } = setup();
    const connection = watched(); // group 0
    ticks(60);
    connection.lastSeen = keepalive.tick; // a frame at tick 60

    ticks(IDLE_TICKS); // tick 124: exactly the idle timeout after it
    expect(connection.socket.closed).toBe(false);
    while (!connection.socket.closed) ticks(1);
    expect(keepalive.tick).toBe(128); // first group-0 sweep with tick - 60 > 64
  });

  it('never closes an unwatched connection', () => {
    const { ticks, keepalive, watched } = setup();
    const connection = watched();
    keepalive.unwatch(connection);

    ticks(10 * IDLE_TICKS);

    expect(connection.socket.closed).toBe(false);
    expect([...keepalive.connections()]).toEqual([]);
  });

  it('a HocuspocusConnection records lastSeen = keepalive.tick on every frame (a Pong included) and stays open', async () => {
    const env = protocolEnv(new MemoryStorage());
    const socket = env.hub.socket();
    const connection = new HocuspocusConnection(socket, env.context);
    expect([...env.keepalive.connections()]).toContain(connection);
    connection.onMessage(authFrame('keepalive-doc', 'token', '4'), true);
    await flush();
    expect(socket.subscriptions.has(env.keepalive.pingTopic(connection))).toBe(true);

    for (let i = 0; i < 3 * IDLE_TICKS; i++) {
      env.clock.fire();
      if (env.keepalive.tick % 32 === 0) {
        connection.onMessage(new Uint8Array([10]), true); // bare Pong
        expect(connection.lastSeen).toBe(env.keepalive.tick);
      }
    }
    expect(socket.closed).toBe(false);

    // Silent from here on: closed with 4408 within idle timeout + one round.
    for (let i = 0; i < IDLE_TICKS + GROUPS + 1; i++) env.clock.fire();
    expect(socket.closes).toEqual([{ code: 4408, reason: 'Connection Timeout' }]);
    connection.onClose();
    expect([...env.keepalive.connections()]).not.toContain(connection);
  });

  it('a silent YWebsocketConnection is closed with 4508 (not 4408, on which y-websocket 3 gives up)', async () => {
    const env = protocolEnv(new MemoryStorage());
    const socket = env.hub.socket();
    const connection = new YWebsocketConnection(socket, 'keepalive-y-doc', '', env.context);
    await flush();
    expect([...env.keepalive.connections()]).toContain(connection);

    for (let i = 0; i < IDLE_TICKS + GROUPS + 1; i++) env.clock.fire();
    expect(socket.closes).toEqual([{ code: 4508, reason: 'Connection Timeout' }]);
    connection.onClose();
  });
});
