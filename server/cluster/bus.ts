import { systemClock, type Clock } from '../clock.js';

/**
 * The bus between instances: one channel per document (`doc:{name}`), carrying the
 * updates and awareness an instance accepted, and the state-vector exchange that
 * catches a replica up. Implementations: in process (tests, one process standing in for
 * several instances) and Redis pub/sub.
 */
export interface Bus {
  /** False while the connection to the other instances is down (edits stay local meanwhile). */
  readonly healthy: boolean;
  /** This instance's id. A message may come back to its publisher (Redis does that); the relay ignores its own. */
  readonly instanceId: string;
  /** Resolves once messages of the document's channel are being received. */
  subscribe(document: string, onMessage: (data: Uint8Array) => void): Promise<void>;
  unsubscribe(document: string): void;
  /**
   * Fire and forget: a message lost here is repaired by the catch-up exchange. When
   * `reached` is given it is called with how many subscribers the message reached, this
   * instance's own subscription included (Redis: PUBLISH's reply), or not at all if that
   * is unknown (Redis down).
   */
  publish(document: string, data: Uint8Array, reached?: (subscribers: number) => void): void;
  /**
   * Fire and forget: this instance is alive and has stored every update it published up
   * to number `through`; the announcement lapses after `ttlMs` unless renewed.
   */
  announce(through: number, ttlMs: number): void;
  /** What `instanceId` announced last, or null once that lapsed (it fell silent). Rejects while the others are unreachable. */
  announced(instanceId: string): Promise<number | null>;
  /** Called after the connection to the other instances was lost and is back. */
  onReconnect(listener: () => void): void;
  close(): Promise<void>;
}

/** Instances in one process, for tests: each `connect` is one instance's Bus. */
export class InProcessBusHub {
  private readonly channels = new Map<string, Map<string, (data: Uint8Array) => void>>();
  private readonly reconnectListeners = new Map<string, (() => void)[]>();
  private readonly announcements = new Map<string, { through: number; until: number }>();
  /** Messages to drop before delivery (tests of the catch-up): return true to lose one. */
  lose: ((to: string, document: string, data: Uint8Array) => boolean) | null = null;
  /** Instances whose announcements are dropped (tests: as if they had died). */
  readonly silenced = new Set<string>();

  /** Announcements lapse by this clock. */
  constructor(private readonly clock: Pick<Clock, 'now'> = systemClock) {}

  /** As if the instance's connection to the others had dropped and come back. */
  reconnect(instanceId: string): void {
    for (const listener of this.reconnectListeners.get(instanceId) ?? []) listener();
  }

  connect(instanceId: string): Bus {
    const channels = this.channels;
    const hub = this;
    const mine = new Set<string>();
    return {
      instanceId,
      healthy: true,
      async subscribe(document, onMessage) {
        let subscribers = channels.get(document);
        if (!subscribers) channels.set(document, (subscribers = new Map()));
        subscribers.set(instanceId, onMessage);
        mine.add(document);
      },
      unsubscribe(document) {
        channels.get(document)?.delete(instanceId);
        mine.delete(document);
      },
      publish(document, data, reached) {
        const subscribers = channels.get(document);
        if (reached) {
          const count = subscribers?.size ?? 0;
          queueMicrotask(() => reached(count));
        }
        if (!subscribers) return;
        // Delivered later, as over a network, never inside the publisher's call.
        for (const [id, onMessage] of subscribers) {
          if (id === instanceId || hub.lose?.(id, document, data)) continue;
          queueMicrotask(() => onMessage(data));
        }
      },
      announce(through, ttlMs) {
        if (!hub.silenced.has(instanceId)) hub.announcements.set(instanceId, { through, until: hub.clock.now() + ttlMs });
      },
      async announced(other) {
        const announcement = hub.announcements.get(other);
        return announcement && announcement.until > hub.clock.now() ? announcement.through : null;
      },
      onReconnect(listener) {
        const listeners = hub.reconnectListeners.get(instanceId) ?? [];
        listeners.push(listener);
        hub.reconnectListeners.set(instanceId, listeners);
      },
      async close() {
        for (const document of mine) channels.get(document)?.delete(instanceId);
        mine.clear();
      },
    };
  }
}
