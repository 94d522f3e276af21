import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { destroyProviders, hocuspocusProvider } from '../helpers/providers.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';
import { once, waitFor } from '../helpers/wait.js';

describe.each(TRANSPORTS)('@hocuspocus/provider sync over %s', (transport) => {
  afterEach(async () => {
    destroyProviders();
    await closeServers();
  });

  it('becomes synced, authenticated read-write, on an empty document', async () => {
    const server = await startTestServer(transport);
    const provider = hocuspocusProvider(server.port, 'sync-initial');
    await once(provider, 'synced');
    expect(provider.isSynced).toBe(true);
    expect(provider.isAuthenticated).toBe(true);
    expect(provider.authorizedScope).toBe('read-write');
    expect(provider.document.getText('text').toString()).toBe('');
  });

  it('relays edits both ways between two providers', async () => {
    const server = await startTestServer(transport);
    const a = hocuspocusProvider(server.port, 'sync-both-ways');
    const b = hocuspocusProvider(server.port, 'sync-both-ways');
    await Promise.all([waitFor(() => a.isSynced, 5_000, 'a synced'), waitFor(() => b.isSynced, 5_000, 'b synced')]);

    a.document.getText('text').insert(0, 'hello from a');
    await waitFor(() => b.document.getText('text').toString() === 'hello from a', 5_000, 'b sees a');

    b.document.getMap('meta').set('title', 'from b');
    b.document.getText('text').insert(0, '> ');
    await waitFor(() => a.document.getText('text').toString() === '> hello from a', 5_000, 'a sees b');
    expect(a.document.getMap('meta').get('title')).toBe('from b');
    expect(Y.encodeStateVector(a.document)).toEqual(Y.encodeStateVector(b.document));
  });

  it('gives a late joiner the full state', async () => {
    const server = await startTestServer(transport);
    const a = hocuspocusProvider(server.port, 'sync-late');
    await waitFor(() => a.isSynced, 5_000, 'a synced');
    const text = a.document.getText('text');
    for (let i = 0; i < 50; i++) text.insert(text.length, `line ${i}\n`);
    text.delete(0, 7); // "line 0\n"
    a.document.getArray('list').push([1, 2, 3]);
    await waitFor(() => a.unsyncedChanges === 0, 5_000, 'a saved');

    const late = hocuspocusProvider(server.port, 'sync-late');
    await once(late, 'synced');
    expect(late.document.getText('text').toString()).toBe(text.toString());
    expect(late.document.getText('text').toString().startsWith('line 1\n')).toBe(true);
    expect(late.document.getArray('list').toArray()).toEqual([1, 2, 3]);
  });

  it('brings unsyncedChanges back to 0 after many edits', async () => {
    const server = await startTestServer(transport);
    const provider = hocuspocusProvider(server.port, 'sync-unsynced');
    await waitFor(() => provider.isSynced && provider.unsyncedChanges === 0, 5_000, 'initially saved');
    let peak = 0;
    provider.on('unsyncedChanges', ({ number }: { number: number }) => (peak = Math.max(peak, number)));

    const text = provider.document.getText('text');
    for (let i = 0; i < 100; i++) text.insert(text.length, String(i % 10));
    expect(provider.unsyncedChanges).toBeGreaterThan(0);
    await waitFor(() => provider.unsyncedChanges === 0, 5_000, 'unsyncedChanges back to 0');
    expect(peak).toBeGreaterThan(0);

    // Stays at 0 (no stray extra acknowledgements pushing it negative / no missing ones).
    const other = hocuspocusProvider(server.port, 'sync-unsynced');
    await once(other, 'synced');
    expect(other.document.getText('text').toString()).toBe(text.toString());
    expect(provider.unsyncedChanges).toBe(0);
    expect(provider.hasUnsyncedChanges).toBe(false);
  });

  it('relays Stateless messages to the other providers of the document, not back to the sender', async () => {
    const server = await startTestServer(transport);
    const a = hocuspocusProvider(server.port, 'sync-stateless');
    const b = hocuspocusProvider(server.port, 'sync-stateless');
    const elsewhere = hocuspocusProvider(server.port, 'sync-stateless-other');
    await waitFor(() => a.isSynced && b.isSynced && elsewhere.isSynced, 5_000, 'synced');
    const received = { a: [] as string[], b: [] as string[], elsewhere: [] as string[] };
    a.on('stateless', ({ payload }: { payload: string }) => received.a.push(payload));
    b.on('stateless', ({ payload }: { payload: string }) => received.b.push(payload));
    elsewhere.on('stateless', ({ payload }: { payload: string }) => received.elsewhere.push(payload));
    a.sendStateless(JSON.stringify({ hello: 'b' }));
    await waitFor(() => received.b.length === 1, 5_000, 'b receives the stateless message');
    expect(received.b).toEqual(['{"hello":"b"}']);
    // A later round trip orders the negative checks.
    b.sendStateless('reply');
    await waitFor(() => received.a.length === 1, 5_000, 'a receives the reply');
    expect(received.a).toEqual(['reply']);
    expect(received.b).toEqual(['{"hello":"b"}']);
    expect(received.elsewhere).toEqual([]);
  });

  it('keeps an idle provider connected past idleTimeoutMs (it answers the server pings)', async () => {
    const server = await startTestServer(transport, { idleTimeoutMs: 1_000 });
    const provider = hocuspocusProvider(server.port, 'sync-idle');
    await waitFor(() => provider.isSynced, 5_000, 'synced');
    let closes = 0;
    provider.on('close', () => closes++);
    await new Promise((resolve) => setTimeout(resolve, 2_500)); // 2.5 idle timeouts without any edit
    expect(closes).toBe(0);
    expect(provider.isSynced).toBe(true);
    provider.document.getText('text').insert(0, 'still here');
    await waitFor(() => provider.unsyncedChanges === 0, 5_000, 'saved');
  });
});
