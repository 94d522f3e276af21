/**
 * The audit trail (`audit_logs`, migration 006): admin actions, session revocations,
 * membership removals and refused requests. Writing an entry must never fail the action
 * it records, so callers on a request path use `recordAuditSafely`, which logs a failed
 * write and carries on.
 */
import type { Logger } from 'pino';
import type { Queryable } from './db.js';

/** Who acted: the admin token, a user's token, or the server itself (e.g. a socket closed on revocation). */
export type AuditActor = 'admin' | 'user' | 'system';

export interface AuditEntry {
  readonly actor: AuditActor;
  /** `users.id` of the acting user (actor `user`); null otherwise. */
  readonly actorUserId?: string | null | undefined;
  /** What happened, `noun.verb` style: `user.create`, `permission.denied`, `session.revoke`. */
  readonly action: string;
  /** What it happened to: `user`, `project`, `project_member`, `document`, `session`, `token`. */
  readonly resourceType?: string | null | undefined;
  /** Its id (or name, for a document that does not exist). */
  readonly resourceId?: string | null | undefined;
  /** Anything else worth keeping (reason, role, path). Never a token or a secret. */
  readonly details?: Readonly<Record<string, unknown>> | undefined;
}

export interface AuditRecord {
  readonly id: string;
  readonly actor: AuditActor;
  readonly actorUserId: string | null;
  readonly action: string;
  readonly resourceType: string | null;
  readonly resourceId: string | null;
  readonly details: Record<string, unknown>;
  readonly createdAt: Date;
}

export interface AuditQuery {
  /** Page size, 1..AUDIT_MAX_LIMIT (default 100). */
  readonly limit?: number | undefined;
  /** Only entries older than this entry (the previous page's last id). */
  readonly before?: string | undefined;
}

export const AUDIT_MAX_LIMIT = 1000;

/** Appends one entry; rejects when the database does (callers on a request path: recordAuditSafely). */
export async function recordAudit(db: Queryable, entry: AuditEntry): Promise<void> {
  await db.query(
    `insert into audit_logs (actor, actor_user_id, action, resource_type, resource_id, details)
     values ($1, $2, $3, $4, $5, $6::jsonb)`,
    [
      entry.actor,
      entry.actorUserId ?? null,
      entry.action,
      entry.resourceType ?? null,
      entry.resourceId ?? null,
      JSON.stringify(entry.details ?? {}),
    ],
  );
}

/**
 * recordAudit that never rejects: a failed write is logged with the entry and the caller
 * goes on (an unreachable database must not turn a refusal into a 500 or block a socket).
 * `db` null (STORAGE=memory) records nothing.
 */
export async function recordAuditSafely(db: Queryable | null, logger: Logger, entry: AuditEntry): Promise<void> {
  if (!db) return;
  try {
    await recordAudit(db, entry);
  } catch (error) {
    logger.error({ err: error, audit: entry }, 'audit entry could not be written');
  }
}

/** Newest first, in pages: pass the last entry's id as `before` for the next page. */
export async function listAudit(db: Queryable, query: AuditQuery = {}): Promise<AuditRecord[]> {
  const limit = Math.max(1, Math.min(AUDIT_MAX_LIMIT, Math.trunc(query.limit ?? 100)));
  const { rows } = await db.query<{
    id: string;
    actor: AuditActor;
    actor_user_id: string | null;
    action: string;
    resource_type: string | null;
    resource_id: string | null;
    details: Record<string, unknown>;
    created_at: Date;
  }>(
    // Keyset on (created_at, id): an unknown `before` id matches nothing (an empty page).
    `select id, actor, actor_user_id, action, resource_type, resource_id, details, created_at
       from audit_logs
      where $1::uuid is null
         or (created_at, id) < (select created_at, id from audit_logs where id = $1::uuid)
      order by created_at desc, id desc
      limit $2`,
    [query.before ?? null, limit],
  );
  return rows.map((r) => ({
    id: r.id,
    actor: r.actor,
    actorUserId: r.actor_user_id,
    action: r.action,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    details: r.details,
    createdAt: r.created_at,
  }));
}
