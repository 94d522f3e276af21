/**
 * Review item 3: one document under many addresses. A Hocuspocus address is the document
 * name optionally followed by "\0<anything>" (providers with `sessionAwareness` use
 * "name\0sessionId"); every address that resolves to one document is its own audience, and
 * an Update frame carries the address, so each edit was encoded and published once per
 * address: four sockets joining "doc\0<0…999>" made every edit 4,000 frames.
 *
 * The addresses of one document are bounded per socket, per user and per document; an
 * edit's fan-out is then bounded whatever the clients do.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PermissionDeniedError, type Authorizer } from '../../server/auth/authorizer.js';
import { DEFAULT_PROJECT_ID } from '../../server/persistence/documents.js';
import { configFromEnv } from '../../server/config.js';
import { authFrame, step1Frame, updateFrame, type Frame } from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { closeServers, startTestServer, TRANSPORTS } from '../helpers/servers.js';
import { sleep, waitFor } from '../helpers/wait.js';

const DOC = 'many-addresses';

/** The token is the user id (tests only): users differ without a database. */
const tokenIsUser: Authorizer = {
  authenticate: (token) =>
    token === ''
      ? Promise.reject(new PermissionDeniedError('no token'))
      : Promise.resolve({ userId: token, sessionId: null, expiresAt: null }),
  revalidate: () => Promise.resolve(),
  authorize: (principal) =>
    Promise.resolve({ ...principal, scope: 'read-write', create: { kind: 'paper', projectId: DEFAULT_PROJECT_ID } }),
};

const answer = (client: RawClient, address: string) =>
  client.frames.find((f): f is Extract<Frame, { kind: 'auth' }> => f.kind === 'auth' && f.name === address);
const granted = (client: RawClient, addresses: readonly string[]) => addresses.filter((a) => answer(client, a)?.authType === 2);

/** Sends Auth for each address and waits until every one is answered. */
async function authAll(client: RawClient, addresses: readonly string[], token = 'token'): Promise<string[]> {
  for (const address of addresses) {
    client.send(authFrame(address, token));
    client.send(step1Frame(address, new Uint8Array([0])));
  }
  await waitFor(() => addresses.every((a) => answer(client, a) !== undefined), 10_000, 'every Auth answered');
  return granted(client, addresses);
}

