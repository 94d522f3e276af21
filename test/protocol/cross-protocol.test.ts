import { afterEach, describe, expect, it } from 'vitest';
import { destroyProvider, destroyProviders, hocuspocusProvider, yWebsocketProvider } from '../helpers/providers.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';

describe.each(TRANSPORTS)('Hocuspocus and y-websocket on one document over %s', (transport) => {
  afterEach(async () => {
    destroyProviders();
    await closeServers();
  });

  it("see each other's edits", async () => {
    const server = await startTestServer(transport);
    const hp = hocuspocusProvider(server.port, 'cross-edits');
    const yw = yWebsocketProvider(server.port, 'cross-edits');
    await waitFor(() => hp.isSynced && yw.synced, 5_000, 'both synced');

    hp.document.getText('text').insert(0, 'hocuspocus');
    await waitFor(() => yw.doc.getText('text').toString() === 'hocuspocus', 5_000, 'y-websocket sees hocuspocus edit');
    yw.doc.getText('text').insert(10, ' + y-websocket');
    await waitFor(() => hp.document.getText('text').toString() === 'hocuspocus + y-websocket', 5_000, 'hocuspocus sees y-websocket edit');
    await waitFor(() => hp.unsyncedChanges === 0, 5_000, 'hocuspocus saved');

    // Late joiners on either protocol get the merged state.
    const lateY = yWebsocketProvider(server.port, 'cross-edits');
    const lateH = hocuspocusProvider(server.port, 'cross-edits');
    await waitFor(
      () =>
        lateY.doc.getText('text').toString() === 'hocuspocus + y-websocket' &&
        lateH.document.getText('text').toString() === 'hocuspocus + y-websocket',
      5_000,
      'late joiners have the merged text',
    );
  });

  it("see each other's presence, and its removal", async () => {
    const server = await startTestServer(transport);
    const hp = hocuspocusProvider(server.port, 'cross-presence');
    const yw = yWebsocketProvider(server.port, 'cross-presence');
    await waitFor(() => hp.isSynced && yw.synced, 5_000, 'both synced');

    hp.setAwarenessField('user', 'hocus');
    yw.awareness.setLocalStateField('user', 'ywebs');
    await waitFor(
      () => (yw.awareness.getStates().get(hp.document.clientID) as { user?: string } | undefined)?.user === 'hocus',
      5_000,
      'y-websocket sees hocuspocus presence',
    );
    await waitFor(
      () => (hp.awareness!.getStates().get(yw.doc.clientID) as { user?: string } | undefined)?.user === 'ywebs',
      5_000,
      'hocuspocus sees y-websocket presence',
    );

    const ywId = yw.doc.clientID;
    destroyProvider(yw);
    await waitFor(() => !hp.awareness!.getStates().has(ywId), 5_000, 'y-websocket presence removed at hocuspocus');
    expect(hp.awareness!.getStates().has(hp.document.clientID)).toBe(true);
  });
});
