/**
 * One document that cannot be opened closes that document on its socket, not the socket:
 * the other documents on it carry on. A load that fails for a moment is retried with
 * the client's frames kept; one that keeps failing is refused with a reason.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../server/persistence/memory-storage.js';
import type { DocumentRef, StoredDocument } from '../../server/persistence/storage.js';
import { authFrame, step1Frame, updateFrame } from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';

/** The in-process storage with a fault injected: loads of some documents fail (`failures` times, or always). */
class FlakyStorage extends MemoryStorage {
  readonly attempts = new Map<string, number>();
  constructor(private readonly failures: Readonly<Record<string, number>>) {
    super();
  }
  override async load(document: DocumentRef): Promise<StoredDocument> {
    const attempt = (this.attempts.get(document.name) ?? 0) + 1;
    this.attempts.set(document.name, attempt);
    if (attempt <= (this.failures[document.name] ?? 0))
      throw new Error(`connection terminated unexpectedly (injected, attempt ${attempt})`);
    return super.load(document);
  }
}

describe.each(TRANSPORTS)('a document that cannot be opened, over %s', (transport) => {
  afterEach(async () => {
    RawClient.terminateAll();
    await closeServers();
  });

  it('is refused with a reason after retries, while the socket and its other documents carry on', async () => {
    const storage = new FlakyStorage({ broken: Number.POSITIVE_INFINITY });
    const server = await startTestServer(transport, {}, { storage: { storage, db: null } });
    const client = await RawClient.connect(server.port);
    await client.join('healthy');
    client.send(authFrame('broken'));
    client.send(step1Frame('broken', new Uint8Array([0])));
    const denied = await client.waitForFrame((f) => f.kind === 'auth' && f.name === 'broken', 15_000, 'PermissionDenied for broken');
    expect(denied).toMatchObject({ kind: 'auth', authType: 1, text: 'document could not be loaded; try again later' });
    expect(storage.attempts.get('broken')).toBe(5);
    expect(client.isOpen).toBe(true);
    client.send(updateFrame('healthy', textUpdate(client.doc('healthy'), 'still here')));
    await client.waitForFrame(
      (f) => f.kind === 'syncStatus' && f.name === 'healthy' && f.applied === 1,
      5_000,
      'ack on the healthy document',
    );
  });

  it('retries a load that fails for a moment, keeping the frames sent meanwhile', async () => {
    const storage = new FlakyStorage({ blip: 2 });
    const server = await startTestServer(transport, {}, { storage: { storage, db: null } });
    const client = await RawClient.connect(server.port);
    client.send(authFrame('blip'));
    client.send(step1Frame('blip', new Uint8Array([0])));
    client.send(updateFrame('blip', textUpdate(client.doc('blip'), 'kept')));
    await client.waitForFrame((f) => f.kind === 'syncStatus' && f.name === 'blip', 10_000, 'ack after the retried load');
    expect(client.labels('blip')).toEqual(['Authenticated', 'SyncStep1', 'SyncStep2', 'SyncStatus(1)']);
    expect(storage.attempts.get('blip')).toBe(3);
    const other = await RawClient.connect(server.port);
    await other.join('blip');
    expect(other.text('blip')).toBe('kept');
  });

  it('closes a y-websocket socket whose document keeps failing with 1011', async () => {
    const storage = new FlakyStorage({ 'y-broken': Number.POSITIVE_INFINITY });
    const server = await startTestServer(transport, {}, { storage: { storage, db: null } });
    const client = await RawClient.connect(server.port, '/y/y-broken');
    const closed = await client.waitClose(15_000);
    expect(closed.code).toBe(1011);
  });
});
