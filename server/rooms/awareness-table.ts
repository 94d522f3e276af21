import {
  encodeAwarenessUpdate,
  isJsonRemoval,
  isRemovalLiteral,
  readAwarenessEntries,
  type AwarenessEntry,
  type RawAwarenessEntry,
} from '../codec/awareness-codec.js';

/** Whoever sent awareness states: one connection's membership of a room, or the other instances. */
export interface AwarenessOwner {
  /** Client ids this owner introduced and still holds; released when it leaves or they expire. */
  awarenessClients: Set<number> | null;
  /**
   * The other instances (the bus relay's owner for a document): not bound per connection
   * (it speaks for many), and a removal it relays gives the client id up.
   */
  readonly awarenessRemote?: boolean | undefined;
  /**
   * Remote owner only: true once the instance a state came from has gone silent (killed, or
   * cut off). Its clients reconnect to other instances with the same client ids: a
   * connection here may then take such an id over (see `receive`).
   */
  readonly awarenessSourceGone?: ((instanceId: string) => boolean) | undefined;
}

/** What one document's awareness may hold, and one message bring. */
export interface AwarenessLimits {
  /** Entries read from one client message; the rest are ignored unread. */
  readonly maxEntriesPerMessage: number;
  /** Largest state (bytes of JSON); a larger one is dropped. */
  readonly maxStateBytes: number;
  /** Client ids one connection may hold in one document; more are dropped. */
  readonly maxClientsPerConnection: number;
  /** Client ids one document may hold (every connection and instance together); more are dropped. */
  readonly maxClientsPerDocument: number;
  /** Bytes of states one document may hold; a state that would pass it is dropped. */
  readonly maxBytesPerDocument: number;
}

/**
 * Defaults. A real client has one awareness client id per Y.Doc (one per document, also on
 * a shared Hocuspocus socket) and a state of a few hundred bytes to a few KB (name, colour,
 * cursor); y-websocket clients also forward the states of others, which are not theirs to
 * set and are ignored.
 */
export const DEFAULT_AWARENESS_LIMITS: AwarenessLimits = {
  maxEntriesPerMessage: 100,
  maxStateBytes: 16 * 1024,
  maxClientsPerConnection: 4,
  // A crowd of 1,500 present clients (issue 20's presence scenario) fits, with room to spare.
  maxClientsPerDocument: 2_000,
  maxBytesPerDocument: 1024 * 1024,
};

/** y-protocols' `outdatedTimeout`: clients drop a remote state not renewed for this long (they renew every 15 s). */
export const AWARENESS_TIMEOUT_MS = 30_000;
/** The server removes a state not renewed for this long, and tells everyone (the margin covers a late renewal). */
export const AWARENESS_EXPIRE_MS = AWARENESS_TIMEOUT_MS + 5_000;
/** How often states are checked for expiry: one is removed 35–40 s after its last renewal. */
export const AWARENESS_SWEEP_MS = 5_000;

/** Counts entries dropped by a bound (the server's metrics). */
export interface AwarenessCounters {
  awarenessDropped: number;
}

/** A client id held by an owner: its current state, or null once the owner removed it. */
interface Held {
  owner: AwarenessOwner;
  /** The instance a remote owner's state came from (null for this instance's connections). */
  source: string | null;
  clock: number;
  state: Uint8Array | null;
  /** When the owner last set (or removed) it: the expiry order. */
  at: number;
}

/** A client id given up (left, expired, removed by another instance): its clock, kept for a while. */
interface Released {
  clock: number;
  at: number;
}

/** Removal updates made by `expire`, by who must hear them. */
export interface ExpiredAwareness {
  /** States this instance's connections set: every local client and the other instances. */
  readonly local: Uint8Array | null;
  /** States relayed from other instances: this instance's clients only (the others expire their own). */
  readonly remote: Uint8Array | null;
}

const NOTHING_EXPIRED: ExpiredAwareness = { local: null, remote: null };

/**
 * The room's awareness states, as raw entries, within bounds (AwarenessLimits):
 * - y-protocols' clock rule, so a stale or replayed update never overwrites a newer state;
 * - ownership: a client id belongs to the connection that introduced it until that
 *   connection leaves or the id expires; entries for an id held by another owner are
 *   ignored, so nobody can overwrite or remove another client's state, and a leaver's
 *   removal covers only its own ids. The other instances are one owner (they check their
 *   own connections); an id they relayed from an instance that has since gone silent may
 *   be taken over by a connection here (its client reconnected here: failover), at the
 *   same clock or a newer one;
 * - expiry: a state not renewed for AWARENESS_EXPIRE_MS is removed and everyone told
 *   (`expire`), as if its owner had left;
 * - the current states as one update for joiners and QueryAwareness, encoded once per change.
 *
 * Entries over a bound are dropped (counted), not fatal: the connection and its other
 * entries carry on. A state that is not JSON is malformed input (MalformedFrameError) and
 * nothing of its update is kept.
 */
