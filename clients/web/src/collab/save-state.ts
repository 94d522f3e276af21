/** What the save indicator knows; read from the provider and its socket. */
export interface SaveFacts {
  /** The socket is open (and the browser thinks it is online). */
  readonly connected: boolean;
  /** A connection was lost or refused since the last one opened (not merely "connecting" at start). */
  readonly lostConnection: boolean;
  /** The provider has received the server's SyncStep2 on this connection. */
  readonly synced: boolean;
  /** Updates sent (or queued) without a SyncStatus yet: the server acknowledges after its commit. */
  readonly unsyncedChanges: number;
}

/**
 * The save state's text (docs/contracts.md "Browser app"): "Saved" only when the server has acknowledged
 * every local change, "Offline — N changes pending" while disconnected, "Saving…" otherwise.
 */
export function saveStateText(facts: SaveFacts): string {
  if (!facts.connected && facts.lostConnection) return `Offline — ${facts.unsyncedChanges} changes pending`;
  if (facts.connected && facts.synced && facts.unsyncedChanges === 0) return 'Saved';
  return 'Saving…';
}
