/**
 * The default `npm start` path: no DATABASE_URL, documents persist in PGlite under
 * DATA_DIR and survive a restart; providers see their edits acknowledged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startServer, type RunningServer } from '../../server/server.js';
import { destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { waitFor } from '../helpers/wait.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'scriptorium-pglite-'));
let server: RunningServer | null = null;

afterAll(async () => {
  destroyProviders();
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const start = () =>
  startServer({
    config: { port: 0, host: '127.0.0.1', databaseUrl: undefined, dataDir, storage: 'durable', transport: 'uws', logLevel: 'silent' },
  });

describe('embedded PGlite storage (no DATABASE_URL)', () => {
  it('acknowledges edits once stored and serves them after a restart', async () => {
    server = await start();
    const doc = new Y.Doc();
    const provider = hocuspocusProvider(server.port, 'embedded-paper', doc);
    await waitFor(() => provider.synced, 20_000, 'synced');
    const text = doc.getText('default');
    for (let i = 0; i < 50; i++) text.insert(text.length, `line ${i}\n`);
    await waitFor(() => provider.unsyncedChanges === 0, 20_000, 'all edits acknowledged');
    provider.destroy();
    await server.close();

    server = await start();
    const reader = new Y.Doc();
    const again = hocuspocusProvider(server.port, 'embedded-paper', reader);
    await waitFor(() => again.synced, 20_000, 'synced after restart');
    expect(reader.getText('default').toString()).toBe(text.toString());
  }, 90_000);
});
