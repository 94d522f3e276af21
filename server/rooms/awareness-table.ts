import { encodeAwarenessUpdate, type AwarenessEntry } from '../codec/awareness-codec.js';

/** Whoever sent awareness states: one connection's membership of a room. */
export interface AwarenessOwner {
  /** Client ids whose current state this owner set; removed when the owner leaves. */
  awarenessClients: Set<number> | null;
}

interface State {
  clock: number;
  state: Uint8Array;
  owner: AwarenessOwner;
  updatedAt: number;
}

/** A remote state not renewed for this long is stale (y-protocols' `outdatedTimeout`). */
export const AWARENESS_TIMEOUT_MS = 30_000;

/**
 * The room's awareness states, as raw entries. Applies y-protocols' clock rule so
 * a stale or replayed update never overwrites a newer state, remembers which
 * connection owns which client id, and produces the removal update for a leaver.
 */
export class AwarenessTable {
  // Created on the first awareness update: many documents are open without presence.
  private states: Map<number, State> | null = null;
  private clocks: Map<number, number> | null = null;
  /**
   * When each removed client id was removed, oldest first. Its clock is kept for the
   * awareness timeout, so a peer re-sending the leaver's old state (e.g. answering
   * QueryAwareness) is refused; after that the clock is forgotten, which bounds the map.
   */
  private removedAt: Map<number, number> | null = null;

  apply(entries: readonly AwarenessEntry[], owner: AwarenessOwner, now: number): void {
    this.forgetRemovedBefore(now - AWARENESS_TIMEOUT_MS);
    const states = (this.states ??= new Map());
    const clocks = (this.clocks ??= new Map());
    for (const entry of entries) {
      const current = clocks.get(entry.clientId);
      const accepted =
        current === undefined ||
        current < entry.clock ||
        (current === entry.clock && entry.state === null && states.has(entry.clientId));
      if (!accepted) continue;
      clocks.set(entry.clientId, entry.clock);
      const previous = states.get(entry.clientId);
      if (entry.state === null) {
        states.delete(entry.clientId);
        previous?.owner.awarenessClients?.delete(entry.clientId);
        this.tombstone(entry.clientId, now);
        continue;
      }
      this.removedAt?.delete(entry.clientId);
      if (previous && previous.owner !== owner) previous.owner.awarenessClients?.delete(entry.clientId);
      states.set(entry.clientId, { clock: entry.clock, state: entry.state, owner, updatedAt: now });
      (owner.awarenessClients ??= new Set()).add(entry.clientId);
    }
  }

  /** Removes every state the owner set; returns the update that tells the others, or null. */
  removeOwner(owner: AwarenessOwner, now: number): Uint8Array | null {
    const clients = owner.awarenessClients;
    const states = this.states;
    if (!clients || clients.size === 0 || !states) return null;
    const removals: AwarenessEntry[] = [];
    for (const clientId of clients) {
      const state = states.get(clientId);
      if (!state || state.owner !== owner) continue;
      states.delete(clientId);
      this.clocks?.set(clientId, state.clock + 1);
      this.tombstone(clientId, now);
      removals.push({ clientId, clock: state.clock + 1, state: null });
    }
    clients.clear();
    return removals.length > 0 ? encodeAwarenessUpdate(removals) : null;
  }

  private tombstone(clientId: number, now: number): void {
    const removedAt = (this.removedAt ??= new Map());
    removedAt.delete(clientId); // re-insert: the map stays ordered by removal time
    removedAt.set(clientId, now);
  }

  private forgetRemovedBefore(cutoff: number): void {
    const removedAt = this.removedAt;
    if (removedAt === null) return;
    for (const [clientId, at] of removedAt) {
      if (at >= cutoff) return;
      removedAt.delete(clientId);
      this.clocks?.delete(clientId);
    }
  }

  /** Every state renewed within the timeout, as one update for a joiner; null if none. */
  snapshot(now: number): Uint8Array | null {
    if (!this.states) return null;
    const fresh: AwarenessEntry[] = [];
    for (const [clientId, state] of this.states) {
      if (now - state.updatedAt <= AWARENESS_TIMEOUT_MS) fresh.push({ clientId, clock: state.clock, state: state.state });
    }
    return fresh.length > 0 ? encodeAwarenessUpdate(fresh) : null;
  }
}
