/**
 * The group commit's INSERT, in isolation: how long one batch of the update log takes on
 * PostgreSQL in the forms we tried. A scratch database gets the `collaborations` shape
 * (same columns, defaults, foreign key and indexes as schema/migrations) and each form
 * inserts `rows`-row batches of keystroke-sized updates, `rounds` times, autocommitted.
 *
 * Run: npm run build && node dist/bench/log-insert-bench.js [rows=510] [rounds=200]
 * Env: BENCH_PG_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres).
 *
 * Forms: `bytea[]` text (node-postgres sends a bytea array as a hex text literal, the
 * original statement), binary (one concatenated bytea cut apart by offsets, as
 * update-log.ts does now), binary + prepared (named statement), and the last one
 * again after the user index became partial (migration 004).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { parseCli } from '../server/command-line.js';

const cli = parseCli({
  command: 'node dist/bench/log-insert-bench.js',
  summary: `The group commit's INSERT in isolation: a scratch database (created and dropped) gets the
collaborations table and each statement form inserts batches of keystroke-sized updates,
autocommitted, printing the mean time per batch.`,
  arguments: [
    { name: 'rows', description: 'rows per batch (default: 510)' },
    { name: 'rounds', description: 'batches per form (default: 200)' },
  ],
  environment: [{ name: 'BENCH_PG_ADMIN_URL', description: 'PostgreSQL admin URL (default: postgres://postgres@127.0.0.1:5432/postgres)' }],
});
const rows = cli.number(cli.positionals[0], 'rows', { integer: true, min: 1 }) ?? 510;
const rounds = cli.number(cli.positionals[1], 'rounds', { integer: true, min: 1 }) ?? 200;
const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DB = `scriptorium_insert_bench_${process.pid}`;

const SCHEMA = `
create table documents (id uuid primary key);
create table collaborations (
  position bigint generated always as identity primary key,
  document_id uuid not null references documents (id) on delete cascade,
  user_id uuid, session_id text not null, operation_type text not null default 'update',
  operation_data jsonb, update bytea not null, size integer not null,
  tx bigint not null default (pg_current_xact_id()::text::bigint),
  created_at timestamptz not null default now());
create index collaborations_document_position_idx on collaborations (document_id, position);
create index collaborations_document_tx_idx on collaborations (document_id, tx);
create index collaborations_user_id_idx on collaborations (user_id);`;

const TEXT_ARRAY = `insert into collaborations (document_id, user_id, session_id, operation_type, update, size)
select d, u, s, 'update', b, octet_length(b) from unnest($1::uuid[], $2::uuid[], $3::text[], $4::bytea[]) as t(d, u, s, b)`;
const BINARY = `insert into collaborations (document_id, user_id, session_id, operation_type, update, size)
select d, u, s, 'update', substring($4::bytea from o for l), l
  from unnest($1::uuid[], $2::uuid[], $3::text[], $5::int4[], $6::int4[]) as t(d, u, s, o, l)`;

interface Row {
  documentId: string;
  sessionId: string;
  update: Buffer;
}

function textArrayQuery(batch: Row[]): pg.QueryConfig {
  return {
    text: TEXT_ARRAY,
    values: [batch.map((r) => r.documentId), batch.map(() => null), batch.map((r) => r.sessionId), batch.map((r) => r.update)],
  };
}

function binaryQuery(batch: Row[], name?: string): pg.QueryConfig {
  const offsets: number[] = [];
  const lengths: number[] = [];
  let offset = 1;
  for (const r of batch) {
    offsets.push(offset);
    lengths.push(r.update.length);
    offset += r.update.length;
  }
  const values = [
    batch.map((r) => r.documentId),
    batch.map(() => null),
    batch.map((r) => r.sessionId),
    Buffer.concat(batch.map((r) => r.update)),
    offsets,
    lengths,
  ];
  return name ? { name, text: BINARY, values } : { text: BINARY, values };
}

async function time(client: pg.Client, label: string, make: () => pg.QueryConfig): Promise<void> {
  let total = 0;
  for (let i = 0; i < rounds; i++) {
    const query = make();
    const t0 = performance.now();
    await client.query(query);
    total += performance.now() - t0;
  }
  console.log(`${label.padEnd(44)} ${(total / rounds).toFixed(2).padStart(7)} ms per ${rows}-row batch`);
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${DB}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${DB}`;
  const client = new pg.Client({ connectionString: url.toString() });
  try {
    await client.connect();
    await client.query(SCHEMA);
    const documents = Array.from({ length: 64 }, () => randomUUID());
    for (const id of documents) await client.query('insert into documents (id) values ($1)', [id]);
    const batch: Row[] = Array.from({ length: rows }, (_, i) => ({
      documentId: documents[i % documents.length]!,
      sessionId: `session-${i % 512}`,
      update: randomBytes(24),
    }));
    // Twice, alternating, so warm-up and drift show as a difference between the passes.
    for (let pass = 1; pass <= 2; pass++) {
      await time(client, `pass ${pass}: bytea[] as text`, () => textArrayQuery(batch));
      await time(client, `pass ${pass}: binary`, () => binaryQuery(batch));
      await time(client, `pass ${pass}: binary, prepared`, () => binaryQuery(batch, 'append'));
    }
    await client.query(`drop index collaborations_user_id_idx;
      create index collaborations_user_id_idx on collaborations (user_id) where user_id is not null`);
    await time(client, 'binary, prepared, partial user index', () => binaryQuery(batch, 'append'));
    await time(client, 'binary, prepared, partial user index (again)', () => binaryQuery(batch, 'append'));
  } finally {
    await client.end().catch(() => {});
    await admin.query(`drop database if exists ${DB} with (force)`);
    await admin.end();
  }
}

await main();
