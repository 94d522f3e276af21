import { afterEach, describe, expect, it } from 'vitest';
import { destroyProviders, hocuspocusProvider, yWebsocketProvider } from '../helpers/providers.js';
import { RawClient } from '../helpers/raw-client.js';
import { closeServer, closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';
import { freePort, waitFor } from '../helpers/wait.js';

describe.each(TRANSPORTS)('reconnect after a server restart over %s', (transport) => {
  afterEach(async () => {
    RawClient.terminateAll();
    destroyProviders();
    await closeServers();
  });

  it('a Hocuspocus provider pushes its state (and offline edits) to the restarted server', async () => {
    const port = await freePort();
    const first = await startTestServer(transport, { port });
    const provider = hocuspocusProvider(port, 'restart-hp');
    await waitFor(() => provider.isSynced, 5_000, 'synced with first server');
    const text = provider.document.getText('text');
    text.insert(0, 'before restart');
    await waitFor(() => provider.unsyncedChanges === 0, 5_000, 'saved on first server');

    let disconnects = 0;
    provider.on('disconnect', () => disconnects++);
    await closeServer(first);
    await waitFor(() => disconnects > 0 && !provider.isSynced, 5_000, 'provider noticed the restart');

    text.insert(text.length, ' + offline edit'); // made while no server is running
    expect(provider.unsyncedChanges).toBeGreaterThan(0);

    const second = await startTestServer(transport, { port });
    expect(second.port).toBe(port);
    await waitFor(() => provider.isSynced && provider.unsyncedChanges === 0, 10_000, 'resynced with second server');

    // The second server (memory storage, started empty) now holds everything from the provider.
    const fresh = await RawClient.connect(port);
    await fresh.join('restart-hp');
    expect(fresh.text('restart-hp')).toBe('before restart + offline edit');

    // And live editing works again in both directions.
    const other = hocuspocusProvider(port, 'restart-hp');
    await waitFor(() => other.isSynced, 5_000, 'other synced');
    other.document.getText('text').insert(0, '> ');
    await waitFor(() => text.toString() === '> before restart + offline edit', 5_000, 'edit after restart reaches provider');
  });

  it('a y-websocket provider pushes its state back after the restart', async () => {
    const port = await freePort();
    const first = await startTestServer(transport, { port });
    const provider = yWebsocketProvider(port, 'restart-yws');
    await waitFor(() => provider.synced, 5_000, 'synced with first server');
    provider.doc.getText('text').insert(0, 'kept by the client');
    // No acknowledgements in y-websocket: check the first server has it via a raw reader.
    const reader = await RawClient.connect(port);
    await reader.join('restart-yws');
    expect(reader.text('restart-yws')).toBe('kept by the client');

    await closeServer(first);
    await waitFor(() => !provider.wsconnected, 5_000, 'provider disconnected');
    provider.doc.getText('text').insert(0, 'offline: ');

    await startTestServer(transport, { port });
    await waitFor(() => provider.wsconnected && provider.synced, 10_000, 'reconnected');
    await waitFor(
      async () => {
        // The provider's SyncStep2 may land just after our join: ask again until it is there.
        const probe = await RawClient.connect(port);
        await probe.join('restart-yws');
        const ok = probe.text('restart-yws') === 'offline: kept by the client';
        probe.terminate();
        return ok;
      },
      5_000,
      'second server has the client state',
    );
  });
});
