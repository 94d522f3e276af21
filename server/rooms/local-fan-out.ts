import { awarenessBody, encodeAddress, syncStatusFrame, updateBody, withPrefix } from '../codec/frames.js';
import type { Counters } from '../metrics.js';
import type { Recipient, UpdateOrigin } from './update-origin.js';

/** Sends to every subscriber of a topic (the transport's app-level publish). */
export interface Publisher {
  publish(topic: string, frame: Uint8Array): void;
}

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

  constructor(
    private readonly name: string,
    private readonly publisher: Publisher,
    private readonly counters: Counters,
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

  /** Awareness goes to every member, the sender included: its echo keeps providers alive. */
  awareness(update: Uint8Array, senderAddress: string | null | undefined, senderFrame: Uint8Array | null): void {
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
