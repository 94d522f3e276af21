/** The identity of a Yjs state: equal for equal states however they were built, different for any change. */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { VersionWorker } from '../../server/versions/version-worker.js';
import { sameBytes } from '../../server/same-bytes.js';
import { stateHash } from '../../server/versions/state-identity.js';

function edits(): Uint8Array[] {
  const source = new Y.Doc();
  const updates: Uint8Array[] = [];
  source.on('update', (update: Uint8Array) => updates.push(update));
  const text = source.getText('t');
  for (let i = 0; i < 50; i++) text.insert(text.length, `word${i} `);
  text.delete(10, 30);
  source.getMap('m').set('k', 'v');
  return updates;
}

describe('stateHash', () => {
  it('is the same for one state reached in different orders and encodings', () => {
    const updates = edits();
    const inOrder = new Y.Doc();
    for (const update of updates) Y.applyUpdate(inOrder, update);
    const reversed = new Y.Doc();
    for (const update of [...updates].reverse()) Y.applyUpdate(reversed, update);
    const merged = new Y.Doc();
    Y.applyUpdate(merged, Y.mergeUpdates(updates));
    const reloaded = new Y.Doc();
    Y.applyUpdate(reloaded, Y.encodeStateAsUpdate(inOrder));
    const hashes = [inOrder, reversed, merged, reloaded].map(stateHash);
    for (const hash of hashes) expect(sameBytes(hash, hashes[0]!)).toBe(true);
  });

  it('changes with any insertion or deletion, even one that leaves the same text', () => {
    const doc = new Y.Doc();
    doc.getText('t').insert(0, 'abc');
    const before = stateHash(doc);
    doc.getText('t').insert(1, 'x');
    const inserted = stateHash(doc);
    doc.getText('t').delete(1, 1);
    const back = stateHash(doc);
    expect(doc.getText('t').toString()).toBe('abc');
    expect(sameBytes(before, inserted)).toBe(false);
    expect(sameBytes(inserted, back)).toBe(false);
    expect(sameBytes(before, back)).toBe(false);
  });
});

describe('VersionWorker (the worker thread that merges stored updates for a version)', () => {
  it('gives the merged state and the same identity as stateHash', async () => {
    const updates = edits();
    const encoder = new VersionWorker();
    try {
      // A row that does not apply is left out; the parts are handed over (copies here, kept for the check).
      const encoded = await encoder.encode([new Uint8Array([0, 1, 2]), ...updates.map((update) => update.slice())]);
      const doc = new Y.Doc();
      for (const update of updates) Y.applyUpdate(doc, update);
      expect(sameBytes(encoded.hash, stateHash(doc))).toBe(true);
      expect(encoded.empty).toBe(false);
      const merged = new Y.Doc();
      Y.applyUpdate(merged, encoded.state);
      expect(merged.getText('t').toString()).toBe(doc.getText('t').toString());
      expect((await encoder.encode([])).empty).toBe(true);
    } finally {
      await encoder.close();
    }
    await expect(encoder.encode(updates)).rejects.toThrow(/closed/);
  });
});
