/**
 * Authorship on the embedded default (PGlite in DATA_DIR, no DATABASE_URL): the same SQL, the
 * transaction snapshot included. A paper created with content over HTTP is its creator's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DocumentAuthor, PaperBlame } from '../../server/authorship/authorship-types.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { apiClient } from '../helpers/http.js';

let dataDir: string;
let server: RunningServer;
const api = apiClient(() => server.port);

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'scr-authorship-'));
  server = await startServer({
    config: {
      port: 0,
      host: '127.0.0.1',
      storage: 'durable',
      databaseUrl: undefined,
      dataDir,
      authSecret: undefined,
      transport: 'uws',
      logLevel: 'silent',
    },
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await rm(dataDir, { recursive: true, force: true });
});

it('derives authors and blame from the log on PGlite', async () => {
  const created = await api('POST', '/api/documents', {
    body: { name: 'embedded/paper', kind: 'paper', content: 'First line\n\nSecond line', format: 'markdown' },
  });
  expect(created.status).toBe(201);
  const blame = await api<PaperBlame>('GET', '/api/documents/embedded%2Fpaper/blame');
  expect(blame).toMatchObject({
    status: 200,
    body: {
      text: 'First line\nSecond line',
      spans: [
        { from: 0, to: 10, userId: null },
        { from: 11, to: 22, userId: null },
      ],
    },
  });
  const authors = await api<DocumentAuthor[]>('GET', '/api/documents/embedded%2Fpaper/authors');
  expect(authors.body).toEqual([
    { userId: null, name: null, insertedChars: 21, deletedChars: 0, firstEditAt: expect.any(String), lastEditAt: expect.any(String) },
  ]);
  // Again, from the cached index and the rows added since (none).
  expect((await api<DocumentAuthor[]>('GET', '/api/documents/embedded%2Fpaper/authors')).body).toEqual(authors.body);
}, 60_000);
