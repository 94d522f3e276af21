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

  apply(entries: readonly AwarenessEntry[], owner: AwarenessOwner, now: number): void {
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
        continue;
      }
      if (previous && previous.owner !== owner) previous.owner.awarenessClients?.delete(entry.clientId);
      states.set(entry.clientId, { clock: entry.clock, state: entry.state, owner, updatedAt: now });
      (owner.awarenessClients ??= new Set()).add(entry.clientId);
    }
  }

  /** Removes every state the owner set; returns the update that tells the others, or null. */
  removeOwner(owner: AwarenessOwner): Uint8Array | null {
    const clients = owner.awarenessClients;
    const states = this.states;
    if (!clients || clients.size === 0 || !states) return null;
    const removals: AwarenessEntry[] = [];
    for (const clientId of clients) {
      const state = states.get(clientId);
      if (!state || state.owner !== owner) continue;
      states.delete(clientId);
      this.clocks?.delete(clientId);
      removals.push({ clientId, clock: state.clock + 1, state: null });
    }
    clients.clear();
    return removals.length > 0 ? encodeAwarenessUpdate(removals) : null;
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
