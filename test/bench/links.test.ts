/** The raw-socket WebSocket link the loader's clients use: framing across arbitrary read boundaries. */
import { describe, expect, it } from 'vitest';
import net from 'node:net';
// @ts-ignore -- compiled output, built by `npm test` before vitest runs
import { openRawLink } from '../../dist/bench/links.js';

function serverFrame(payload: Buffer, opcode = 2): Buffer {
  const len = payload.length;
  let head: Buffer;
  if (len < 126) head = Buffer.from([0x80 | opcode, len]);
  else if (len < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

/** Unmasks the client frames in `data` (whole frames only); returns opcode and payload of each. */
function clientFrames(data: Buffer): Array<{ opcode: number; payload: Buffer }> {
  const out: Array<{ opcode: number; payload: Buffer }> = [];
  let pos = 0;
  while (pos + 2 <= data.length) {
    let len = data[pos + 1]! & 0x7f;
    let hdr = 2;
    if (len === 126) {
      len = data.readUInt16BE(pos + 2);
      hdr = 4;
    }
    const mask = data.subarray(pos + hdr, pos + hdr + 4);
    const payload = Buffer.from(data.subarray(pos + hdr + 4, pos + hdr + 4 + len)).map((b, i) => b ^ mask[i & 3]!);
    out.push({ opcode: data[pos]! & 0x0f, payload: Buffer.from(payload) });
    pos += hdr + 4 + len;
  }
  return out;
}

/** Serves `frames` (after a ping) in random slices of up to 3,000 bytes; collects what the client sends. */
async function dribblingServer(frames: Buffer[]): Promise<{ port: number; fromClient: () => Buffer; close: () => void }> {
  let fromClient = Buffer.alloc(0);
  const server = net.createServer((s) => {
    let upgraded = false;
    s.on('data', (d: Buffer) => {
      if (upgraded) {
        fromClient = Buffer.concat([fromClient, d]);
        return;
      }
      upgraded = true;
      const all = Buffer.concat([
        Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'),
        serverFrame(Buffer.from('hi'), 0x9),
        ...frames.map((f) => serverFrame(f)),
      ]);
      let pos = 0;
      const dribble = (): void => {
        if (pos >= all.length) return;
        const n = 1 + Math.floor(Math.random() * 3000);
        s.write(all.subarray(pos, pos + n));
        pos += n;
        setImmediate(dribble);
      };
      dribble();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, fromClient: () => fromClient, close: () => server.close() };
}

describe('bench raw link', () => {
  it('delivers frames split and merged at random read boundaries, large ones whole, and answers pings', async () => {
    const frames = [Buffer.alloc(5, 1), Buffer.alloc(200, 2), Buffer.alloc(70_000, 3), Buffer.alloc(1, 4), Buffer.alloc(300_000, 5)];
    const { port, fromClient, close } = await dribblingServer(frames);
    const got: Buffer[] = [];
    const link = openRawLink(`ws://127.0.0.1:${port}/`, {
      onOpen: () => link.send(new Uint8Array([7, 8, 9])),
      onMessage: (d: Buffer) => got.push(Buffer.from(d)),
      onClose: () => {},
      onError: (e: Error) => {
        throw e;
      },
    });
    const deadline = Date.now() + 5000;
    while (got.length < frames.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    link.close();
    close();
    expect(got.map((g) => g.length)).toEqual(frames.map((f) => f.length));
    got.forEach((g, i) => expect(g.equals(frames[i]!)).toBe(true));
    const sent = clientFrames(fromClient());
    expect(sent.find((f) => f.opcode === 0x2)?.payload).toEqual(Buffer.from([7, 8, 9]));
    expect(sent.find((f) => f.opcode === 0xa)?.payload.toString()).toBe('hi');
  });

  it('with keepFramesUpTo, passes over longer frames and reports their length and first bytes only', async () => {
    const pattern = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));
    const frames = [pattern(300, 1), pattern(5_000, 2), pattern(20, 3), pattern(1_000_000, 4), pattern(1_001, 5), pattern(1_000, 6)];
    const { port, close } = await dribblingServer(frames);
    const got: Array<{ data: Buffer; length: number }> = [];
    const link = openRawLink(
      `ws://127.0.0.1:${port}/`,
      {
        onOpen: () => {},
        onMessage: (d: Buffer, length: number) => got.push({ data: Buffer.from(d), length }),
        onClose: () => {},
        onError: (e: Error) => {
          throw e;
        },
      },
      { keepFramesUpTo: 1_000 },
    );
    const deadline = Date.now() + 10_000;
    while (got.length < frames.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    link.close();
    close();
    expect(got.map((g) => g.length)).toEqual(frames.map((f) => f.length));
    got.forEach((g, i) => {
      const frame = frames[i]!;
      // Up to 1,000 bytes: whole; longer: the first 256 bytes.
      expect(g.data.equals(frame.length <= 1_000 ? frame : frame.subarray(0, 256)), `frame ${i}`).toBe(true);
    });
  });
});
