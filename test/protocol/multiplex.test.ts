import { afterEach, describe, expect, it } from 'vitest';
import { attachedProvider, destroyProviders, sharedSocket } from '../helpers/providers.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';
import type { TransportKind } from '../../server/transport/transport.js';

const NAMES = ['mux-alpha', 'mux-beta', 'mux-gamma'] as const;

/** Two shared sockets, each with a provider attached for every name in NAMES, all synced. */
async function twoSocketsWithAllDocuments(transport: TransportKind) {
  const server = await startTestServer(transport);
  const socketA = sharedSocket(server.port);
  const socketB = sharedSocket(server.port);
  const a = NAMES.map((name) => attachedProvider(socketA, name));
  const b = NAMES.map((name) => attachedProvider(socketB, name));
  await waitFor(() => [...a, ...b].every((p) => p.isSynced), 5_000, 'all synced');
  return { a, b };
}

describe.each(TRANSPORTS)('multiplexing over %s', (transport) => {
  afterEach(async () => {
    destroyProviders();
    await closeServers();
  });

  it('syncs 3 documents on one HocuspocusProviderWebsocket, each edit staying in its own document', async () => {
    const server = await startTestServer(transport);

    const socketA = sharedSocket(server.port);
    const socketB = sharedSocket(server.port);
    const a = NAMES.map((name) => attachedProvider(socketA, name));
    const b = NAMES.map((name) => attachedProvider(socketB, name));
    await waitFor(() => [...a, ...b].every((p) => p.isSynced), 5_000, 'all six providers synced');
    // Two sockets for six documents: the documents really share a socket each.
    expect(server.metrics.counters.connectionsOpen).toBe(2);

    // Each of A's documents gets its own content; B's copies must match exactly those.
    a.forEach((provider, i) => provider.document.getText('text').insert(0, `content of ${NAMES[i]}`));
    await waitFor(
      () => b.every((provider, i) => provider.document.getText('text').toString() === `content of ${NAMES[i]}`),
      5_000,
      'B sees each document with its own content',
    );

    // An edit on one document of B reaches only that document of A.
    b[1]!.document.getText('text').insert(0, 'B was here: ');
    await waitFor(() => a[1]!.document.getText('text').toString() === `B was here: content of ${NAMES[1]}`, 5_000, 'A beta updated');
    expect(a[0]!.document.getText('text').toString()).toBe(`content of ${NAMES[0]}`);
    expect(a[2]!.document.getText('text').toString()).toBe(`content of ${NAMES[2]}`);
    await waitFor(() => [...a, ...b].every((p) => p.unsyncedChanges === 0), 5_000, 'all saved');
  });

  it('keeps a document edited on one multiplexed socket isolated from untouched documents', async () => {
    const { a, b } = await twoSocketsWithAllDocuments(transport);

    const gamma = a[2]!.document.getText('text');
    for (let i = 0; i < 20; i++) gamma.insert(gamma.length, `${i},`);
    await waitFor(() => b[2]!.document.getText('text').toString() === gamma.toString(), 5_000, 'B gamma in sync');
    await waitFor(() => a[2]!.unsyncedChanges === 0, 5_000, 'A gamma saved');
    for (const provider of [a[0]!, a[1]!, b[0]!, b[1]!]) expect(provider.document.getText('text').toString()).toBe('');
  });

  it('detaches one document from a shared socket and re-attaches it without disturbing the others', async () => {
    const { a, b } = await twoSocketsWithAllDocuments(transport);

    const detached = a[0]!;
    detached.detach(); // sends CLOSE for mux-alpha only
    b[0]!.document.getText('text').insert(0, 'while detached');
    b[1]!.document.getText('text').insert(0, 'beta live');
    await waitFor(() => a[1]!.document.getText('text').toString() === 'beta live', 5_000, 'beta still live on the shared socket');
    expect(detached.document.getText('text').toString()).toBe('');

    detached.attach();
    await waitFor(() => detached.document.getText('text').toString() === 'while detached', 5_000, 're-attached document catches up');
    detached.document.getText('text').insert(0, '+');
    await waitFor(() => b[0]!.document.getText('text').toString() === '+while detached', 5_000, 'edits flow again');
    expect(b[2]!.document.getText('text').toString()).toBe('');
  });
});