const addressesOf = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${DOC}\0${prefix}${i}`);

describe('address bounds: configuration', () => {
  it('has small defaults, configurable by environment', () => {
    const config = configFromEnv({});
    expect(config.maxAddressesPerSocket).toBe(4);
    expect(config.maxAddressesPerUser).toBe(16);
    expect(config.maxAddressesPerDocument).toBe(64);
    const set = configFromEnv({ MAX_ADDRESSES_PER_SOCKET: '2', MAX_ADDRESSES_PER_USER: '3', MAX_ADDRESSES_PER_DOCUMENT: '5' });
    expect([set.maxAddressesPerSocket, set.maxAddressesPerUser, set.maxAddressesPerDocument]).toEqual([2, 3, 5]);
    expect(() => configFromEnv({ MAX_ADDRESSES_PER_SOCKET: '0' })).toThrow(/MAX_ADDRESSES_PER_SOCKET/);
  });
});

describe.each(TRANSPORTS)('one document under many addresses over %s', (transport) => {
  afterEach(async () => {
    RawClient.terminateAll();
    await closeServers();
  });

  it('one socket gets at most MAX_ADDRESSES_PER_SOCKET addresses of one document; other documents are not affected', async () => {
    const server = await startTestServer(transport);
    const client = await RawClient.connect(server.port);
    const addresses = [DOC, ...addressesOf('', 40)];
    const ok = await authAll(client, addresses);
    expect(ok).toHaveLength(4);
    expect(ok[0]).toBe(DOC);
    const refused = answer(client, `${DOC}\0${39}`)!;
    expect(refused.authType).toBe(1);
    expect(refused.text).toMatch(/too many addresses/);
    expect(client.isOpen).toBe(true);
    // Other documents on the same socket open as usual.
    expect(await authAll(client, ['another-doc', 'another-doc\0x'])).toHaveLength(2);
    // Closing one address frees its slot (the provider's CLOSE).
    const closing = ok[1]!;
    const { closeDocFrame } = await import('../helpers/frames.js');
    client.send(closeDocFrame(closing));
    await client.waitForFrame((f) => f.kind === 'close' && f.name === closing);
    const again = `${DOC}\0again`;
    expect(await authAll(client, [again])).toEqual([again]);
  });

  it('one user gets at most MAX_ADDRESSES_PER_USER addresses of one document, over all their sockets', async () => {
    const server = await startTestServer(transport, { maxAddressesPerSocket: 4, maxAddressesPerUser: 6 }, { authorizer: tokenIsUser });
    const sockets = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(server.port)));
    let total = 0;
    for (const [s, socket] of sockets.entries()) total += (await authAll(socket, addressesOf(`s${s}-`, 4), 'mallory')).length;
    expect(total).toBe(6);
    // The plain name is one shared audience: never refused for this bound.
    expect(await authAll(sockets[3]!, [DOC], 'mallory')).toEqual([DOC]);
    // Another user is not affected.
    const alice = await RawClient.connect(server.port);
    expect(await authAll(alice, addressesOf('alice-', 3), 'alice')).toHaveLength(3);
  });

  it('a document has at most MAX_ADDRESSES_PER_DOCUMENT addresses besides its name; its name always opens', async () => {
    const server = await startTestServer(transport, { maxAddressesPerSocket: 2, maxAddressesPerDocument: 5 });
    let total = 0;
    const sockets: RawClient[] = [];
    for (let s = 0; s < 6; s++) {
      const socket = await RawClient.connect(server.port);
      sockets.push(socket);
      total += (await authAll(socket, addressesOf(`d${s}-`, 2))).length;
    }
    expect(total).toBe(5);
    // An address already in use by another socket shares its audience: allowed.
    const shared = granted(sockets[0]!, addressesOf('d0-', 2))[0]!;
    const late = await RawClient.connect(server.port);
    expect(await authAll(late, [shared, DOC])).toEqual([shared, DOC]);
  });

  it("an edit's fan-out stays bounded while four sockets try a thousand addresses each", async () => {
    const server = await startTestServer(transport, { maxPendingDocuments: 1000, maxQueuedFrames: 10_000 });
    const writer = await RawClient.connect(server.port);
    await writer.join(DOC);
    const reader = await RawClient.connect(server.port);
    await reader.join(DOC);
    const attackers = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(server.port)));
    for (const [a, attacker] of attackers.entries()) {
      for (let i = 0; i < 1000; i++) attacker.send(authFrame(`${DOC}\0${a}-${i}`));
    }
    await waitFor(
      () => attackers.every((a) => a.frames.filter((f) => f.kind === 'auth').length === 1000),
      20_000,
      'every attacker Auth answered',
    );
    await sleep(50);
    const before = server.metrics.counters.messagesOut;
    const edits = 20;
    for (let i = 0; i < edits; i++) writer.send(updateFrame(DOC, textUpdate(writer.doc(DOC), `${i};`)));
    await reader.waitForText(DOC, Array.from({ length: edits }, (_, i) => `${i};`).join(''), 10_000);
    await waitFor(() => writer.acks(DOC).length === edits, 5_000, 'acks');
    await sleep(100);
    const perEdit = (server.metrics.counters.messagesOut - before) / edits;
    // Each edit: the frame to every audience (the plain name, and at most 4 addresses per
    // attacker socket) plus the writer's ack.
    expect(perEdit).toBeLessThanOrEqual(1 + 4 * 4 + 1);
    for (const attacker of attackers) expect(attacker.isOpen).toBe(true);
  });
});
