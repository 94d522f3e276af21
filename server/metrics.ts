import client from 'prom-client';
import type { StorageStats } from '../persistence/storage.js';

/**
 * Hot-path counters are plain numbers; prom-client reads them only when /metrics is
 * scraped, so counting a message costs an increment, not a registry lookup.
 */
export const stats = {
  connectionsOpen: 0,
  connectionsTotal: 0,
  messagesIn: 0,
  bytesIn: 0,
  /** Frames written by the server: direct sends plus one per topic publish. */
  messagesOut: 0,
  bytesOut: 0,
  updatesApplied: 0,
  updatesRejected: 0,
  roomsOpen: 0,
};

export interface ServerMetrics {
  readonly registry: client.Registry;
  /** Seconds spent validating and applying one client update. */
  readonly applySeconds: client.Histogram;
  /** Seconds from an update being applied to its acknowledgement (durability wait). */
  readonly ackSeconds: client.Histogram;
}

export function createMetrics(extra: { storageHealthy: () => boolean; storageStats?: () => StorageStats }): ServerMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const gauge = (name: string, help: string, read: () => number) =>
    new client.Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  // Monotonic values exposed as counters; prom-client counters cannot be set, so a
  // collect-time gauge with the `_total` name is the honest representation here.
  gauge('scriptorium_connections', 'Open WebSocket connections', () => stats.connectionsOpen);
  gauge('scriptorium_connections_opened_total', 'WebSocket connections accepted since start', () => stats.connectionsTotal);
  gauge('scriptorium_rooms', 'Documents loaded in memory', () => stats.roomsOpen);
  gauge('scriptorium_messages_in_total', 'WebSocket frames received', () => stats.messagesIn);
  gauge('scriptorium_bytes_in_total', 'WebSocket bytes received', () => stats.bytesIn);
  gauge('scriptorium_messages_out_total', 'WebSocket frames sent (a topic publish counts once)', () => stats.messagesOut);
  gauge('scriptorium_bytes_out_total', 'WebSocket bytes sent (a topic publish counts once)', () => stats.bytesOut);
  gauge('scriptorium_updates_applied_total', 'Client updates applied to documents', () => stats.updatesApplied);
  gauge('scriptorium_updates_rejected_total', 'Client updates refused as invalid or read-only', () => stats.updatesRejected);
  gauge('scriptorium_storage_healthy', '1 while commits to the database succeed', () => (extra.storageHealthy() ? 1 : 0));
  const storageStats = extra.storageStats;
  if (storageStats) {
    gauge('scriptorium_storage_pending_updates', 'Updates applied but not yet durable (not acknowledged)', () => storageStats().pending);
    gauge('scriptorium_storage_committed_updates_total', 'Updates committed to the log', () => storageStats().committedRows);
    gauge('scriptorium_storage_commits_total', 'Group commits (committed updates / commits = batch size)', () => storageStats().committedBatches);
    gauge('scriptorium_storage_failed_commits_total', 'Commit attempts that failed and were retried', () => storageStats().failedAttempts);
    gauge('scriptorium_storage_dropped_updates_total', 'Updates the database rejected permanently', () => storageStats().droppedRows);
  }
  const applySeconds = new client.Histogram({
    name: 'scriptorium_update_apply_seconds',
    help: 'Time to validate and apply one client update',
    buckets: [0.00001, 0.00003, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1],
    registers: [registry],
  });
  const ackSeconds = new client.Histogram({
    name: 'scriptorium_update_ack_seconds',
    help: 'Time from applying an update to acknowledging it durable',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 2],
    registers: [registry],
  });
  return { registry, applySeconds, ackSeconds };
}
