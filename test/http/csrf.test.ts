/**
 * Hardening (item 8): cross-site request forgery. In open mode a page on any site could make
 * the user's browser POST to the server: a `text/plain` body is a "simple" request, sent without
 * a preflight, so CORS only kept the answer from the page — the document, the named version
 * and the restore were done all the same. Now, on both transports:
 *   - a state-changing request (POST/PUT/PATCH/DELETE) whose Origin is present and not in
 *     ALLOWED_ORIGINS is refused with 403 before any route runs; without ALLOWED_ORIGINS, one
 *     the browser marks `Sec-Fetch-Site: cross-site`/`same-site` is refused the same way;
 *   - a JSON body must come as `application/json` (a type a cross-site page can only send after
 *     a preflight, which a listed origin alone passes): anything else is 415.
 * Reads are not refused (CORS keeps their answers from other origins), and clients that send
 * no Origin (servers, scripts) work as before. Real PostgreSQL (named versions need it).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { TRANSPORTS } from '../helpers/servers.js';
import { startDurableServer } from '../helpers/versions.js';

const APP = 'https://app.example.com';
const EVIL = 'https://evil.example.net';

let database: TestDatabase;
let sql: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase('csrf');
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
});

afterAll(async () => {
  await sql?.end();
  await database?.drop();
});

interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

async function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text), headers: response.headers };
}

const documentsNamed = async (name: string) =>
  Number((await sql.query<{ n: string }>('select count(*) as n from documents where name = $1', [name])).rows[0]!.n);
const versionsOf = async (name: string) =>
  Number(
    (
      await sql.query<{ n: string }>(
        'select count(*) as n from document_versions v join documents d on d.id = v.document_id where d.name = $1',
        [name],
      )
    ).rows[0]!.n,
  );
const docPath = (name: string, rest = '') => `/api/documents/${encodeURIComponent(name)}${rest}`;
const JSON_TYPE = { 'content-type': 'application/json' };
const TEXT_TYPE = { 'content-type': 'text/plain;charset=UTF-8' };

describe.each(TRANSPORTS)('over %s', (transport) => {
  describe('open mode with ALLOWED_ORIGINS', () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await startDurableServer(database, {
        transport,
        allowedOrigins: [APP],
        autoVersionQuietMs: 3_600_000,
        autoVersionMaxMs: 3_600_000,
      });
      const created = await send(
        server.port,
        'POST',
        '/api/documents',
        JSON_TYPE,
        JSON.stringify({ name: `${transport}/target`, kind: 'paper' }),
      );
      expect(created.status).toBe(201);
      const version = await send(
        server.port,
        'POST',
        docPath(`${transport}/target`, '/versions'),
        JSON_TYPE,
        JSON.stringify({ label: 'first' }),
      );
      expect(version.status).toBe(201);
    });
    afterAll(async () => {
      await server?.close();
    });

    it('refuses a cross-origin text/plain POST that would create a document (403, nothing created)', async () => {
      const name = `${transport}/forged`;
      const answer = await send(
        server.port,
        'POST',
        '/api/documents',
        { ...TEXT_TYPE, origin: EVIL },
        JSON.stringify({ name, kind: 'paper' }),
      );
      expect(answer.status).toBe(403);
      expect(answer.body).toEqual({ error: 'origin not allowed' });
      expect(answer.headers.get('access-control-allow-origin')).toBeNull();
      expect(await documentsNamed(name)).toBe(0);
    });

    it('refuses cross-origin named versions and restores, with or without a body (403, nothing stored)', async () => {
      const name = `${transport}/target`;
      const before = await versionsOf(name);
      const label = await send(
        server.port,
        'POST',
        docPath(name, '/versions'),
        { ...TEXT_TYPE, origin: EVIL },
        JSON.stringify({ label: 'forged' }),
      );
      const bare = await send(server.port, 'POST', docPath(name, '/versions'), { origin: EVIL });
      const restore = await send(server.port, 'POST', docPath(name, '/versions/1/restore'), { origin: EVIL });
      expect([label.status, bare.status, restore.status]).toEqual([403, 403, 403]);
      expect(restore.body).toEqual({ error: 'origin not allowed' });
      expect(await versionsOf(name)).toBe(before);
    });

    it('refuses every state-changing method from an origin not listed, also `null`', async () => {
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        for (const origin of [EVIL, 'null']) {
          const answer = await send(server.port, method, docPath(`${transport}/target`), { origin });
          expect({ method, origin, status: answer.status, body: answer.body }).toEqual({
            method,
            origin,
            status: 403,
            body: { error: 'origin not allowed' },
          });
        }
      }
    });

    it('still answers reads from any origin (CORS keeps the answer from the page)', async () => {
      const answer = await send(server.port, 'GET', docPath(`${transport}/target`), { origin: EVIL });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('answers 415 to a JSON body sent as anything but application/json, from a listed origin or none', async () => {
      const name = `${transport}/typed`;
      for (const headers of [
        { ...TEXT_TYPE, origin: APP },
        TEXT_TYPE,
        { 'content-type': 'application/x-www-form-urlencoded' },
        { 'content-type': 'multipart/form-data; boundary=x' },
        {},
      ]) {
        const answer = await send(server.port, 'POST', '/api/documents', headers, JSON.stringify({ name, kind: 'paper' }));
        expect({ headers, status: answer.status }).toEqual({ headers, status: 415 });
        expect(answer.body).toEqual({ error: 'content-type must be application/json' });
      }
      const label = await send(
        server.port,
        'POST',
        docPath(`${transport}/target`, '/versions'),
        TEXT_TYPE,
        JSON.stringify({ label: 'typed' }),
      );
      expect(label.status).toBe(415);
      expect(await documentsNamed(name)).toBe(0);
    });

    it('serves a listed origin and clients without Origin as before', async () => {
      const fromApp = await send(
        server.port,
        'POST',
        '/api/documents',
        { 'content-type': 'application/json; charset=utf-8', origin: APP },
        JSON.stringify({ name: `${transport}/from app`, kind: 'paper' }),
      );
      expect(fromApp.status).toBe(201);
      expect(fromApp.headers.get('access-control-allow-origin')).toBe(APP);
      const script = await send(
        server.port,
        'POST',
        '/api/documents',
        { 'content-type': 'Application/JSON' },
        JSON.stringify({ name: `${transport}/from script`, kind: 'paper' }),
      );
      expect(script.status).toBe(201);
      // The browser app's restore and unlabelled version carry no body, hence no content type.
      const bare = await send(server.port, 'POST', docPath(`${transport}/target`, '/versions'), { origin: APP });
      expect(bare.status).toBe(201);
      const restore = await send(server.port, 'POST', docPath(`${transport}/target`, '/versions/1/restore'), { origin: APP });
      expect(restore.status).toBe(200);
    });
  });

  describe('open mode without ALLOWED_ORIGINS', () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await startDurableServer(database, { transport, autoVersionQuietMs: 3_600_000, autoVersionMaxMs: 3_600_000 });
      expect(
        (await send(server.port, 'POST', '/api/documents', JSON_TYPE, JSON.stringify({ name: `${transport}/open target`, kind: 'paper' })))
          .status,
      ).toBe(201);
    });
    afterAll(async () => {
      await server?.close();
    });

    it('refuses a write the browser marks cross-site (a forged form or no-cors fetch), nothing stored', async () => {
      const name = `${transport}/open target`;
      const before = await versionsOf(name);
      for (const site of ['cross-site', 'same-site']) {
        const bare = await send(server.port, 'POST', docPath(name, '/versions'), { origin: EVIL, 'sec-fetch-site': site });
        expect({ site, status: bare.status, body: bare.body }).toEqual({
          site,
          status: 403,
          body: { error: 'cross-site request refused' },
        });
      }
      const forged = await send(
        server.port,
        'POST',
        '/api/documents',
        { ...TEXT_TYPE, origin: EVIL, 'sec-fetch-site': 'cross-site' },
        JSON.stringify({ name: `${transport}/open forged`, kind: 'paper' }),
      );
      expect(forged.status).toBe(403);
      expect(await versionsOf(name)).toBe(before);
      expect(await documentsNamed(`${transport}/open forged`)).toBe(0);
    });

    it('refuses a text/plain JSON body (415) and serves the same-origin app', async () => {
      const forged = await send(
        server.port,
        'POST',
        '/api/documents',
        TEXT_TYPE,
        JSON.stringify({ name: `${transport}/open plain`, kind: 'paper' }),
      );
      expect(forged.status).toBe(415);
      expect(await documentsNamed(`${transport}/open plain`)).toBe(0);
      const sameOrigin = { origin: `http://127.0.0.1:${server.port}`, 'sec-fetch-site': 'same-origin' };
      expect(
        (
          await send(
            server.port,
            'POST',
            '/api/documents',
            { ...JSON_TYPE, ...sameOrigin },
            JSON.stringify({ name: `${transport}/open app`, kind: 'paper' }),
          )
        ).status,
      ).toBe(201);
      expect((await send(server.port, 'POST', docPath(`${transport}/open target`, '/versions'), sameOrigin)).status).toBe(201);
    });
  });
});
