/**
 * A document name is resolved and authorized before anything is loaded or created:
 * a caller whose grant does not allow creating a document never creates one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_PROJECT_ID } from '../../server/persistence/documents.js';
import { MemoryStorage } from '../../server/persistence/memory-storage.js';
import type { Authorizer } from '../../server/auth/authorizer.js';
import { authFrame, step1Frame } from '../helpers/frames.js';
import { RawClient } from '../helpers/raw-client.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';

/** Token "creator" may create papers; any other token may open only what exists. */
const noCreate: Authorizer = {
  authenticate: async (token) => ({ userId: null, sessionId: token, expiresAt: null }),
  revalidate: async () => {},
  authorize: async (principal) => ({
    ...principal,
    scope: 'read-write',
    create: principal.sessionId === 'creator' ? { kind: 'paper', projectId: DEFAULT_PROJECT_ID } : null,
  }),
};

describe.each(TRANSPORTS)('resolve before load over %s', (transport) => {
  afterEach(async () => {
    RawClient.terminateAll();
    await closeServers();
  });

  it('denies an unknown document to a caller who may not create it, and creates nothing', async () => {
    const storage = new MemoryStorage();
    const server = await startTestServer(transport, {}, { storage: { storage, db: null }, authorizer: noCreate });
    const client = await RawClient.connect(server.port);
    client.send(authFrame('nowhere', 'reader'));
    client.send(step1Frame('nowhere', new Uint8Array([0])));
    const denied = await client.waitForFrame((f) => f.kind === 'auth' && f.name === 'nowhere', 5_000, 'PermissionDenied');
    expect(denied).toMatchObject({ authType: 1, text: 'no document named "nowhere"' });
    expect(await storage.find('nowhere')).toBeNull();

    const y = await RawClient.connect(server.port, '/y/nowhere?token=reader');
    expect(await y.waitClose()).toMatchObject({ code: 4403, reason: 'no document named "nowhere"' });
    expect(await storage.find('nowhere')).toBeNull();

    // The same name opens for a caller who may create it, and then for the reader too.
    client.send(authFrame('nowhere', 'creator'));
    await client.waitForFrame((f) => f.kind === 'auth' && f.name === 'nowhere' && f.authType === 2, 5_000, 'Authenticated');
    expect(await storage.find('nowhere')).toMatchObject({ name: 'nowhere', kind: 'paper', projectId: DEFAULT_PROJECT_ID });
    const reader = await RawClient.connect(server.port);
    reader.send(authFrame('nowhere', 'reader'));
    await reader.waitForFrame((f) => f.kind === 'auth' && f.authType === 2, 5_000, 'Authenticated for the reader');
  });
});
