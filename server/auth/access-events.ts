/**
 * Events that take access away from live connections. In process here; the scale-out
 * work carries them over the Redis bus behind the same interface, so a revocation closes
 * connections on every instance.
 */
export type AccessEvent =
  | { readonly type: 'session-revoked'; readonly sessionId: string }
  | { readonly type: 'membership-removed' | 'membership-changed'; readonly userId: string; readonly projectId: string };

export interface AccessEvents {
  publish(event: AccessEvent): void;
  /** Returns a function that unsubscribes. */
  subscribe(listener: (event: AccessEvent) => void): () => void;
}

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
