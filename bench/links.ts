/**
 * Socket links for the simulated clients. Two implementations behind one small interface:
 *
 * - `raw`: a minimal RFC 6455 client on a plain TCP socket, used by every client on ws:// URLs.
 *   It parses frame headers in place on the received chunk (no per-message stream machinery, no
 *   copies) and builds each outgoing frame with one allocation, which makes a frame several times
 *   cheaper than with `ws`: a loader that saturates first measures itself, not the server.
 * - `ws`: the `ws` library, for wss:// URLs and `--ws-readers` (the A/B comparison).
 *
 * send() copies the frame before it returns (both links), so callers may pass a scratch buffer.
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';

export interface LinkHandlers {
  onOpen(): void;
  /**
   * One whole message of `length` bytes. `data` may be a view of a receive buffer that is
   * reused once this call returns (raw link): copy what must outlive the call. With
   * RawLinkOptions.keepFramesUpTo, `data` of a longer message holds only its first bytes.
   */
  onMessage(data: Buffer, length: number): void;
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
  ws.on('message', (data: Buffer) => h.onMessage(data, data.length));
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

/**
 * Masking keys come from a pool of random bytes refilled in bulk: a crypto call per frame
 * (as `ws` and the first raw link did) was a visible cost at tens of thousands of frames/s.
 * The keys stay random; the server unmasks every frame the same way whatever the key.
 */
const MASK_POOL_BYTES = 64 * 1024;
let maskPool = randomBytes(MASK_POOL_BYTES);
let maskPos = 0;

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
  if (maskPos + 4 > MASK_POOL_BYTES) {
    maskPool = randomBytes(MASK_POOL_BYTES);
    maskPos = 0;
  }
  const m0 = maskPool[maskPos]!;
  const m1 = maskPool[maskPos + 1]!;
  const m2 = maskPool[maskPos + 2]!;
  const m3 = maskPool[maskPos + 3]!;
  maskPos += 4;
  out[headerLen] = m0;
  out[headerLen + 1] = m1;
  out[headerLen + 2] = m2;
  out[headerLen + 3] = m3;
  const body = headerLen + 4;
  let i = 0;
  for (; i + 3 < len; i += 4) {
    out[body + i] = payload[i]! ^ m0;
    out[body + i + 1] = payload[i + 1]! ^ m1;
    out[body + i + 2] = payload[i + 2]! ^ m2;
    out[body + i + 3] = payload[i + 3]! ^ m3;
  }
  for (; i < len; i++) out[body + i] = payload[i]! ^ maskPool[maskPos - 4 + (i & 3)]!;
  return out;
}

/**
 * One receive buffer for every raw link of this process (`onread`): a read fills it and its
 * frames are handled before the next read can start, so sharing it is safe, and it saves the
 * buffer allocation, the Readable stream machinery and the 'data' event per read.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export interface RawLinkOptions {
  /**
   * A message longer than this is not assembled: its bytes are counted as they arrive and
   * only its first PREFIX_BYTES reach onMessage, when its last byte is in. A join storm's
   * 150 clients of a 20 MB document would otherwise hold 3 GB of copies in the loader.
   */
  keepFramesUpTo?: number;
}

/** What onMessage gets of a message longer than keepFramesUpTo: enough for any frame header. */
export const PREFIX_BYTES = 256;

