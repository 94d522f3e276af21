/**
 * The provider's update listener is off exactly while Yjs would encode a transaction the
 * provider applied itself (what the server sent); every other transaction, including a local
 * edit an observer makes while the server's update is applied, still reaches it.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { skipEncodingOfOwnUpdates } from '../../clients/web/src/collab/skip-own-echo.js';

const PROVIDER = { name: 'provider' };

function remoteUpdate(text: string): Uint8Array {
  const other = new Y.Doc();
  other.getText('t').insert(0, text);
  return Y.encodeStateAsUpdate(other);
}

describe('skipEncodingOfOwnUpdates', () => {
  it('does not hand the provider its own transactions, and hands it everything else', () => {
    const doc = new Y.Doc();
    const seen: unknown[] = [];
    const handler = (_update: Uint8Array, origin: unknown) => seen.push(origin);
    doc.on('update', handler);
    skipEncodingOfOwnUpdates(doc, PROVIDER, handler);

    Y.applyUpdate(doc, remoteUpdate('from the server'), PROVIDER);
    expect(seen).toEqual([]);
    expect(doc.getText('t').toString()).toBe('from the server');

    doc.transact(() => doc.getText('t').insert(0, 'mine '), 'local');
    Y.applyUpdate(doc, remoteUpdate('another peer'), 'someone-else');
    expect(seen).toEqual(['local', 'someone-else']);
  });

  it('sends a local edit that an observer makes while the server’s update is applied', () => {
    const doc = new Y.Doc();
    const sent: Uint8Array[] = [];
    const handler = (update: Uint8Array, origin: unknown) => {
      if (origin !== PROVIDER) sent.push(update);
    };
    doc.on('update', handler);
    skipEncodingOfOwnUpdates(doc, PROVIDER, handler);
    // Like an editor binding that writes back (autolink, normalisation) when remote text arrives.
    doc.getText('t').observe((event) => {
      if (event.transaction.origin === PROVIDER) doc.transact(() => doc.getMap('m').set('normalised', true), 'binding');
    });

    Y.applyUpdate(doc, remoteUpdate('remote'), PROVIDER);
    expect(sent).toHaveLength(1);
    const replica = new Y.Doc();
    Y.applyUpdate(replica, sent[0]!);
    expect(replica.getMap('m').get('normalised')).toBe(true);
  });

  it('leaves the listener attached after the undo', () => {
    const doc = new Y.Doc();
    const seen: unknown[] = [];
    const handler = (_update: Uint8Array, origin: unknown) => seen.push(origin);
    doc.on('update', handler);
    const undo = skipEncodingOfOwnUpdates(doc, PROVIDER, handler);
    undo();
    Y.applyUpdate(doc, remoteUpdate('x'), PROVIDER);
    expect(seen).toEqual([PROVIDER]);
  });
});
