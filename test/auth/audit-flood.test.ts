/**
 * Review item 5: an unauthenticated audit flood. Auth frames with a garbage token for many
 * addresses wrote one `audit_logs` row per denial (about 390 rows per second), without bound;
 * and a valid user's denials were recorded with a null actor. Real PostgreSQL, both socket
 * protocols, both transports.
 *
 * Now socket denials are aggregated per actor (the token's user when it is known, else the
 * source address) and minute: the first denial of an actor in a minute is written at once
 * (`details.count` 1), the rest of that minute become one row with their count; at most
 * AUDIT_DENIALS_PER_SECOND actors get a row of their own per second on an instance, and the
 * denials beyond it are counted in one `permission.denied.suppressed` row per minute. Every
 * denial is counted: the counts add up to the denials sent.
 */
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import pino from 'pino';
import { DenialAudit } from '../../server/auth/denial-audit.js';
import { Tokens } from '../../server/auth/tokens.js';
import type { Clock } from '../../server/clock.js';
import type { Config } from '../../server/config.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { authFrame, decodeFrame, step1Frame } from '../helpers/frames.js';
import { RawClient } from '../helpers/raw-client.js';
import { TRANSPORTS } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';

const SECRET = 'audit-flood-secret-0123456789abcdef';
const tokens = new Tokens(SECRET);
const ids = {
  owner: '50000000-0000-4000-8000-000000000001',
  outsider: '50000000-0000-4000-8000-000000000002',
  outsiderY: '50000000-0000-4000-8000-000000000003',
  expired: '50000000-0000-4000-8000-000000000004',
  project: '60000000-0000-4000-8000-000000000001',
};
const DOC = 'audited-paper';

let database: TestDatabase;
let sql: pg.Client;
let server: RunningServer | null = null;

beforeAll(async () => {
  database = await createTestDatabase('auditflood');
  await (await boot('uws')).close();
  server = null;
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  await sql.query(`
    insert into users (id, email, name) values
      ('${ids.owner}', 'owner@example.org', 'Owner'), ('${ids.outsider}', 'outsider@example.org', 'Outsider'),
      ('${ids.outsiderY}', 'outsider-y@example.org', 'Outsider Y'), ('${ids.expired}', 'expired@example.org', 'Expired');
    insert into projects (id, name, owner_id, visibility) values ('${ids.project}', 'Audited', '${ids.owner}', 'private');
    insert into project_members (project_id, user_id, role) values ('${ids.project}', '${ids.owner}', 'owner');
    insert into documents (project_id, name, kind) values ('${ids.project}', '${DOC}', 'paper');`);
});

afterEach(async () => {
  RawClient.terminateAll();
  await server?.close();
  server = null;
  await sql.query('delete from audit_logs');
});

afterAll(async () => {
  await sql?.end();
  await database?.drop();
});

async function boot(transport: 'uws' | 'ws', extra: Partial<Config> = {}): Promise<RunningServer> {
  server = await startServer({
    config: {
      port: 0,
      host: '127.0.0.1',
      databaseUrl: database.url,
      storage: 'durable',
      transport,
      logLevel: 'silent',
      authSecret: SECRET,
      ...extra,
    },
  });
  return server;
}

interface AuditRow {
  actor: string;
  actor_user_id: string | null;
  action: string;
  resource_id: string | null;
  details: Record<string, unknown>;
}

const denialRows = async () =>
  (
    await sql.query<AuditRow>(
      `select actor, actor_user_id, action, resource_id, details from audit_logs where action like 'permission.denied%' order by created_at, id`,
    )
  ).rows;
/** Denials a row stands for: its count (a row written before aggregation existed stands for one). */
const counted = (rows: readonly AuditRow[]) =>
  rows.reduce((sum, row) => sum + (typeof row.details.count === 'number' ? row.details.count : 1), 0);

