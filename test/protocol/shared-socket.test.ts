/**
 * Review item 4: one shared Hocuspocus socket (the web app's) must survive documents it
 * is denied or closes, and its document bound must be hard.
 *
 * - A provider that is denied a document sends, as it tears down, an awareness removal and
 *   a CLOSE for it. Those frames used to start "queued" sessions that waited forever for
 *   an Auth; after MAX_PENDING_DOCUMENTS of them the whole socket was reset (4205).
 * - Frames for a document that never gets an Auth expire.
 * - MAX_DOCUMENTS_PER_SOCKET counted only loaded documents, so a burst of Auth messages
 *   opened more than the bound.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PermissionDeniedError, type Authorizer } from '../../server/auth/authorizer.js';
import { DEFAULT_PROJECT_ID } from '../../server/persistence/documents.js';
import { authFrame, awarenessFrame, closeDocFrame, encodeAwareness, updateFrame, type Frame } from '../helpers/frames.js';
import { attachedProvider, destroyProvider, destroyProviders, sharedSocket } from '../helpers/providers.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';
import { sleep, waitFor } from '../helpers/wait.js';

/** Open mode, except that names starting with "secret-" are denied (as a project the user is not in would be). */
const denyingAuthorizer: Authorizer = {
  authenticate: () => Promise.resolve({ userId: null, sessionId: null, expiresAt: null }),
  revalidate: () => Promise.resolve(),
  authorize: (principal, name) =>
    name.startsWith('secret-')
      ? Promise.reject(new PermissionDeniedError(`no access to document ${JSON.stringify(name)}`))
      : Promise.resolve({ ...principal, scope: 'read-write', create: { kind: 'paper', projectId: DEFAULT_PROJECT_ID } }),
};

/** Open mode whose checks take a while (a database round trip): documents stay "opening" meanwhile. */
const slowAuthorizer: Authorizer = {
  authenticate: () => Promise.resolve({ userId: null, sessionId: null, expiresAt: null }),
  revalidate: () => Promise.resolve(),
  authorize: (principal) =>
    sleep(30).then(() => ({ ...principal, scope: 'read-write', create: { kind: 'paper', projectId: DEFAULT_PROJECT_ID } })),
};

const isAuthAnswer = (name: string) => (f: Frame) => f.kind === 'auth' && f.name === name;
const authenticated = (client: RawClient) => client.frames.filter((f) => f.kind === 'auth' && f.authType === 2).length;
const denied = (client: RawClient) => client.frames.filter((f) => f.kind === 'auth' && f.authType === 1).length;

