/**
 * The PostgreSQL admin connection benchmarks create and drop their throwaway databases with
 * (BENCH_PG_ADMIN_URL).
 */
import pg from 'pg';

export const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Runs one statement on a connection of its own (create or drop database cannot share a transaction). */
export async function adminQuery(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}
