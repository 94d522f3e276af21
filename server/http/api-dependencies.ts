import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Db } from '../persistence/db.js';
import type { DocumentStorage } from '../persistence/storage.js';
import type { AccessEvents } from '../auth/access-events.js';
import type { Authorizer } from '../auth/authorizer.js';
import type { SessionStore } from '../auth/session-store.js';
import type { Tokens } from '../auth/tokens.js';
import type { Presence } from '../cluster/presence.js';

/** What the HTTP API needs; built once in startServer. */
export interface ApiDependencies {
  /** Null with STORAGE=memory (routes that need the database answer 501). */
  readonly db: Db | null;
  readonly storage: DocumentStorage;
  /** The same authorizer the sockets use (open mode or project roles). */
  readonly authorizer: Authorizer;
  /** Token mode only (AUTH_SECRET set); null in open mode. */
  readonly tokens: Tokens | null;
  readonly sessions: SessionStore;
  /** Revocations and membership removals, so live connections are closed. */
  readonly accessEvents: AccessEvents;
  /** Who is in which document, on every instance (in process, or Redis with REDIS_URL). */
  readonly presence: Presence;
  /** ADMIN_TOKEN; null disables the admin API. */
  readonly adminToken: string | null;
  readonly logger: Logger;
  /** The server's clock (revocations are kept until a time computed from it). */
  readonly clock: Pick<Clock, 'now'>;
}
