/** A raw client that joins a document and waits for its content (durability suites). */
import * as Y from 'yjs';
import { authFrame, step1Frame } from './frames.js';
import { RawClient } from './raw-client.js';

export { startChildServer, type ChildServer } from './child-server.js';

/** Authenticates `name` on a fresh raw client and waits for the server's SyncStep2. */
export async function joinDocument(port: number, name: string): Promise<RawClient> {
  const client = await RawClient.connect(port);
  client.send(authFrame(name, 'token', '4.8.0'));
  client.send(step1Frame(name, Y.encodeStateVector(new Y.Doc())));
  await client.waitForFrame((frame) => frame.kind === 'sync' && frame.sub === 1 && frame.name === name, 10_000, `SyncStep2 for ${name}`);
  return client;
}
