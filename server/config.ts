import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MAX_TOKEN_TTL_SECONDS } from './auth/tokens.js';
import { parseRedisEndpoint } from './cluster/redis-endpoint.js';
import { parseAllowedOrigins } from './http/cors.js';
import { DEFAULT_ADDRESS_LIMITS } from './protocol/address-limits.js';
import { MAX_BYTES_BURST, MAX_BYTES_PER_SECOND, MAX_MESSAGES_BURST, MAX_MESSAGES_PER_SECOND } from './protocol/connection-rate.js';
import { DEFAULT_AWARENESS_LIMITS } from './rooms/awareness-table.js';
import type { TransportChoice } from './transport/select-transport.js';

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Unset: embedded PGlite in `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  /** `memory` keeps documents in process only (tests, benchmark reference); never for real data. */
  readonly storage: 'durable' | 'memory';
  /** `redis://…` (one server) or `redis-cluster://host:port,…` (a Redis Cluster: sharded pub/sub). */
  readonly redisUrl: string | undefined;
  /** Prefix of every Redis key and channel (several deployments can share one Redis). */
  readonly redisPrefix: string;
  readonly authSecret: string | undefined;
  readonly adminToken: string | undefined;
  /** Longest token lifetime (`exp - iat`) accepted and minted, in seconds (MAX_TOKEN_TTL_SECONDS). */
  readonly maxTokenTtlSeconds: number;
  /** Socket denials that get an audit row of their own per second on this instance; the rest are counted (AUDIT_DENIALS_PER_SECOND). */
  readonly auditDenialsPerSecond: number;
  readonly logLevel: string;
  readonly transport: TransportChoice;
  readonly maxMessageBytes: number;
  readonly maxBackpressureBytes: number;
  /** Bytes of whole-document frames (SyncStep2 to joiners) in sockets' send buffers at once; more wait their turn. */
  readonly maxStateBytesInFlight: number;
  /** A socket that sends nothing for this long is closed (4408; 4508 on y-websocket sockets: protocol/close-codes.ts). */
  readonly idleTimeoutMs: number;
  readonly maxPendingDocuments: number;
  /** Documents one Hocuspocus socket may have open at once. */
  readonly maxDocumentsPerSocket: number;
  readonly maxQueuedFrames: number;
  readonly maxQueuedBytes: number;
  /** Addresses ("name\0suffix") of one document: per socket, per user, per document (see protocol/address-limits.ts). */
  readonly maxAddressesPerSocket: number;
  readonly maxAddressesPerUser: number;
  readonly maxAddressesPerDocument: number;
  /** Frames for a document that gets no Auth within this long are dropped when their room is needed. */
  readonly queuedDocumentTimeoutMs: number;
  /** Directory served at `/` (the browser app). */
  readonly staticDir: string;
  /** How long shutdown waits for documents to be flushed before giving up. */
  readonly shutdownTimeoutMs: number;
  /** Delete collaboration-log rows (already folded into document state) older than this; undefined keeps them forever. */
  readonly historyRetentionMs: number | undefined;
  /** Documents in the trash longer than this many days are purged, with their log and versions. */
  readonly trashRetentionDays: number;
  /** After a commit, wait up to this long for more edits to share the next one (0 = commit at once). */
  readonly commitDelayMs: number;
  /** Edits waiting to be committed, at most (rows); beyond it new edits are refused. */
  readonly maxPendingUpdates: number;
  /** ... and at most this many bytes of them. */
  readonly maxPendingBytes: number;
  /** Largest document (approximate bytes of its Yjs state); updates that would pass it are refused. */
  readonly maxDocumentBytes: number;
  /** Evictions of one document (an update broke it in memory) per window; beyond, its edits are refused until the window has passed. */
  readonly maxEvictionsPerDocument: number;
  readonly evictionWindowMs: number;
  /** Largest Stateless payload relayed to a document's other clients. */
  readonly maxStatelessBytes: number;
  /** Stateless messages one socket may relay per second (bursts of twice that). */
  readonly statelessPerSecond: number;
  /** Awareness goes out at most once per this many ms per document (0: every message at once). */
  readonly awarenessFlushMs: number;
  /** Awareness (see AwarenessLimits): largest state in bytes; larger ones are dropped. */
  readonly maxAwarenessStateBytes: number;
  /** ... entries read from one client message (the rest are ignored). */
  readonly maxAwarenessEntriesPerMessage: number;
  /** ... client ids one connection may hold in one document. */
  readonly maxAwarenessClientsPerConnection: number;
  /** ... client ids one document may hold, and bytes of their states. */
  readonly maxAwarenessClientsPerDocument: number;
  readonly maxAwarenessBytesPerDocument: number;
  /** Per socket: frames per second and the burst above it; beyond it the socket is closed (4429; 4529 on y-websocket sockets). */
  readonly maxMessagesPerSecond: number;
  readonly maxMessagesBurst: number;
  /** Per socket: bytes per second and the burst above it. */
  readonly maxBytesPerSecond: number;
  readonly maxBytesBurst: number;
  /** Browser origins allowed to open sockets and read the API cross-origin; null: any origin, no CORS headers. */
  readonly allowedOrigins: readonly string[] | null;
  /** API requests per user (or anonymous address) and endpoint per minute; beyond it 429 with Retry-After. */
  readonly httpRateLimitPerMinute: number;
  /** Research-tree projection (research_trees): refreshed this long after the last edit… */
  readonly treeProjectionDelayMs: number;
  /** …and at most this long after the first edit not yet projected. */
  readonly treeProjectionMaxDelayMs: number;
  /** An automatic version is taken this long after the last edit. */
  readonly autoVersionQuietMs: number;
  /** ... and at least this often while editing goes on. */
  readonly autoVersionMaxMs: number;
  /** Webhooks (server/webhooks/): `document.updated` at most once per document per this long. */
  readonly webhookDebounceMs: number;
  /** ... how often each instance looks for events due. */
  readonly webhookPollMs: number;
  /** ... deliveries one instance has in flight at once. */
  readonly webhookConcurrency: number;
  /** ... a receiver that has not answered 2xx within this long failed the attempt. */
  readonly webhookTimeoutMs: number;
  /** ... the first retry after this long, doubling up to `webhookRetryMaxMs` between attempts… */
  readonly webhookRetryFirstMs: number;
  readonly webhookRetryMaxMs: number;
  /** ... until this long after the first attempt: then the delivery is given up (`failed`). */
  readonly webhookRetryWindowMs: number;
}

