/**
 * Reads on behalf of one user under row-level security (migration 007): defence in
 * depth behind the handlers' own authorization checks.
 *
 * The server's connection role owns the tables, and PostgreSQL applies no row-level
 * security to a table's owner, so `withUserContext` runs the reads in one transaction
 * as the NOLOGIN role `scriptorium_reader`, with `app.current_user_id` set to the user:
 *
 *   begin
 *   select set_config('transaction_read_only', 'on', true),          -- set transaction read only
 *          set_config('role', 'scriptorium_reader', true),            -- set local role scriptorium_reader
 *          set_config('app.current_user_id', $1, true)                -- the user the policies scope to
 *   <fn's reads>
 *   commit
 *
 * (one round trip for the three settings; each is what the SET command beside it does,
 * and all three end with the transaction, so a pooled connection goes back to the pool
 * as the owner role with no user set). The policies then show only rows of projects the
 * user is a member of and of public projects; writes are refused outright (read-only
 * transaction, and the role has only SELECT).
 *
 * The writer — the group-committed update log, compaction, the admin API — never goes
 * through here: it runs as the owner role, to which the policies do not apply (see the
 * migration for why). Open mode has no user to scope to: callers skip this and read
 * on the Db directly (`readAs`).
 *
 * PGlite: it runs as the superuser `postgres` (which owns the tables, so the writer
 * bypasses RLS exactly as on PostgreSQL), supports roles, SET ROLE and policies, and the
 * migration creates the role in its own single-database cluster: the same confinement
 * holds on the embedded default (test/http/row-level-security.test.ts runs on both).
 */
import type { Db, Queryable } from './db.js';

/** The role the policies of migration 007 apply to. */
export const READER_ROLE = 'scriptorium_reader';

// `$1::uuid::text` refuses anything that is not a uuid before it can reach a policy.
const ENTER_SQL = `select set_config('transaction_read_only', 'on', true),
       set_config('role', '${READER_ROLE}', true),
       set_config('app.current_user_id', $1::uuid::text, true)`;

/**
 * Runs `fn` in a read-only transaction as `scriptorium_reader` with
 * `app.current_user_id = userId`. Every statement must go through `tx`.
 */
export function withUserContext<T>(db: Db, userId: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.query(ENTER_SQL, [userId], { statementName: 'scriptorium_user_context' });
    return fn(tx);
  });
}

/**
 * The HTTP read path: a user's reads under `withUserContext`; open mode (`userId`
 * null, every caller the anonymous editor who may read everything) on the Db as is,
 * since there is no user to scope to.
 */
export function readAs<T>(db: Db, userId: string | null, fn: (q: Queryable) => Promise<T>): Promise<T> {
  return userId === null ? fn(db) : withUserContext(db, userId, fn);
}