export class AwarenessTable {
  // Created on the first awareness update: many documents are open without presence.
  /** Held client ids, least recently set first (Map order: every set moves an id to the end). */
  private held: Map<number, Held> | null = null;
  /**
   * Client ids given up, oldest first: their clock is kept for AWARENESS_TIMEOUT_MS, so a peer
   * re-sending a leaver's old state (e.g. answering QueryAwareness) is refused; then forgotten.
   * At most `maxClientsPerDocument` (the oldest go first).
   */
  private released: Map<number, Released> | null = null;
  /** Bytes of the held states. */
  private bytes = 0;
  /** The current states as one update; undefined when it must be built again. */
  private encoded: Uint8Array | null | undefined = null;

  constructor(
    readonly limits: AwarenessLimits = DEFAULT_AWARENESS_LIMITS,
    private readonly counters: AwarenessCounters = { awarenessDropped: 0 },
  ) {}

  /** Client ids held (with a state or removed by their owner). */
  get size(): number {
    return this.held?.size ?? 0;
  }

  /** Bytes of the states held. */
  get stateBytes(): number {
    return this.bytes;
  }

  /**
   * Applies an awareness update from `owner` and returns what to relay: `update` itself when
   * every entry was kept, an update of the kept entries when some were not, or null when none
   * was. Throws MalformedFrameError (nothing kept) when it is malformed or a state it would
   * keep is not JSON. `source`: the instance a remote owner's update came from.
   */
  receive(update: Uint8Array, owner: AwarenessOwner, now: number, source: string | null = null): Uint8Array | null {
    const limits = this.limits;
    const remote = owner.awarenessRemote === true;
    // Another instance's message may carry a whole document's states (its catch-up reply).
    const { entries, complete } = readAwarenessEntries(update, remote ? limits.maxClientsPerDocument : limits.maxEntriesPerMessage);
    if (!complete) this.counters.awarenessDropped++;
    this.forgetReleased(now);
    const held = (this.held ??= new Map());
    // Decide every entry before changing anything, so a malformed state changes nothing.
    const kept: RawAwarenessEntry[] = [];
    /** What each kept entry leaves: its state (a copy, or the held one a renewal repeats), or null. */
    const states: (Uint8Array | null)[] = [];
    let newIds = 0;
    let bytes = this.bytes;
    const ownerHolds = owner.awarenessClients?.size ?? 0;
    const seen = entries.length > 1 ? new Set<number>() : null;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const id = entry.clientId;
      if (seen !== null) {
        // One entry per client id and message (y-protocols never sends two): the first counts.
        if (seen.has(id)) continue;
        seen.add(id);
      }
      const current = held.get(id);
      // Another connection's id, unless relayed from an instance that has gone silent (failover).
      const takeover = current !== undefined && current.owner !== owner;
      if (takeover && !(current.source !== null && current.owner.awarenessSourceGone?.(current.source) === true)) continue;
      let isRemoval = isRemovalLiteral(entry.json);
      if (takeover && isRemoval) continue;
      const known = current?.clock ?? this.released?.get(id)?.clock;
      // A client that moved here sends its state again as it was: the same clock takes it over.
      if (!(known === undefined || known < entry.clock || (known === entry.clock && (takeover || (isRemoval && current?.state != null)))))
        continue;
      if (!isRemoval) {
        const size = entry.json.length;
        if (size > limits.maxStateBytes) {
          this.counters.awarenessDropped++;
          continue;
        }
        if (current === undefined || takeover) {
          if (
            (!remote && ownerHolds + newIds >= limits.maxClientsPerConnection) ||
            (current === undefined && held.size + newIds >= limits.maxClientsPerDocument)
          ) {
            this.counters.awarenessDropped++;
            continue;
          }
        }
        const previous = current?.state ?? null;
        if (bytes - (previous?.length ?? 0) + size > limits.maxBytesPerDocument) {
          this.counters.awarenessDropped++;
          continue;
        }
        // A renewal usually repeats the state: bytes already checked are neither parsed nor copied again.
        const repeated = previous !== null && previous.length === size && Buffer.compare(previous, entry.json) === 0;
        if (!repeated) isRemoval = isJsonRemoval(entry.json);
        if (!isRemoval) {
          if (current === undefined || takeover) newIds++;
          bytes += size - (previous?.length ?? 0);
          kept.push(entry);
          states.push(repeated ? previous : entry.json.slice()); // the transport reuses its buffer
          continue;
        }
      }
      // Only a client id its owner holds can be removed (a removal creates nothing).
      if (current === undefined || takeover) continue;
      bytes -= current.state?.length ?? 0;
      kept.push(entry);
      states.push(null);
    }
    if (kept.length === 0) return null;
    // Usually all of it was kept: then the update itself is relayed, nothing re-encoded.
    const relayed: AwarenessEntry[] | null = complete && kept.length === entries.length ? null : [];
    for (let i = 0; i < kept.length; i++) {
      const entry = kept[i]!;
      const state = states[i] as Uint8Array | null;
      this.set(entry.clientId, entry.clock, state, owner, source, now);
      relayed?.push({ clientId: entry.clientId, clock: entry.clock, state });
    }
    return relayed === null ? update : encodeAwarenessUpdate(relayed);
  }

  /** Keeps an accepted entry (decided by `receive`). */
  private set(clientId: number, clock: number, state: Uint8Array | null, owner: AwarenessOwner, source: string | null, now: number): void {
    const held = this.held!;
    const current = held.get(clientId);
    this.encoded = undefined;
    if (current !== undefined) {
      this.bytes -= current.state?.length ?? 0;
      held.delete(clientId); // re-inserted last: the map stays in expiry order
      if (state === null && owner.awarenessRemote === true) {
        // Another instance's removal: its connection left; the id is free again.
        owner.awarenessClients?.delete(clientId);
        this.release(clientId, clock, now);
        return;
      }
      if (current.owner !== owner) {
        // Taken over from a silent instance (failover).
        current.owner.awarenessClients?.delete(clientId);
        current.owner = owner;
        (owner.awarenessClients ??= new Set()).add(clientId);
      }
      current.source = source;
      current.clock = clock;
      current.state = state;
      current.at = now;
      held.set(clientId, current);
    } else {
      // Only states create a hold (removals of ids not held are refused).
      held.set(clientId, { owner, source, clock, state, at: now });
      this.released?.delete(clientId);
      (owner.awarenessClients ??= new Set()).add(clientId);
    }
    this.bytes += state?.length ?? 0;
  }

  /** Removes every state the owner set and gives its ids up; returns the update that tells the others, or null. */
  removeOwner(owner: AwarenessOwner, now: number): Uint8Array | null {
    const clients = owner.awarenessClients;
    const held = this.held;
    if (!clients || clients.size === 0 || !held) return null;
    const removals: AwarenessEntry[] = [];
    for (const clientId of clients) {
      const current = held.get(clientId);
      if (!current || current.owner !== owner) continue;
      this.drop(clientId, current, now, removals);
    }
    clients.clear();
    return removals.length > 0 ? encodeAwarenessUpdate(removals) : null;
  }

  /**
   * Removes the states not renewed within AWARENESS_EXPIRE_MS (and gives up the ids their
   * owners had removed and not set since); returns the removals to send, by audience.
   * Costs what it removes: the held ids are kept oldest first.
   */
  expire(now: number): ExpiredAwareness {
    this.forgetReleased(now);
    const held = this.held;
    if (held === null || held.size === 0) return NOTHING_EXPIRED;
    const cutoff = now - AWARENESS_EXPIRE_MS;
    let local: AwarenessEntry[] | null = null;
    let remote: AwarenessEntry[] | null = null;
    for (const [clientId, current] of held) {
      if (current.at >= cutoff) break;
      current.owner.awarenessClients?.delete(clientId);
      const removals = current.owner.awarenessRemote === true ? (remote ??= []) : (local ??= []);
      this.drop(clientId, current, now, removals);
    }
    if (local === null && remote === null) return NOTHING_EXPIRED;
    return {
      local: local && local.length > 0 ? encodeAwarenessUpdate(local) : null,
      remote: remote && remote.length > 0 ? encodeAwarenessUpdate(remote) : null,
    };
  }

  /** Stops holding `clientId`; a state it had is removed (clock + 1, added to `removals`). */
  private drop(clientId: number, current: Held, now: number, removals: AwarenessEntry[]): void {
    this.held!.delete(clientId);
    if (current.state === null) {
      this.release(clientId, current.clock, now);
      return;
    }
    this.bytes -= current.state.length;
    this.encoded = undefined;
    this.release(clientId, current.clock + 1, now);
    removals.push({ clientId, clock: current.clock + 1, state: null });
  }

  private release(clientId: number, clock: number, now: number): void {
    const released = (this.released ??= new Map());
    released.delete(clientId); // re-inserted last: the map stays ordered by release time
    released.set(clientId, { clock, at: now });
    if (released.size > this.limits.maxClientsPerDocument) released.delete(released.keys().next().value!);
  }

  private forgetReleased(now: number): void {
    const released = this.released;
    if (released === null) return;
    const cutoff = now - AWARENESS_TIMEOUT_MS;
    for (const [clientId, { at }] of released) {
      if (at >= cutoff) return;
      released.delete(clientId);
    }
  }

  /**
   * Every current state as one update (for a joiner, QueryAwareness, another instance's
   * catch-up); null if none. Encoded once per change, shared by every caller until the next.
   */
  snapshot(): Uint8Array | null {
    if (this.encoded !== undefined) return this.encoded;
    this.encoded = this.encodeStates(false);
    return this.encoded;
  }

  /**
   * The states this instance's connections set, as one update (another instance's catch-up
   * request: every instance answers with its own clients' states, so each reaches the asker
   * from the instance it belongs to); null if none.
   */
  localSnapshot(): Uint8Array | null {
    return this.encodeStates(true);
  }

  private encodeStates(localOnly: boolean): Uint8Array | null {
    const states: AwarenessEntry[] = [];
    if (this.held) {
      for (const [clientId, { clock, state, owner }] of this.held) {
        if (state !== null && !(localOnly && owner.awarenessRemote === true)) states.push({ clientId, clock, state });
      }
    }
    return states.length > 0 ? encodeAwarenessUpdate(states) : null;
  }
}