describe.each(TRANSPORTS)('a shared provider socket over %s', (transport) => {
  afterEach(async () => {
    destroyProviders();
    RawClient.terminateAll();
    await closeServers();
  });

  it('real providers on one shared socket: 150 denied documents leave the open one working', async () => {
    const server = await startTestServer(transport, { maxPendingDocuments: 20 }, { authorizer: denyingAuthorizer });
    const socket = sharedSocket(server.port);
    let closes = 0;
    socket.on('close', () => closes++);
    const paper = attachedProvider(socket, 'open-paper');
    await waitFor(() => paper.isSynced, 5_000, 'open paper synced');
    for (let i = 0; i < 150; i++) {
      const refused = attachedProvider(socket, `secret-${i}`);
      refused.awareness?.setLocalStateField('user', { name: 'reader' });
      await new Promise<void>((resolve) => refused.on('authenticationFailed', () => resolve()));
      // The app drops a document it may not open: awareness removal and CLOSE go out.
      destroyProvider(refused);
    }
    await sleep(100);
    expect(closes, 'the shared socket was never closed').toBe(0);
    const witness = await RawClient.connect(server.port);
    await witness.join('open-paper');
    paper.document.getText('text').insert(0, 'after the refusals');
    await witness.waitForText('open-paper', 'after the refusals');
    await waitFor(() => paper.unsyncedChanges === 0, 5_000, 'acknowledged');
  });

  it('survives far more denied documents than MAX_PENDING_DOCUMENTS, their closing frames included', async () => {
    const server = await startTestServer(transport, { maxPendingDocuments: 20 }, { authorizer: denyingAuthorizer });
    const app = await RawClient.connect(server.port);
    await app.join('open-paper');
    const other = await RawClient.connect(server.port);
    await other.join('open-paper');

    // What a provider does for a document it may not open: Auth, PermissionDenied, then
    // (destroying the provider) its awareness removal and a CLOSE.
    for (let i = 0; i < 150; i++) {
      const name = `secret-${i}`;
      app.send(authFrame(name));
      await app.waitForFrame(isAuthAnswer(name), 5_000, `answer for ${name}`);
      app.send(awarenessFrame(name, encodeAwareness([{ clientId: 1000 + i, clock: 2, state: null }])));
      app.send(closeDocFrame(name));
    }
    expect(denied(app)).toBe(150);
    await sleep(50);
    expect(app.closeInfo, 'the shared socket is not reset').toBeNull();

    // Its open document still works both ways.
    app.send(updateFrame('open-paper', textUpdate(app.doc('open-paper'), 'still here')));
    await other.waitForText('open-paper', 'still here');
    await waitFor(() => app.acks('open-paper').length === 1, 5_000, 'ack');
    expect(app.acks('open-paper')).toEqual([1]);
  });

  it('forgets frames for documents closed with CLOSE, and lets them be opened again', async () => {
    const server = await startTestServer(transport, { maxPendingDocuments: 5 });
    const app = await RawClient.connect(server.port);
    for (let i = 0; i < 20; i++) {
      const name = `closed-${i}`;
      await app.join(name);
      app.send(closeDocFrame(name));
      // A late frame for the closed document (an awareness removal racing the CLOSE).
      app.send(awarenessFrame(name, encodeAwareness([{ clientId: 2000 + i, clock: 2, state: null }])));
    }
    await sleep(50);
    expect(app.closeInfo, 'the socket is not reset').toBeNull();
    // Opening one again works as the first time.
    const reopened = 'closed-3';
    const before = app.framesFor(reopened).length;
    app.send(authFrame(reopened));
    await waitFor(
      () =>
        app
          .framesFor(reopened)
          .slice(before)
          .some((f) => f.kind === 'auth' && f.authType === 2),
      5_000,
      'reopened',
    );
  });

  it('drops frames of documents that never get an Auth once they expire', async () => {
    const server = await startTestServer(transport, { maxPendingDocuments: 10, queuedDocumentTimeoutMs: 200 });
    const app = await RawClient.connect(server.port);
    await app.join('open-paper');
    for (let round = 0; round < 3; round++) {
      // Ten documents' worth of frames with no Auth: the pending bound is reached...
      for (let i = 0; i < 10; i++)
        app.send(awarenessFrame(`stray-${round}-${i}`, encodeAwareness([{ clientId: 3000 + i, clock: 2, state: null }])));
      await sleep(400);
      // ...but they expire, so the next ones do not reset the socket.
    }
    await sleep(50);
    expect(app.closeInfo, 'expired queued documents do not count').toBeNull();
    // Still: more than the bound at once is a reset.
    for (let i = 0; i < 11; i++) app.send(awarenessFrame(`burst-${i}`, encodeAwareness([{ clientId: 4000 + i, clock: 2, state: null }])));
    expect((await app.waitClose()).code).toBe(4205);
  });

  it('never has more than MAX_DOCUMENTS_PER_SOCKET documents open or opening, even from one burst of Auth', async () => {
    const server = await startTestServer(
      transport,
      { maxDocumentsPerSocket: 10, maxPendingDocuments: 100 },
      { authorizer: slowAuthorizer },
    );
    const app = await RawClient.connect(server.port);
    for (let i = 0; i < 40; i++) app.send(authFrame(`burst-${i}`));
    await waitFor(() => authenticated(app) + denied(app) === 40, 5_000, 'every Auth answered');
    expect(authenticated(app)).toBe(10);
    expect(denied(app)).toBe(30);
    expect(server.metrics.counters.roomsOpen).toBe(10);
    // Closing one makes room for exactly one more.
    app.send(closeDocFrame('burst-0'));
    app.send(authFrame('late-1'));
    app.send(authFrame('late-2'));
    await waitFor(() => authenticated(app) + denied(app) === 42, 5_000, 'both answered');
    expect(app.framesFor('late-1').some((f) => f.kind === 'auth' && f.authType === 2)).toBe(true);
    expect(app.framesFor('late-2').some((f) => f.kind === 'auth' && f.authType === 1)).toBe(true);
  });
});
