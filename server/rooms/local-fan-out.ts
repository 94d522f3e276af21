import type { Clock } from '../clock.js';
import { concatAwarenessUpdates } from '../codec/awareness-codec.js';
import { awarenessBody, encodeAddress, syncStatusFrame, updateBody, withPrefix } from '../codec/frames.js';
import type { Counters } from '../metrics.js';
import type { Recipient, UpdateOrigin } from './update-origin.js';

/** Sends to every subscriber of a topic (the transport's app-level publish). */
export interface Publisher {
  publish(topic: string, frame: Uint8Array): void;
}

/**
 * Awareness goes out at most once per window (AWARENESS_FLUSH_MS): a message arriving
 * after a quiet window goes out at once; the ones arriving within a window wait for its end
 * and go out as one update, their entries concatenated in order. A crowd's presence then
 * costs one publish per window instead of one per client per second, each to every member.
 */
export interface AwarenessWindow {
  readonly ms: number;
  readonly clock: Clock;
}

/** Awareness bytes one room holds for its next flush; at this many it flushes at once. */
export const MAX_PENDING_AWARENESS_BYTES = 256 * 1024;

/** One subscription target: all members that receive identical frames (same address). */
export class Audience {
  members = 0;
  private ackFrames: [refused: Uint8Array, applied: Uint8Array] | null = null;

  constructor(
    readonly address: string | null,
    readonly topic: string,
    readonly prefix: Uint8Array,
  ) {}

  /** SyncStatus frame, built once per audience: acknowledging allocates nothing. */
  syncStatus(applied: boolean): Uint8Array {
    const frames = (this.ackFrames ??= [syncStatusFrame(this.prefix, false), syncStatusFrame(this.prefix, true)]);
    return frames[applied ? 1 : 0];
  }
}

/**
 * A room's local fan-out: members grouped into audiences (one per address), each a
 * transport topic. An update goes out as one topic publish per audience, done in C++ by
 * uWS — never a loop over recipients. Its body is encoded once; each audience only adds
 * its address prefix. Audiences other than the document's name and y-websocket are
 * bounded (protocol/address-limits.ts), so an edit's cost is too. A local sender's own
 * socket is excluded by publishing through it.
 */
export class LocalFanOut {
  private readonly audiences = new Map<string | null, Audience>();
  /** Audiences whose address is "name\0suffix" (bounded by MAX_ADDRESSES_PER_DOCUMENT). */
  extraAudiences = 0;

