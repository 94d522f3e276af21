/**
 * Revoked token sessions (`revoked_sessions`, migration 010): the durable record of a
 * revocation, kept until no token of that session can still be valid (`keep_until`).
 */
import type { Queryable } from './db.js';

/** Records a revocation; revoking again only ever lengthens how long it is kept. */
export async function recordRevocation(db: Queryable, sessionId: string, keepUntil: number): Promise<void> {
  await db.query(
    `insert into revoked_sessions (session_id, keep_until) values ($1, to_timestamp($2::double precision / 1000))
     on conflict (session_id) do update set keep_until = greatest(revoked_sessions.keep_until, excluded.keep_until)`,
    [sessionId, keepUntil],
  );
}

/** True while the session's revocation is kept. */
export async function isRevocationRecorded(db: Queryable, sessionId: string): Promise<boolean> {
  const { rows } = await db.query('select 1 from revoked_sessions where session_id = $1 and keep_until > now()', [sessionId], {
    statementName: 'revoked-session',
  });
  return rows.length > 0;
}

/** Deletes the revocations no token can outlive any more; returns how many. */
export async function purgeRevocations(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    'with gone as (delete from revoked_sessions where keep_until <= now() returning 1) select count(*) as n from gone',
  );
  return Number(rows[0]?.n ?? 0);
}
