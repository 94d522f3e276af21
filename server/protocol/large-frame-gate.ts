import type { Clock } from '../clock.js';
import type { TransportSocket } from '../transport/transport.js';

/** What bounds the bytes of large frames waiting in sockets' send buffers. */
export interface LargeFrameLimits {
  /** A frame this large or larger goes through the gate (smaller ones are sent at once). */
  readonly minBytes: number;
  /** Bytes of large frames the server may have in sockets' buffers at once. */
  readonly bytesInFlight: number;
  /** Frames waiting for room; past it a frame is sent at once (the transport's backpressure limit then applies). */
  readonly maxWaiting: number;
  /** How often sockets with a large frame in flight are checked for having written it out. */
  readonly pollMs: number;
}

export const DEFAULT_LARGE_FRAME_LIMITS: LargeFrameLimits = {
  minBytes: 1024 * 1024,
  bytesInFlight: 256 * 1024 * 1024,
  maxWaiting: 10_000,
  pollMs: 10,
};

/** A socket counts as having written its large frame out once this little is left in its buffer. */
const WRITTEN_OUT_BYTES = 64 * 1024;

interface Pending {
  readonly socket: TransportSocket;
  readonly frame: Uint8Array;
  readonly onSent: (frame: Uint8Array) => void;
}

/**
 * Sends large frames (a document's whole state to a joiner) so that at most `bytesInFlight`
 * of them sit in sockets' send buffers at once: a transport copies what the kernel does not
 * take at once, so 150 joiners of a 20 MB document would otherwise hold 3 GB. The others wait
 * in arrival order and go out as earlier ones are written out; a closed socket's frame is
 * dropped. One frame is always let through, however large. Frames on one socket keep their
 * order; smaller frames sent meanwhile may overtake a waiting one (Yjs updates and awareness
 * apply in any order).
 */
export class LargeFrameGate {
  private readonly inFlight: Pending[] = [];
  private inFlightBytes = 0;
  private waiting: Pending[] = [];
  private cancelPoll: (() => void) | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly limits: LargeFrameLimits = DEFAULT_LARGE_FRAME_LIMITS,
  ) {}

  /** Sends `frame` on `socket` now or once there is room; `onSent` runs when it is handed to the socket. */
  send(socket: TransportSocket, frame: Uint8Array, onSent: (frame: Uint8Array) => void = () => {}): void {
    const pending: Pending = { socket, frame, onSent };
    if (frame.length < this.limits.minBytes || this.waiting.length >= this.limits.maxWaiting) {
      this.write(pending, false);
      return;
    }
    // A socket with a large frame already waiting keeps its order behind it.
    if (this.waiting.length === 0 && this.hasRoomFor(frame.length)) this.write(pending, true);
    else this.waiting.push(pending);
    this.schedulePoll();
  }

  /** Large frames in sockets' buffers, and waiting (metrics, tests). */
  get stats(): { inFlight: number; inFlightBytes: number; waiting: number } {
    return { inFlight: this.inFlight.length, inFlightBytes: this.inFlightBytes, waiting: this.waiting.length };
  }

  /** Stops polling; frames still waiting are dropped (the server is closing their sockets). */
  close(): void {
    this.cancelPoll?.();
    this.cancelPoll = null;
    this.waiting = [];
  }

  private hasRoomFor(bytes: number): boolean {
    return this.inFlight.length === 0 || this.inFlightBytes + bytes <= this.limits.bytesInFlight;
  }

  private write(pending: Pending, tracked: boolean): void {
    if (pending.socket.closed) return;
    pending.socket.send(pending.frame);
    pending.onSent(pending.frame);
    if (!tracked) return;
    this.inFlight.push(pending);
    this.inFlightBytes += pending.frame.length;
  }

  private schedulePoll(): void {
    if (this.cancelPoll !== null || (this.inFlight.length === 0 && this.waiting.length === 0)) return;
    this.cancelPoll = this.clock.after(this.limits.pollMs, () => {
      this.cancelPoll = null;
      this.poll();
      this.schedulePoll();
    });
  }

  private poll(): void {
    for (let i = this.inFlight.length - 1; i >= 0; i--) {
      const { socket, frame } = this.inFlight[i]!;
      if (socket.closed || socket.bufferedBytes <= WRITTEN_OUT_BYTES) {
        this.inFlight.splice(i, 1);
        this.inFlightBytes -= frame.length;
      }
    }
    let next = 0;
    while (next < this.waiting.length && this.hasRoomFor(this.waiting[next]!.frame.length)) this.write(this.waiting[next++]!, true);
    if (next > 0) this.waiting = this.waiting.slice(next);
  }
}