  /** Awareness updates waiting for the window's end (copies), their bytes, and the timer. */
  private pendingAwareness: Uint8Array[] = [];
  private pendingAwarenessBytes = 0;
  private cancelAwarenessFlush: (() => void) | null = null;
  private lastAwarenessFlush = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly name: string,
    private readonly publisher: Publisher,
    private readonly counters: Counters,
    /** Null: every awareness message goes out at once. */
    private readonly awarenessWindow: AwarenessWindow | null = null,
  ) {}

  join(member: Recipient): Audience {
    const key = member.address;
    let audience = this.audiences.get(key);
    if (!audience) {
      audience = new Audience(key, key === null ? `y:${this.name}` : `h:${key}`, key === null ? member.prefix : encodeAddress(key));
      this.audiences.set(key, audience);
      if (key?.includes('\0')) this.extraAudiences++;
    }
    audience.members++;
    member.socket.subscribe(audience.topic);
    return audience;
  }

  leave(member: Recipient): void {
    const audience = this.audiences.get(member.address);
    if (!audience) return;
    member.socket.unsubscribe(audience.topic);
    if (--audience.members === 0) {
      this.audiences.delete(member.address);
      if (member.address?.includes('\0')) this.extraAudiences--;
    }
  }

  /** True when some member already joined under this address. */
  hasAudience(address: string | null): boolean {
    return this.audiences.has(address);
  }

  /**
   * `frame` is the local sender's own Update frame when it can be relayed as is to
   * the sender's audience (no re-encoding). Only the sender's own audience is published
   * through its socket (which excludes that socket); other audiences go to every
   * subscriber, so another session of the same socket (sessionAwareness) gets it too.
   */
  updateApplied(update: Uint8Array, origin: UpdateOrigin, frame: Uint8Array | null): void {
    const sender = origin.kind === 'local' ? origin : null;
    let body: Uint8Array | null = null;
    for (const audience of this.audiences.values()) {
      const own = sender !== null && audience.address === sender.address;
      const out = own && frame !== null ? frame : withPrefix(audience.prefix, (body ??= updateBody(update)));
      if (own) sender.socket.publish(audience.topic, out);
      else this.publisher.publish(audience.topic, out);
      this.counters.messagesOut++;
      this.counters.bytesOut += out.length;
    }
  }

  /**
   * Awareness goes to every member, the sender included: its echo keeps providers alive.
   * Within a window it waits (AwarenessWindow); `update` may be a view into a transport
   * buffer, so what waits is a copy.
   */
  awareness(update: Uint8Array, senderAddress: string | null | undefined, senderFrame: Uint8Array | null): void {
    const window = this.awarenessWindow;
    if (window === null) {
      this.publishAwareness(update, senderAddress, senderFrame);
      return;
    }
    const now = window.clock.now();
    if (this.pendingAwareness.length === 0 && now - this.lastAwarenessFlush >= window.ms) {
      this.lastAwarenessFlush = now;
      this.publishAwareness(update, senderAddress, senderFrame);
      return;
    }
    this.pendingAwareness.push(update.slice());
    this.pendingAwarenessBytes += update.length;
    if (this.pendingAwarenessBytes >= MAX_PENDING_AWARENESS_BYTES) this.flushAwareness();
    else
      this.cancelAwarenessFlush ??= window.clock.after(Math.max(0, this.lastAwarenessFlush + window.ms - now), () => {
        this.cancelAwarenessFlush = null;
        this.flushAwareness();
      });
  }

  /** Sends what waits for the window's end now (also before members are detached). */
  flushAwareness(): void {
    this.cancelAwarenessFlush?.();
    this.cancelAwarenessFlush = null;
    if (this.pendingAwareness.length === 0) return;
    const update = concatAwarenessUpdates(this.pendingAwareness);
    this.pendingAwareness = [];
    this.pendingAwarenessBytes = 0;
    if (this.awarenessWindow) this.lastAwarenessFlush = this.awarenessWindow.clock.now();
    this.publishAwareness(update, undefined, null);
  }

  /** The room is gone: what waits is dropped with its members. */
  dispose(): void {
    this.cancelAwarenessFlush?.();
    this.cancelAwarenessFlush = null;
    this.pendingAwareness = [];
    this.pendingAwarenessBytes = 0;
  }

  private publishAwareness(update: Uint8Array, senderAddress: string | null | undefined, senderFrame: Uint8Array | null): void {
    let body: Uint8Array | null = null;
    for (const audience of this.audiences.values()) {
      const out =
        senderFrame !== null && audience.address === senderAddress
          ? senderFrame
          : withPrefix(audience.prefix, (body ??= awarenessBody(update)));
      this.publisher.publish(audience.topic, out);
      this.counters.messagesOut++;
      this.counters.bytesOut += out.length;
    }
  }

  /** Sends `makeFrame(prefix)` to every member (rare messages: one frame built per audience). */
  everyone(makeFrame: (prefix: Uint8Array) => Uint8Array): void {
    for (const audience of this.audiences.values()) {
      const out = makeFrame(audience.prefix);
      this.publisher.publish(audience.topic, out);
      this.counters.messagesOut++;
      this.counters.bytesOut += out.length;
    }
  }

  /** Sends `makeFrame(prefix)` to every member except the sender (its own audience excludes its socket). */
  others(makeFrame: (prefix: Uint8Array) => Uint8Array, sender: Recipient): void {
    for (const audience of this.audiences.values()) {
      const out = makeFrame(audience.prefix);
      if (audience.address === sender.address) sender.socket.publish(audience.topic, out);
      else this.publisher.publish(audience.topic, out);
      this.counters.messagesOut++;
      this.counters.bytesOut += out.length;
    }
  }
}