/** A raw Hocuspocus socket from a given loopback address (127.0.0.x), counting the PermissionDenied answers. */
async function hocuspocusFrom(port: number, localAddress: string): Promise<{ ws: WebSocket; denied: () => number }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { localAddress });
  let denied = 0;
  ws.on('message', (data: Buffer) => {
    const frame = decodeFrame(new Uint8Array(data), true);
    if (frame.kind === 'auth' && frame.authType === 1) denied++;
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, denied: () => denied };
}

describe.each(TRANSPORTS)('denials in the audit log (%s)', (transport) => {
  it('Auth floods with garbage tokens from many addresses write a bounded number of rows, and every denial is counted', async () => {
    const running = await boot(transport, { auditDenialsPerSecond: 5 } as Partial<Config>);
    const SOURCES = 30;
    const PER_SOURCE = 12;
    const sockets = await Promise.all(Array.from({ length: SOURCES }, (_, i) => hocuspocusFrom(running.port, `127.0.0.${10 + i}`)));
    const started = performance.now();
    for (let round = 0; round < PER_SOURCE; round++) {
      for (const socket of sockets) socket.ws.send(authFrame(`flood-${round}`, 'not.a.jwt', '4.8.0'));
    }
    await waitFor(() => sockets.every((s) => s.denied() === PER_SOURCE), 20_000, 'every Auth answered with PermissionDenied');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const seconds = (performance.now() - started) / 1000;
    const whileRunning = await denialRows();
    // At most 5 actors a second get a row of their own (plus a burst of 5); before: one row per denial.
    expect(whileRunning.length).toBeLessThanOrEqual(Math.ceil(5 * (seconds + 1)) + 5);
    expect(whileRunning.length).toBeGreaterThan(0);
    for (const row of whileRunning) {
      expect(row).toMatchObject({
        actor: 'user',
        actor_user_id: null,
        action: 'permission.denied',
        details: { count: 1, via: 'socket', reason: 'invalid token' },
      });
      expect(row.details.source).toMatch(/^127\.0\.0\.\d+$/);
    }
    for (const socket of sockets) socket.ws.terminate();

    // Shutdown writes what was held back: one row per actor with the rest of its minute, and one for the suppressed.
    await running.close();
    server = null;
    const all = await denialRows();
    expect(counted(all)).toBe(SOURCES * PER_SOURCE);
    const sources = new Set(whileRunning.map((row) => row.details.source));
    const summaries = all.filter((row) => row.action === 'permission.denied' && row.details.aggregated === true);
    expect(summaries.length).toBeLessThanOrEqual(sources.size);
    for (const summary of summaries) {
      expect(sources.has(summary.details.source)).toBe(true);
      expect(summary.details.count).toBeLessThanOrEqual(PER_SOURCE - 1);
      expect(summary.details.reasons).toEqual({ 'invalid token': summary.details.count });
    }
    // The sources that got no row of their own are named in the one suppressed row.
    const suppressed = all.filter((row) => row.action === 'permission.denied.suppressed');
    expect(suppressed).toHaveLength(1);
    expect(suppressed[0]).toMatchObject({ actor: 'system', actor_user_id: null });
    expect(suppressed[0]!.details.count).toBeGreaterThanOrEqual((SOURCES - sources.size) * PER_SOURCE);
    expect(all.length).toBeLessThanOrEqual(2 * sources.size + 1);
  });

  it('y-websocket connections with a garbage token: one row per source a minute, the rest counted', async () => {
    const running = await boot(transport);
    const CONNECTIONS = 40;
    const closes = await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        const client = await RawClient.connect(running.port, `/y/${encodeURIComponent(DOC)}?token=garbage`);
        return client.waitClose(10_000);
      }),
    );
    expect(closes.every((c) => c.code === 4403 && c.reason === 'invalid token')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await denialRows()).toHaveLength(1);
    await running.close();
    server = null;
    const all = await denialRows();
    expect(all).toHaveLength(2);
    expect(counted(all)).toBe(CONNECTIONS);
    expect(all[1]!.details).toMatchObject({ aggregated: true, count: CONNECTIONS - 1, source: '127.0.0.1' });
  });

  it('records the actor of a valid user who is denied, on both protocols, and of an expired token', async () => {
    const running = await boot(transport);
    const hocuspocus = await RawClient.connect(running.port);
    hocuspocus.send(authFrame(DOC, (await tokens.mint(ids.outsider)).token, '4.8.0'));
    hocuspocus.send(step1Frame(DOC, Y.encodeStateVector(new Y.Doc())));
    await hocuspocus.waitForFrame((f) => f.kind === 'auth' && f.authType === 1, 5_000, 'outsider denied');
    const y = await RawClient.connect(running.port, `/y/${encodeURIComponent(DOC)}?token=${(await tokens.mint(ids.outsiderY)).token}`);
    expect(await y.waitClose()).toEqual({ code: 4403, reason: `no access to document "${DOC}"` });
    const expired = await RawClient.connect(
      running.port,
      `/y/${encodeURIComponent(DOC)}?token=${(await tokens.mint(ids.expired, -10)).token}`,
    );
    expect(await expired.waitClose()).toEqual({ code: 4403, reason: 'token expired' });
    await waitFor(async () => (await denialRows()).length === 3, 5_000, 'three denial rows');
    const rows = await denialRows();
    const byActor = new Map(rows.map((row) => [row.actor_user_id, row]));
    expect(byActor.get(ids.outsider)).toMatchObject({
      actor: 'user',
      resource_id: DOC,
      details: { reason: `no access to document "${DOC}"`, via: 'socket' },
    });
    expect(byActor.get(ids.outsiderY)).toMatchObject({
      actor: 'user',
      resource_id: DOC,
      details: { reason: `no access to document "${DOC}"`, via: 'socket' },
    });
    expect(byActor.get(ids.expired)).toMatchObject({ actor: 'user', resource_id: DOC, details: { reason: 'token expired' } });
  });
});