export function openRawLink(url: string, h: LinkHandlers, options: RawLinkOptions = {}): Link {
  const keepUpTo = options.keepFramesUpTo ?? Infinity;
  const u = new URL(url);
  if (u.protocol !== 'ws:') throw new Error(`raw link supports ws:// only, got ${u.protocol}`);
  const port = Number(u.port || 80);
  const sock: Socket = connect({
    host: u.hostname,
    port,
    noDelay: true,
    onread: {
      buffer: READ_BUFFER,
      callback: (nread: number) => {
        onData(READ_BUFFER, nread);
        return true;
      },
    },
  });
  let upgraded = false;
  let closed = false;
  // Bytes of an incomplete frame (or HTTP response), kept until enough chunks have arrived:
  // a large SyncStep2 (cold-load) arrives in many chunks and is concatenated once, not per chunk.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** Bytes needed before parsing can go on (0 = unknown, e.g. an incomplete frame header). */
  let pendingNeed = 0;
  // Fragmented messages are reassembled (rare: servers send small frames whole).
  let fragments: Buffer[] | null = null;
  // A message longer than keepUpTo being passed over: its payload bytes still to come, its
  // first bytes, its length and first header byte.
  let skipRemaining = 0;
  let skipPrefix: Buffer[] = [];
  let skipPrefixBytes = 0;
  let skipLength = 0;
  let skipB0 = 0;

  /** Takes up to `available` bytes of the skipped message from `buf` at `pos`; returns how many. */
  const skip = (buf: Buffer, pos: number, available: number): number => {
    const take = Math.min(available, skipRemaining);
    if (skipPrefixBytes < PREFIX_BYTES && take > 0) {
      const keep = Math.min(take, PREFIX_BYTES - skipPrefixBytes);
      skipPrefix.push(Buffer.from(buf.subarray(pos, pos + keep)));
      skipPrefixBytes += keep;
    }
    skipRemaining -= take;
    if (skipRemaining === 0) {
      const prefix = Buffer.concat(skipPrefix, skipPrefixBytes);
      skipPrefix = [];
      skipPrefixBytes = 0;
      const opcode = skipB0 & 0x0f;
      // A fragmented message this long is not expected from a server: passed over unseen.
      if ((opcode === OP_BINARY || opcode === OP_TEXT) && (skipB0 & 0x80) !== 0) h.onMessage(prefix, skipLength);
    }
    return take;
  };

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
  // The first `length` bytes of `chunk` (READ_BUFFER, reused after this call: whatever is
  // kept is copied) are new data.
  const onData = (chunk: Buffer, length: number): void => {
    if (closed) return;
    let buf = chunk;
    let n = length;
    let pos = 0;
    if (skipRemaining > 0) {
      pos = skip(chunk, 0, length);
      if (closed || pos === length) return;
    }
    if (pending.length > 0) {
      // (Never with a skip under way: a skip starts only when nothing is pending.)
      pending.push(Buffer.from(chunk.subarray(0, length)));
      pendingBytes += length;
      if (pendingBytes < pendingNeed) return;
      buf = Buffer.concat(pending, pendingBytes);
      n = pendingBytes;
      pending = [];
      pendingBytes = 0;
      pendingNeed = 0;
    }
    if (!upgraded) {
      const end = buf.subarray(0, n).indexOf('\r\n\r\n');
      if (end < 0) {
        pending = [Buffer.from(buf.subarray(0, n))];
        pendingBytes = n;
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
      pos = end + 4;
    }
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
      if (n - pos < hdr + len) {
        if (len > keepUpTo) {
          if (n - pos < hdr) {
            pendingNeed = hdr;
            break;
          }
          skipRemaining = len;
          skipLength = len;
          skipB0 = b0;
          pos += hdr;
          pos += skip(buf, pos, n - pos);
          continue;
        }
        pendingNeed = hdr + len;
        break;
      }
      const payload = buf.subarray(pos + hdr, pos + hdr + len);
      pos += hdr + len;
      const opcode = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      if (opcode === OP_BINARY || opcode === OP_TEXT) {
        if (fin) h.onMessage(len > keepUpTo ? payload.subarray(0, PREFIX_BYTES) : payload, len);
        else fragments = [Buffer.from(payload)];
      } else if (opcode === OP_CONT && fragments) {
        fragments.push(Buffer.from(payload));
        if (fin) {
          const whole = Buffer.concat(fragments);
          fragments = null;
          h.onMessage(whole, whole.length);
        }
      } else if (opcode === OP_PING) {
        sock.write(clientFrame(0xa, payload));
      } else if (opcode === OP_CLOSE) {
        finish();
        return;
      }
    }
    // Keep an incomplete frame for the next chunk (copy: the chunk's memory is reused).
    if (pos < n) {
      pending = [Buffer.from(buf.subarray(pos, n))];
      pendingBytes = n - pos;
    } else pendingNeed = 0;
  };

  return {
    send: (frame) => {
      if (upgraded && !closed) sock.write(clientFrame(OP_BINARY, frame));
    },
    close: finish,
  };
}
