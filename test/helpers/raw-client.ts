/**
 * A raw WebSocket client (package `ws`) that records every frame it receives, decodes
 * them with the test-side codec and mirrors each document's content into a local Y.Doc
 * (from SyncStep2 and Update frames), so tests can assert on real content.
 */
import WebSocket from 'ws';
import * as Y from 'yjs';
import { authFrame, decodeFrame, label, step1Frame, Sync, T, type Frame } from './frames.js';
import { waitFor } from './wait.js';

export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

const open = new Set<RawClient>();

export class RawClient {
  readonly frames: Frame[] = [];
  /** Raw bytes of every binary message, in arrival order. */
  readonly raw: Uint8Array[] = [];
  readonly docs = new Map<string | null, Y.Doc>();
  closeInfo: CloseInfo | null = null;
  /** Decoding errors on our side (a server frame the test codec could not read). */
  readonly decodeErrors: Error[] = [];
  private readonly closedPromise: Promise<CloseInfo>;

  private constructor(
    readonly ws: WebSocket,
    /** Hocuspocus (name-prefixed frames) or y-websocket (unprefixed). */
    readonly prefixed: boolean,
  ) {
    open.add(this);
    this.closedPromise = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        open.delete(this);
        resolve(this.closeInfo);
      });
    });
    ws.on('error', () => {
      // Recorded through the close event.
    });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return;
      const bytes = new Uint8Array(data as Buffer);
      this.raw.push(bytes);
      let frame: Frame;
      try {
        frame = decodeFrame(bytes, prefixed);
      } catch (error) {
        this.decodeErrors.push(error as Error);
        return;
      }
      this.frames.push(frame);
      if (frame.kind === 'sync' && (frame.sub === Sync.Step2 || frame.sub === Sync.Update)) {
        Y.applyUpdate(this.doc(frame.name), frame.payload, 'server');
      }
    });
  }

  /** Opens a socket; `path` is `/` (Hocuspocus) or `/y/<name>` (y-websocket). */
  static connect(port: number, path = '/'): Promise<RawClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    const client = new RawClient(ws, !path.startsWith('/y/'));
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** Closes every raw client still open (for afterEach). */
  static terminateAll(): void {
    for (const client of open) client.ws.terminate();
    open.clear();
  }

  /** The local mirror of a document's content (null: the y-websocket document). */
  doc(name: string | null): Y.Doc {
    let doc = this.docs.get(name);
    if (!doc) this.docs.set(name, (doc = new Y.Doc()));
    return doc;
  }

  text(name: string | null, field = 'text'): string {
    return this.doc(name).getText(field).toString();
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: Uint8Array): void {
    this.ws.send(frame, { binary: true });
  }

  sendText(text: string): void {
    this.ws.send(text, { binary: false });
  }

  /** Frames for one document (Hocuspocus), or all frames. */
  framesFor(name?: string | null): Frame[] {
    return name === undefined ? this.frames : this.frames.filter((f) => f.kind !== 'ping' && f.name === name);
  }

  /** The SyncStatus values (1 applied, 0 refused) received for a document, in order. */
  acks(name: string | null): number[] {
    return this.framesFor(name).flatMap((frame) => (frame.kind === 'syncStatus' ? [frame.applied] : []));
  }

  labels(name?: string | null): string[] {
    return this.framesFor(name).map(label);
  }

  async waitForFrame(predicate: (frame: Frame) => boolean, timeoutMs = 5_000, what = 'frame'): Promise<Frame> {
    return (await waitFor(() => this.frames.find(predicate), timeoutMs, what))!;
  }

  async waitForText(name: string | null, expected: string, timeoutMs = 5_000): Promise<void> {
    await waitFor(() => this.text(name) === expected, timeoutMs, `text "${expected}" (have "${this.text(name)}")`);
  }

  /** Resolves with the close code and reason; rejects after the timeout. */
  async waitClose(timeoutMs = 5_000): Promise<CloseInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`socket not closed within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closedPromise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Hocuspocus handshake for one document: Auth (+ version), SyncStep1 with the local
   * mirror's state vector; resolves when the server's SyncStep2 for it has arrived.
   */
  async join(name: string, options: { version?: string; timeoutMs?: number } = {}): Promise<void> {
    this.send(authFrame(name, 'token', options.version));
    this.send(step1Frame(name, Y.encodeStateVector(this.doc(name))));
    await this.waitForFrame(
      (f) => f.kind === 'sync' && f.name === name && f.sub === Sync.Step2,
      options.timeoutMs,
      `SyncStep2 for ${name}`,
    );
  }

  /** Answers every bare Ping with a bare Pong, as providers ≥ 4 do. */
  answerPings(): void {
    this.ws.on('message', (data, isBinary) => {
      const bytes = data as Buffer;
      if (isBinary && bytes.length === 1 && bytes[0] === T.Ping && this.isOpen) this.ws.send(new Uint8Array([T.Pong]), { binary: true });
    });
  }

  get pings(): number {
    return this.frames.filter((f) => f.kind === 'ping').length;
  }

  close(): void {
    this.ws.close();
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/** A Yjs update that inserts `text` at the end of the Y.Text `field`, made by a fresh client. */
export function textUpdate(base: Y.Doc, text: string, field = 'text'): Uint8Array {
  const before = Y.encodeStateVector(base);
  base.getText(field).insert(base.getText(field).length, text);
  return Y.encodeStateAsUpdate(base, before);
}