export class ConfigError extends Error {}

type Env = Readonly<Record<string, string | undefined>>;

function integer(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

function origins(env: Env): readonly string[] | null {
  try {
    return parseAllowedOrigins(env.ALLOWED_ORIGINS);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

const nonEmpty = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);

/** REDIS_URL, checked: one server (`redis://`, `rediss://`) or a Cluster (`redis-cluster://host:port,…`). */
function redisUrl(env: Env): string | undefined {
  const value = nonEmpty(env.REDIS_URL);
  if (value === undefined) return undefined;
  try {
    parseRedisEndpoint(value);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  return value;
}

/** Reads the configuration from the environment (docs/contracts.md "Start and environment"); throws ConfigError. */
export function configFromEnv(env: Env = process.env): Config {
  return {
    port: integer(env, 'PORT', 1234, 0, 65535),
    host: env.HOST || '0.0.0.0',
    databaseUrl: nonEmpty(env.DATABASE_URL),
    dataDir: path.resolve(env.DATA_DIR || './data'),
    storage: oneOf(env, 'STORAGE', ['durable', 'memory'], 'durable'),
    redisUrl: redisUrl(env),
    redisPrefix: env.REDIS_PREFIX ?? 'scriptorium:',
    authSecret: nonEmpty(env.AUTH_SECRET),
    adminToken: nonEmpty(env.ADMIN_TOKEN),
    maxTokenTtlSeconds: integer(env, 'MAX_TOKEN_TTL_SECONDS', DEFAULT_MAX_TOKEN_TTL_SECONDS, 60),
    auditDenialsPerSecond: integer(env, 'AUDIT_DENIALS_PER_SECOND', 10, 1),
    logLevel: oneOf(env, 'LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], 'info'),
    transport: oneOf(env, 'TRANSPORT', ['auto', 'uws', 'ws'], 'auto'),
    maxMessageBytes: integer(env, 'MAX_MESSAGE_BYTES', 16 * 1024 * 1024, 1024),
    maxBackpressureBytes: integer(env, 'MAX_BACKPRESSURE_BYTES', 32 * 1024 * 1024, 1024),
    maxStateBytesInFlight: integer(env, 'MAX_STATE_BYTES_IN_FLIGHT', 256 * 1024 * 1024, 1024 * 1024),
    idleTimeoutMs: integer(env, 'IDLE_TIMEOUT_MS', 60_000, 1_000),
    maxPendingDocuments: integer(env, 'MAX_PENDING_DOCUMENTS', 100, 1),
    maxDocumentsPerSocket: integer(env, 'MAX_DOCUMENTS_PER_SOCKET', 1_000, 1),
    maxQueuedFrames: integer(env, 'MAX_QUEUED_FRAMES', 1_000, 1),
    maxQueuedBytes: integer(env, 'MAX_QUEUED_BYTES', 5 * 1024 * 1024, 1024),
    maxAddressesPerSocket: integer(env, 'MAX_ADDRESSES_PER_SOCKET', DEFAULT_ADDRESS_LIMITS.maxAddressesPerSocket, 1),
    maxAddressesPerUser: integer(env, 'MAX_ADDRESSES_PER_USER', DEFAULT_ADDRESS_LIMITS.maxAddressesPerUser, 0),
    maxAddressesPerDocument: integer(env, 'MAX_ADDRESSES_PER_DOCUMENT', DEFAULT_ADDRESS_LIMITS.maxAddressesPerDocument, 0),
    queuedDocumentTimeoutMs: integer(env, 'QUEUED_DOCUMENT_TIMEOUT_MS', 10_000, 1),
    staticDir: path.resolve(env.STATIC_DIR || defaultStaticDir()),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0),
    historyRetentionMs: env.HISTORY_RETENTION_DAYS ? integer(env, 'HISTORY_RETENTION_DAYS', 0, 1) * 86_400_000 : undefined,
    trashRetentionDays: integer(env, 'TRASH_RETENTION_DAYS', 30, 1, 36_500),
    commitDelayMs: integer(env, 'COMMIT_DELAY_MS', 5, 0, 1_000),
    maxPendingUpdates: integer(env, 'MAX_PENDING_UPDATES', 100_000, 1),
    maxPendingBytes: integer(env, 'MAX_PENDING_BYTES', 256 * 1024 * 1024, 1024),
    maxDocumentBytes: integer(env, 'MAX_DOCUMENT_BYTES', 64 * 1024 * 1024, 1024),
    maxEvictionsPerDocument: integer(env, 'MAX_EVICTIONS_PER_DOCUMENT', 3, 1),
    evictionWindowMs: integer(env, 'EVICTION_WINDOW_MS', 60_000, 100),
    maxStatelessBytes: integer(env, 'MAX_STATELESS_BYTES', 64 * 1024, 0),
    statelessPerSecond: integer(env, 'STATELESS_PER_SECOND', 20, 1),
    awarenessFlushMs: integer(env, 'AWARENESS_FLUSH_MS', 40, 0, 1_000),
    maxAwarenessStateBytes: integer(env, 'MAX_AWARENESS_STATE_BYTES', DEFAULT_AWARENESS_LIMITS.maxStateBytes, 64),
    maxAwarenessEntriesPerMessage: integer(env, 'MAX_AWARENESS_ENTRIES_PER_MESSAGE', DEFAULT_AWARENESS_LIMITS.maxEntriesPerMessage, 1),
    maxAwarenessClientsPerConnection: integer(
      env,
      'MAX_AWARENESS_CLIENTS_PER_CONNECTION',
      DEFAULT_AWARENESS_LIMITS.maxClientsPerConnection,
      1,
    ),
    maxAwarenessClientsPerDocument: integer(env, 'MAX_AWARENESS_CLIENTS_PER_DOCUMENT', DEFAULT_AWARENESS_LIMITS.maxClientsPerDocument, 1),
    maxAwarenessBytesPerDocument: integer(env, 'MAX_AWARENESS_BYTES_PER_DOCUMENT', DEFAULT_AWARENESS_LIMITS.maxBytesPerDocument, 1024),
    maxMessagesPerSecond: integer(env, 'MAX_MESSAGES_PER_SECOND', MAX_MESSAGES_PER_SECOND, 1),
    // A reconnecting provider sends about 4 frames per document at once: the burst must hold them.
    maxMessagesBurst: integer(
      env,
      'MAX_MESSAGES_BURST',
      Math.max(MAX_MESSAGES_BURST, 4 * integer(env, 'MAX_DOCUMENTS_PER_SOCKET', 1_000, 1)),
      1,
    ),
    maxBytesPerSecond: integer(env, 'MAX_BYTES_PER_SECOND', MAX_BYTES_PER_SECOND, 1024),
    maxBytesBurst: integer(env, 'MAX_BYTES_BURST', MAX_BYTES_BURST, 1024),
    allowedOrigins: origins(env),
    httpRateLimitPerMinute: integer(env, 'HTTP_RATE_LIMIT_PER_MINUTE', 120, 1),
    treeProjectionDelayMs: integer(env, 'TREE_PROJECTION_DELAY_MS', 2_000, 0),
    treeProjectionMaxDelayMs: integer(env, 'TREE_PROJECTION_MAX_DELAY_MS', 30_000, 0),
    autoVersionQuietMs: integer(env, 'AUTO_VERSION_QUIET_MS', 60_000, 1),
    autoVersionMaxMs: integer(env, 'AUTO_VERSION_MAX_MS', 600_000, 1),
    webhookDebounceMs: integer(env, 'WEBHOOK_DEBOUNCE_MS', 2_000, 0, 3_600_000),
    webhookPollMs: integer(env, 'WEBHOOK_POLL_MS', 500, 10, 60_000),
    webhookConcurrency: integer(env, 'WEBHOOK_CONCURRENCY', 8, 1, 256),
    // The contract's ceilings: an answer within 10 s delivers, the first retry comes within 10 s,
    // attempts are at most 5 minutes apart.
    webhookTimeoutMs: integer(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 10_000),
    webhookRetryFirstMs: integer(env, 'WEBHOOK_RETRY_FIRST_MS', 5_000, 1, 10_000),
    webhookRetryMaxMs: integer(env, 'WEBHOOK_RETRY_MAX_MS', 300_000, 1, 300_000),
    webhookRetryWindowMs: integer(env, 'WEBHOOK_RETRY_WINDOW_MS', 86_400_000, 1_000, 7 * 86_400_000),
  };
}

/** The package root, whether running from source (server/) or compiled (dist/server/). */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

/** The built browser app if there is one, else the placeholder page. */
function defaultStaticDir(): string {
  const web = path.join(packageRoot(), 'clients', 'web');
  const built = path.join(web, 'dist');
  return existsSync(path.join(built, 'index.html')) ? built : path.join(web, 'public');
}
