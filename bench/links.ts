/**
 * Socket links for the simulated clients. Two implementations behind one small interface:
 *
 * - `ws`: the `ws` library, used by writers and probes (few sockets, full WebSocket semantics).
 * - `raw`: a minimal RFC 6455 client on a plain TCP socket for the bulk readers. It parses frame
 *   headers in place on the received chunk (no per-message stream machinery, no copies), which
 *   makes a received frame several times cheaper than with `ws` — the readers are most of the
 *   loader's work, and a loader that saturates first measures itself, not the server.
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';

export interface LinkHandlers {
  onOpen(): void;
  onMessage(data: Buffer): void;
  onClose(): void;
  onError(err: Error): void;
}

export interface Link {
  send(frame: Uint8Array): void;
  close(): void;
}

export function openWsLink(url: string, h: LinkHandlers): Link {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.binaryType = 'nodebuffer';
  ws.on('open', () => h.onOpen());
  ws.on('message', (data: Buffer) => h.onMessage(data));
  ws.on('error', (err) => h.onError(err));
  ws.on('close', () => h.onClose());
  return {
    send: (frame) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(frame);
    },
    close: () => ws.terminate(),
  };
}

const OP_CONT = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;

/** A masked client frame (RFC 6455 §5.3: clients must mask). */
function clientFrame(opcode: number, payload: Uint8Array): Buffer {
  const len = payload.length;
  const headerLen = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(headerLen + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = randomBytes(4);
  mask.copy(out, headerLen);
  const body = headerLen + 4;
  for (let i = 0; i < len; i++) out[body + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

export function openRawLink(url: string, h: LinkHandlers): Link {
  const u = new URL(url);
  if (u.protocol !== 'ws:') throw new Error(`raw link supports ws:// only, got ${u.protocol}`);
  const port = Number(u.port || 80);
  const sock: Socket = connect({ host: u.hostname, port, noDelay: true });
  let upgraded = false;
  let closed = false;
  let pending: Buffer | null = null;
  // Fragmented messages are reassembled (rare: servers send small frames whole).
  let fragments: Buffer[] | null = null;

  const finish = (): void => {
    if (closed) return;
    closed = true;
    sock.destroy();
    h.onClose();
  };

  sock.on('connect', () => {
    const key = randomBytes(16).toString('base64');
    sock.write(
      `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
  sock.on('error', (err) => {
    if (!upgraded) h.onError(err);
    finish();
  });
  sock.on('close', finish);
  sock.on('data', (chunk: Buffer) => {
    let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = null;
    if (!upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        pending = buf;
        return;
      }
      const status = buf.toString('latin1', 0, buf.indexOf('\r\n'));
      if (!/^HTTP\/1\.1 101/.test(status)) {
        h.onError(new Error(`upgrade refused: ${status}`));
        finish();
        return;
      }
      upgraded = true;
      h.onOpen();
      buf = buf.subarray(end + 4);
    }
    let pos = 0;
    const n = buf.length;
    while (n - pos >= 2) {
      const b0 = buf[pos]!;
      const b1 = buf[pos + 1]!;
      let len = b1 & 0x7f;
      let hdr = 2;
      if (len === 126) {
        if (n - pos < 4) break;
        len = buf.readUInt16BE(pos + 2);
        hdr = 4;
      } else if (len === 127) {
        if (n - pos < 10) break;
        len = Number(buf.readBigUInt64BE(pos + 2));
        hdr = 10;
      }
      if (b1 & 0x80) hdr += 4; // servers never mask, but skip a key if one is there
      if (n - pos < hdr + len) break;
      const payload = buf.subarray(pos + hdr, pos + hdr + len);
      pos += hdr + len;
      const opcode = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      if (opcode === OP_BINARY || opcode === OP_TEXT) {
        if (fin) h.onMessage(payload);
        else fragments = [Buffer.from(payload)];
      } else if (opcode === OP_CONT && fragments) {
        fragments.push(Buffer.from(payload));
        if (fin) {
          const whole = Buffer.concat(fragments);
          fragments = null;
          h.onMessage(whole);
        }
      } else if (opcode === OP_PING) {
        sock.write(clientFrame(0xa, payload));
      } else if (opcode === OP_CLOSE) {
        finish();
        return;
      }
    }
    // Keep an incomplete frame for the next chunk (copy: the chunk's memory is reused).
    if (pos < n) pending = Buffer.from(buf.subarray(pos));
  });

  return {
    send: (frame) => {
      if (upgraded && !closed) sock.write(clientFrame(OP_BINARY, frame));
    },
    close: finish,
  };
}
