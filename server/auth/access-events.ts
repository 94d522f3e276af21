/**
 * Events that take access away from live connections, or change what they are connected to.
 * In process for a single instance; with Redis they travel between instances
 * (RedisAccessEvents) behind the same interface, so a revocation or a deletion closes
 * connections on every instance.
 */
export type AccessEvent =
  | { readonly type: 'session-revoked'; readonly sessionId: string }
  | { readonly type: 'membership-removed' | 'membership-changed'; readonly userId: string; readonly projectId: string }
  /** The document went to the trash: its sessions close, its room takes no one in. */
  | { readonly type: 'document-deleted'; readonly documentId: string }
  /** The document has a new name: a live room of it is reloaded under that name (rooms/room-registry.ts `reload`). */
  | { readonly type: 'document-renamed'; readonly documentId: string }
  /** Events may have been missed (the connection to the other instances was down): every live session checks again. */
  | { readonly type: 'recheck-all' };

export interface AccessEvents {
  /**
   * Delivered to this instance's listeners at once, and to the other instances' when
   * there are any — there in no guaranteed order (each event makes the sessions it
   * concerns check the current state, so order does not matter).
   */
  publish(event: AccessEvent): void;
  /** Returns a function that unsubscribes. */
  subscribe(listener: (event: AccessEvent) => void): () => void;
}

/** The listeners of one instance (the in-process implementation, and the local half of the Redis one). */
export class InProcessAccessEvents implements AccessEvents {
  private readonly listeners = new Set<(event: AccessEvent) => void>();

  publish(event: AccessEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  subscribe(listener: (event: AccessEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
