/**
 * The server's metrics, one set per running server (tests start several in one process).
 * Hot-path figures are plain numbers and bucket arrays: recording costs an increment;
 * prom-client only reads them when /metrics is scraped.
 */
import client from 'prom-client';
import type { StorageStats } from './persistence/storage.js';

/** Counters the hot path increments directly. */
export class Counters {
  connectionsOpen = 0;
  connectionsTotal = 0;
  messagesIn = 0;
  bytesIn = 0;
  /** Frames written by the server: direct sends plus one per topic publish. */
  messagesOut = 0;
  bytesOut = 0;
  updatesApplied = 0;
  /** Refused as invalid, read-only, or because the write queue was full. */
  updatesRejected = 0;
  roomsOpen = 0;
  /** Rooms whose Y.Doc failed halfway through an update and were reloaded from storage. */
  roomsEvicted = 0;
  /** Stateless messages not relayed (read-only sender, too large, over the rate). */
  statelessDropped = 0;
  /** Awareness entries dropped by a bound (state size, per message, connection or document) and QueryAwareness over the rate. */
  awarenessDropped = 0;
}

/**
 * A histogram whose `observe` is a short loop over fixed bounds into a Float64Array:
 * no allocation, no label lookup. Exposed to prom-client as a custom metric.
 */
export class CheapHistogram {
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }

  /** Total observations (for tests and the bench). */
  get observations(): number {
    return this.count;
  }

  /** The prom-client metric object (cumulative buckets, built at scrape time). */
  metric(): client.Metric {
    const self = this;
    return {
      name: this.name,
      help: this.help,
      type: 'histogram',
      aggregator: 'sum',
      get() {
        const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
        let cumulative = 0;
        self.bounds.forEach((bound, i) => {
          cumulative += self.counts[i]!;
          values.push({ metricName: `${self.name}_bucket`, labels: { le: bound }, value: cumulative });
        });
        values.push({ metricName: `${self.name}_bucket`, labels: { le: '+Inf' }, value: self.count });
        values.push({ metricName: `${self.name}_sum`, labels: {}, value: self.sum });
        values.push({ metricName: `${self.name}_count`, labels: {}, value: self.count });
        return Promise.resolve({ name: self.name, help: self.help, type: 'histogram', values, aggregator: 'sum' });
      },
    } as unknown as client.Metric;
  }
}

export interface ServerMetrics {
  readonly registry: client.Registry;
  readonly counters: Counters;
  /** Seconds spent validating and applying one client update. */
  readonly applySeconds: CheapHistogram;
  /** Seconds from an update being applied to its acknowledgement (durability wait). */
  readonly ackSeconds: CheapHistogram;
}

export interface MetricSources {
  readonly storageHealthy: () => boolean;
  readonly storageStats: () => StorageStats;
  /** Present when there is a bus to other instances (REDIS_URL). */
  readonly busHealthy?: (() => boolean) | undefined;
}

export function createMetrics(sources: MetricSources, counters = new Counters()): ServerMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const gauge = (name: string, help: string, read: () => number) =>
    new client.Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  // Monotonic values exposed as counters; prom-client counters cannot be set, so a
  // collect-time gauge with the `_total` name is the honest representation here.
  gauge('scriptorium_connections', 'Open WebSocket connections', () => counters.connectionsOpen);
  gauge('scriptorium_connections_opened_total', 'WebSocket connections accepted since start', () => counters.connectionsTotal);
  gauge('scriptorium_rooms', 'Documents loaded in memory', () => counters.roomsOpen);
  gauge('scriptorium_rooms_evicted_total', 'Rooms reloaded from storage after an update failed halfway', () => counters.roomsEvicted);
  gauge('scriptorium_messages_in_total', 'WebSocket frames received', () => counters.messagesIn);
  gauge('scriptorium_bytes_in_total', 'WebSocket bytes received', () => counters.bytesIn);
  gauge('scriptorium_messages_out_total', 'WebSocket frames sent (a topic publish counts once)', () => counters.messagesOut);
  gauge('scriptorium_bytes_out_total', 'WebSocket bytes sent (a topic publish counts once)', () => counters.bytesOut);
  gauge('scriptorium_updates_applied_total', 'Client updates applied to documents', () => counters.updatesApplied);
  gauge(
    'scriptorium_updates_rejected_total',
    'Client updates refused (invalid, read-only, or write queue full)',
    () => counters.updatesRejected,
  );
  gauge(
    'scriptorium_stateless_dropped_total',
    'Stateless messages not relayed (read-only, too large or over the rate)',
    () => counters.statelessDropped,
  );
  gauge(
    'scriptorium_awareness_dropped_total',
    'Awareness entries dropped by a bound (state size, per message, per connection, per document) and QueryAwareness messages over the rate',
    () => counters.awarenessDropped,
  );
  gauge('scriptorium_storage_healthy', '1 while commits to the database succeed', () => (sources.storageHealthy() ? 1 : 0));
  const busHealthy = sources.busHealthy;
  if (busHealthy)
    gauge('scriptorium_redis_healthy', '1 while the bus to the other instances (Redis) is connected', () => (busHealthy() ? 1 : 0));
  const stats = sources.storageStats;
  gauge('scriptorium_storage_pending_updates', 'Updates applied but not yet durable (not acknowledged)', () => stats().pending);
  gauge('scriptorium_storage_pending_bytes', 'Bytes of updates applied but not yet durable', () => stats().pendingBytes);
  gauge('scriptorium_storage_committed_updates_total', 'Updates committed to the log', () => stats().committedRows);
  gauge('scriptorium_storage_commits_total', 'Group commits (committed updates / commits = batch size)', () => stats().committedBatches);
  gauge('scriptorium_storage_failed_commits_total', 'Commit attempts that failed with a retryable error', () => stats().failedAttempts);
  gauge(
    'scriptorium_storage_refused_updates_total',
    'Updates the database refused permanently (their senders were told)',
    () => stats().refusedRows,
  );
  gauge('scriptorium_storage_rejected_full_total', 'Updates turned away because the write queue was full', () => stats().rejectedFull);
  gauge(
    'scriptorium_storage_quarantined_updates_total',
    'Stored updates that failed to apply and are kept out of the folded state',
    () => stats().quarantinedRows,
  );
  const applySeconds = new CheapHistogram(
    'scriptorium_update_apply_seconds',
    'Time to validate and apply one client update',
    [0.00001, 0.00003, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1],
  );
  const ackSeconds = new CheapHistogram(
    'scriptorium_update_ack_seconds',
    'Time from applying an update to acknowledging it durable',
    [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 2],
  );
  registry.registerMetric(applySeconds.metric());
  registry.registerMetric(ackSeconds.metric());
  return { registry, counters, applySeconds, ackSeconds };
}
