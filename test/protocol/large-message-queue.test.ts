import { describe, expect, it } from 'vitest';
import { LargeMessageQueue, type QueuedConnection } from '../../server/protocol/large-message-queue.js';

const LIMITS = { minBytes: 100, maxWaitingBytes: 1_000 };
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

class Recorder implements QueuedConnection {
  constructor(
    readonly name: string,
    readonly log: string[],
  ) {}
  onMessage(data: Uint8Array): void {
    this.log.push(`${this.name}:${data.length}:${data[0]}`);
  }
}

function setup() {
  const log: string[] = [];
  const overflowed: string[] = [];
  const failures: unknown[] = [];
  const queue = new LargeMessageQueue<Recorder>(
    (c) => overflowed.push(c.name),
    (e) => failures.push(e),
    LIMITS,
  );
  return { log, overflowed, failures, queue, a: new Recorder('a', log), b: new Recorder('b', log), c: new Recorder('c', log) };
}

const message = (bytes: number, first = 1) => new Uint8Array(bytes).fill(first);

describe('LargeMessageQueue', () => {
  it('handles small messages at once and one large message per turn, small ones of others in between', async () => {
    const { log, queue, a, b, c } = setup();
    queue.offer(a, message(200, 1), true);
    queue.offer(b, message(200, 2), true);
    queue.offer(c, message(10, 3), true);
    expect(log).toEqual(['c:10:3']);
    await turn();
    expect(log).toEqual(['c:10:3', 'a:200:1']);
    queue.offer(c, message(10, 4), true);
    expect(log.at(-1)).toBe('c:10:4');
    await turn();
    expect(log.at(-1)).toBe('b:200:2');
    expect(queue.size).toBe(0);
  });

  it("keeps each connection's order: its small messages wait behind its large one", async () => {
    const { log, queue, a } = setup();
    queue.offer(a, message(200, 1), true);
    queue.offer(a, message(10, 2), true);
    queue.offer(a, message(10, 3), true);
    expect(log).toEqual([]);
    await turn();
    expect(log).toEqual(['a:200:1']);
    await turn();
    expect(log).toEqual(['a:200:1', 'a:10:2', 'a:10:3']);
    queue.offer(a, message(10, 4), true);
    expect(log.at(-1)).toBe('a:10:4');
  });

  it('copies what waits (the transport reuses its buffer)', async () => {
    const { log, queue, a } = setup();
    const buffer = message(200, 7);
    queue.offer(a, buffer, true);
    buffer.fill(0);
    await turn();
    expect(log).toEqual(['a:200:7']);
  });

  it('refuses past maxWaitingBytes (overflow) and drops what that connection had waiting', async () => {
    const { log, overflowed, queue, a, b } = setup();
    for (let i = 0; i < 4; i++) queue.offer(a, message(200, i), true);
    queue.offer(b, message(200, 9), true);
    expect(overflowed).toEqual([]);
    queue.offer(a, message(200, 5), true); // 1,200 > 1,000
    expect(overflowed).toEqual(['a']);
    expect(queue.size).toBe(1);
    await turn();
    expect(log).toEqual(['b:200:9']);
  });

  it('forget drops a closed connection’s messages; a throwing handler does not stop the others', async () => {
    const { log, failures, queue, a, b } = setup();
    const thrower: Recorder = Object.assign(new Recorder('t', log), {
      onMessage() {
        throw new Error('bug');
      },
    });
    // Small: at once, in the transport's own call, which sees the throw as before.
    expect(() => queue.offer(thrower, message(10, 1), false)).toThrow('bug');
    expect(failures).toEqual([]);
    queue.offer(a, message(200, 1), true);
    queue.offer(b, message(200, 2), true);
    queue.forget(a);
    const t2 = Object.assign(new Recorder('t2', log), {
      onMessage() {
        throw new Error('bug');
      },
    });
    queue.offer(t2, message(200, 3), true);
    await turn();
    expect(log).toEqual(['b:200:2']);
    await turn();
    expect(failures).toHaveLength(1);
    queue.close();
  });
});
