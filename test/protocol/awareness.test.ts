import { afterEach, describe, expect, it } from 'vitest';
import type { HocuspocusProvider } from '@hocuspocus/provider';
import { awarenessFrame, decodeAwareness, decodeFrame, encodeAwareness, type Frame } from '../helpers/frames.js';
import { destroyProvider, destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { RawClient } from '../helpers/raw-client.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';

const stateOf = (observer: HocuspocusProvider, clientId: number) => observer.awareness!.getStates().get(clientId);

const awarenessEntries = (frames: Frame[], name: string) =>
  frames.flatMap((f) => (f.kind === 'awareness' && f.name === name ? decodeAwareness(f.payload) : []));

describe.each(TRANSPORTS)('awareness over %s', (transport) => {
  afterEach(async () => {
    RawClient.terminateAll();
    destroyProviders();
    await closeServers();
  });

  it('shows a state to the other clients and removes it when the provider is destroyed', async () => {
    const server = await startTestServer(transport);
    const a = hocuspocusProvider(server.port, 'aw-show');
    const b = hocuspocusProvider(server.port, 'aw-show');
    await waitFor(() => a.isSynced && b.isSynced, 5_000, 'synced');

    a.setAwarenessField('user', { name: 'alice', color: '#f00' });
    const aId = a.document.clientID;
    await waitFor(() => (stateOf(b, aId) as { user?: { name: string } } | undefined)?.user?.name === 'alice', 5_000, 'b sees alice');

    b.setAwarenessField('user', { name: 'bob' });
    const bId = b.document.clientID;
    await waitFor(() => (stateOf(a, bId) as { user?: { name: string } } | undefined)?.user?.name === 'bob', 5_000, 'a sees bob');

    destroyProvider(a);
    await waitFor(() => stateOf(b, aId) === undefined, 5_000, 'alice removed at b');
    expect(stateOf(b, bId)).toBeDefined();
  });

  it('removes the states of a socket that closes without sending a removal', async () => {
    const server = await startTestServer(transport);
    const observer = hocuspocusProvider(server.port, 'aw-abrupt');
    await waitFor(() => observer.isSynced, 5_000, 'observer synced');

    const raw = await RawClient.connect(server.port);
    await raw.join('aw-abrupt');
    const ghostIds = [424242, 515151];
    raw.send(
      awarenessFrame(
        'aw-abrupt',
        encodeAwareness(ghostIds.map((clientId) => ({ clientId, clock: 3, state: { user: `ghost-${clientId}` } }))),
      ),
    );
    await waitFor(() => ghostIds.every((id) => stateOf(observer, id) !== undefined), 5_000, 'observer sees both ghosts');
    expect(stateOf(observer, 424242)).toEqual({ user: 'ghost-424242' });

    raw.terminate(); // no awareness removal from the client: the server must send it
    await waitFor(() => ghostIds.every((id) => stateOf(observer, id) === undefined), 5_000, 'ghosts removed');

    // A client that joins afterwards does not receive the departed states either.
    const late = await RawClient.connect(server.port);
    await late.join('aw-abrupt');
    const entries = awarenessEntries(late.frames, 'aw-abrupt');
    expect(entries.filter((e) => ghostIds.includes(e.clientId) && e.state !== null)).toEqual([]);
  });

  it('sends existing states to a late joiner', async () => {
    const server = await startTestServer(transport);
    const a = hocuspocusProvider(server.port, 'aw-late');
    const b = hocuspocusProvider(server.port, 'aw-late');
    await waitFor(() => a.isSynced && b.isSynced, 5_000, 'synced');
    a.setAwarenessField('user', 'alice');
    b.setAwarenessField('user', 'bob');
    await waitFor(() => stateOf(a, b.document.clientID) && stateOf(b, a.document.clientID), 5_000, 'a and b see each other');

    const late = hocuspocusProvider(server.port, 'aw-late');
    await waitFor(() => late.isSynced, 5_000, 'late synced');
    await waitFor(
      () =>
        (stateOf(late, a.document.clientID) as { user?: string } | undefined)?.user === 'alice' &&
        (stateOf(late, b.document.clientID) as { user?: string } | undefined)?.user === 'bob',
      5_000,
      'late joiner sees alice and bob without either renewing',
    );

    // On the wire: a raw late joiner gets the states right after authentication.
    const raw = await RawClient.connect(server.port);
    await raw.join('aw-late');
    const ids = awarenessEntries(raw.frames, 'aw-late').map((e) => e.clientId);
    expect(ids).toEqual(expect.arrayContaining([a.document.clientID, b.document.clientID]));
    const labels = raw.labels('aw-late');
    expect(labels.indexOf('Awareness')).toBeGreaterThan(labels.indexOf('Authenticated'));
  });

  it('echoes awareness back to the sender (keepalive, docs/protocol.md: something arrives within 30 s)', async () => {
    const server = await startTestServer(transport);
    const raw = await RawClient.connect(server.port);
    await raw.join('aw-echo'); // alone on the document
    raw.send(awarenessFrame('aw-echo', encodeAwareness([{ clientId: 777, clock: 1, state: { cursor: 5 } }])));
    await waitFor(() => awarenessEntries(raw.frames, 'aw-echo').some((e) => e.clientId === 777 && e.clock === 1), 5_000, 'first echo');
    // A renewal (same state, higher clock) is echoed too.
    raw.send(awarenessFrame('aw-echo', encodeAwareness([{ clientId: 777, clock: 2, state: { cursor: 5 } }])));
    await waitFor(() => awarenessEntries(raw.frames, 'aw-echo').some((e) => e.clientId === 777 && e.clock === 2), 5_000, 'renewal echo');
    expect(awarenessEntries(raw.frames, 'aw-echo').find((e) => e.clock === 2)?.state).toEqual({ cursor: 5 });

    // The unmodified provider receives its own renewal back as an incoming awareness message.
    const provider = hocuspocusProvider(server.port, 'aw-echo-provider');
    await waitFor(() => provider.isSynced, 5_000, 'provider synced');
    const echoed: unknown[] = [];
    provider.on('message', ({ message }: { message: { data: ArrayBuffer | Uint8Array } }) => {
      const frame = decodeFrame(new Uint8Array(message.data), true);
      if (frame.kind !== 'awareness') return;
      for (const entry of decodeAwareness(frame.payload)) if (entry.clientId === provider.document.clientID) echoed.push(entry.state);
    });
    provider.setAwarenessField('user', 'self');
    await waitFor(
      () => echoed.some((state) => (state as { user?: string } | null)?.user === 'self'),
      5_000,
      'provider receives its own awareness back',
    );
  });
});
