import { afterEach, describe, expect, it } from 'vitest';
import type { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { awarenessFrame, decodeAwareness, encodeAwareness, queryAwarenessFrame, step1Frame, type Frame } from '../helpers/frames.js';
import { destroyProvider, destroyProviders, yWebsocketProvider } from '../helpers/providers.js';
import { RawClient } from '../helpers/raw-client.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';
import { waitFor } from '../helpers/wait.js';

const stateOf = (observer: WebsocketProvider, clientId: number) => observer.awareness.getStates().get(clientId);
const awarenessEntries = (frames: Frame[]) => frames.flatMap((f) => (f.kind === 'awareness' ? decodeAwareness(f.payload) : []));

describe.each(TRANSPORTS)('y-websocket WebsocketProvider over %s', (transport) => {
  afterEach(async () => {
    RawClient.terminateAll();
    destroyProviders();
    await closeServers();
  });

  it('syncs, relays edits both ways and gives a late joiner the full state', async () => {
    const server = await startTestServer(transport);
    const a = yWebsocketProvider(server.port, 'yws-sync');
    const b = yWebsocketProvider(server.port, 'yws-sync');
    await waitFor(() => a.synced && b.synced, 5_000, 'both synced');

    a.doc.getText('text').insert(0, 'from a');
    await waitFor(() => b.doc.getText('text').toString() === 'from a', 5_000, 'b sees a');
    b.doc.getText('text').insert(6, ', from b');
    b.doc.getMap('m').set('k', 42);
    await waitFor(() => a.doc.getText('text').toString() === 'from a, from b', 5_000, 'a sees b');
    expect(a.doc.getMap('m').get('k')).toBe(42);

    const late = yWebsocketProvider(server.port, 'yws-sync');
    await waitFor(() => late.synced && late.doc.getText('text').toString() === 'from a, from b', 5_000, 'late joiner has everything');
    expect(late.doc.getMap('m').get('k')).toBe(42);
  });

  it('keeps documents apart: the name comes from the path', async () => {
    const server = await startTestServer(transport);
    const one = yWebsocketProvider(server.port, 'yws-one');
    const two = yWebsocketProvider(server.port, 'yws-two');
    const oneAgain = yWebsocketProvider(server.port, 'yws-one');
    await waitFor(() => one.synced && two.synced && oneAgain.synced, 5_000, 'synced');
    one.doc.getText('text').insert(0, 'only in one');
    await waitFor(() => oneAgain.doc.getText('text').toString() === 'only in one', 5_000, 'same document');
    // A later edit on "two" arrives; by then the earlier edit on "one" would have too.
    two.doc.getText('other').insert(0, 'x');
    const twoAgain = yWebsocketProvider(server.port, 'yws-two');
    await waitFor(() => twoAgain.synced && twoAgain.doc.getText('other').toString() === 'x', 5_000, 'two synced');
    expect(two.doc.getText('text').toString()).toBe('');
    expect(twoAgain.doc.getText('text').toString()).toBe('');
  });

  it('shows awareness to others and removes it on leave (destroy and abrupt close)', async () => {
    const server = await startTestServer(transport);
    const a = yWebsocketProvider(server.port, 'yws-aw');
    const b = yWebsocketProvider(server.port, 'yws-aw');
    await waitFor(() => a.synced && b.synced, 5_000, 'synced');
    a.awareness.setLocalStateField('user', 'alice');
    const aId = a.doc.clientID;
    await waitFor(() => (stateOf(b, aId) as { user?: string } | undefined)?.user === 'alice', 5_000, 'b sees alice');
    destroyProvider(a);
    await waitFor(() => stateOf(b, aId) === undefined, 5_000, 'alice removed');

    // A raw y-websocket socket that vanishes without a removal: the server removes its state.
    const raw = await RawClient.connect(server.port, '/y/yws-aw');
    raw.send(awarenessFrame(null, encodeAwareness([{ clientId: 90001, clock: 1, state: { user: 'ghost' } }])));
    await waitFor(() => stateOf(b, 90001) !== undefined, 5_000, 'b sees ghost');
    raw.terminate();
    await waitFor(() => stateOf(b, 90001) === undefined, 5_000, 'ghost removed');
  });

  it('answers a raw QueryAwareness (type 3) with the current awareness states', async () => {
    const server = await startTestServer(transport);
    const a = yWebsocketProvider(server.port, 'yws-query');
    await waitFor(() => a.synced, 5_000, 'synced');
    a.awareness.setLocalStateField('user', 'alice');

    const raw = await RawClient.connect(server.port, '/y/yws-query');
    raw.send(step1Frame(null, Y.encodeStateVector(new Y.Doc())));
    await waitFor(() => raw.frames.some((f) => f.kind === 'sync' && f.sub === 1), 5_000, 'raw synced');
    // Wait until alice's state has reached the server (the raw client sees it relayed or in the snapshot).
    await waitFor(() => awarenessEntries(raw.frames).some((e) => e.clientId === a.doc.clientID), 5_000, 'alice known');
    const before = raw.frames.length;

    raw.send(queryAwarenessFrame(null));
    await waitFor(() => raw.frames.slice(before).some((f) => f.kind === 'awareness'), 5_000, 'awareness answer');
    const answer = raw.frames.slice(before).find((f) => f.kind === 'awareness')!;
    const entries = answer.kind === 'awareness' ? decodeAwareness(answer.payload) : [];
    expect(entries.find((e) => e.clientId === a.doc.clientID)?.state).toEqual({ user: 'alice' });
    // y-websocket frames are unprefixed: the first byte is the message type.
    expect(raw.raw.at(-1)![0]).toBe(1);
  });
});