describe('DenialAudit bounds (simulated clock, the rows as PostgreSQL receives them)', () => {
  it('100,000 denials from 10,000 sources over three minutes: at most perSecond rows of their own a second, every denial counted', async () => {
    let now = 1_000_000;
    const ticks: Array<() => void> = [];
    const clock: Clock = { now: () => now, every: (_ms, fn) => (ticks.push(fn), () => {}), after: () => () => {} };
    const rows: Array<{ action: string; details: { count: number } }> = [];
    const db = {
      query: async (_sql: string, params?: readonly unknown[]) => {
        const [, , actions, , , details] = params as [unknown, unknown, string[], unknown, unknown, string[]];
        actions.forEach((action, i) => rows.push({ action, details: JSON.parse(details[i]!) }));
        return { rows: [] };
      },
      exec: async () => {},
    };
    const audit = new DenialAudit(db, pino({ level: 'silent' }), { perSecond: 10, clock });
    const perWindow: number[] = [];
    let total = 0;
    for (let minute = 0; minute < 3; minute++) {
      const before = rows.length;
      for (let i = 0; i < 100_000 / 3; i++) {
        now += 60_000 / (100_000 / 3);
        audit.record({
          userId: null,
          tokenSession: null,
          document: `doc-${i % 50}`,
          reason: 'invalid token',
          source: `10.0.${Math.floor((i % 10_000) / 256)}.${(i % 10_000) % 256}`,
        });
        total++;
      }
      for (const tick of ticks) tick();
      await audit.settled();
      perWindow.push(rows.length - before);
    }
    await audit.close();
    // Per minute: at most 10/s × 60 s (+ the burst) rows of their own, as many aggregate rows, one suppressed row.
    for (const written of perWindow) expect(written).toBeLessThanOrEqual(2 * (10 * 60 + 10) + 1);
    expect(rows.reduce((sum, row) => sum + row.details.count, 0)).toBe(total);
    expect(rows.filter((row) => row.action === 'permission.denied.suppressed')).toHaveLength(3);
  });
});
