/**
 * Two instances sharing a database, a bus and the document locks, with editors on both: the
 * automatic version of their common state is taken once, not once per instance; a restore
 * through one instance reaches the clients of the other.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { InProcessBusHub } from '../../server/cluster/bus.js';
import { InProcessLocks } from '../../server/cluster/locks.js';
import type { RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { destroyProviders, hocuspocusProvider, yWebsocketProvider } from '../helpers/providers.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { apiClient } from '../helpers/http.js';
import { acknowledged, appendParagraph, paperLines, path, startDurableServer, storedVersions, writePaper } from '../helpers/versions.js';

const QUIET = 300;

let database: TestDatabase;
let servers: RunningServer[] = [];

beforeAll(async () => {
  database = await createTestDatabase('vertwo');
});

afterEach(async () => {
  destroyProviders();
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

afterAll(async () => {
  await database?.drop();
});

async function twoInstances(): Promise<[RunningServer, RunningServer]> {
  const hub = new InProcessBusHub();
  const locks = new InProcessLocks();
  for (let i = 0; i < 2; i++) {
    servers.push(
      await startDurableServer(
        database,
        { autoVersionQuietMs: QUIET, autoVersionMaxMs: 10_000 },
        { bus: hub.connect(`instance-${i}`), locks },
      ),
    );
  }
  return [servers[0]!, servers[1]!];
}

describe('automatic versions with two instances', () => {
  it('takes one version of the common state, not one per instance', async () => {
    const [a, b] = await twoInstances();
    const names = ['two/one', 'two/two', 'two/three'];
    for (const name of names) {
      const onA = new Y.Doc();
      const onB = new Y.Doc();
      const providerA = hocuspocusProvider(a.port, name, onA);
      const providerB = hocuspocusProvider(b.port, name, onB);
      await waitFor(() => providerA.isSynced && providerB.isSynced, 5_000, 'synced');
      appendParagraph(onA, 'from A');
      appendParagraph(onB, 'from B');
      await acknowledged(providerA);
      await acknowledged(providerB);
      await waitFor(() => paperLines(onA).length === 2 && paperLines(onB).length === 2, 5_000, 'both edits on both instances');
    }
    await sleep(QUIET * 6);
    for (const name of names) expect(await storedVersions(database, name), name).toHaveLength(1);
  });

  it('restores through one instance to the clients of the other', async () => {
    const [a, b] = await twoInstances();
    const api = apiClient(() => a.port);
    const name = 'two/restore';
    const onA = new Y.Doc();
    const providerA = hocuspocusProvider(a.port, name, onA);
    const onB = new Y.Doc();
    yWebsocketProvider(b.port, name, onB);
    writePaper(onA, ['kept']);
    await acknowledged(providerA);
    expect((await api('POST', path(name, '/versions'), { body: { label: 'kept' } })).status).toBe(201);
    writePaper(onA, ['replaced']);
    await acknowledged(providerA);
    await waitFor(() => paperLines(onB).join() === 'replaced', 5_000, 'B has the edit');
    expect((await api('POST', path(name, '/versions/1/restore'))).status).toBe(200);
    await waitFor(() => paperLines(onB).join() === 'kept', 5_000, 'the y-websocket client on B sees the restore');
  });
});
