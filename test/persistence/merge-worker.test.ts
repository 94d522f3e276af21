import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { IN_THREAD_MERGER } from '../../server/persistence/merge.js';
import { VersionWorker } from '../../server/versions/version-worker.js';

/** Updates of one growing text, one per edit, and bytes Yjs refuses in the middle. */
function updates(): Uint8Array[] {
  const doc = new Y.Doc();
  const out: Uint8Array[] = [];
  doc.on('update', (update: Uint8Array) => out.push(update));
  const text = doc.getText('t');
  for (let i = 0; i < 200; i++) text.insert(text.length === 0 ? 0 : (i * 7) % text.length, `w${i} `);
  text.delete(0, 10);
  out.splice(50, 0, new TextEncoder().encode('not a yjs update'));
  return out;
}

describe('folds on the worker thread (VersionWorker as UpdateMerger)', () => {
  const worker = new VersionWorker();
  afterAll(() => worker.close());

  it('give the state and the failing updates the in-thread fold gives, and leave the inputs intact', async () => {
    const inputs = updates();
    const before = inputs.map((u) => u.slice());
    const here = await IN_THREAD_MERGER.merge(inputs, true);
    const there = await worker.merge(inputs, true);
    expect(there.failed).toEqual([50]);
    expect(there.failed).toEqual(here.failed);
    expect(Buffer.from(there.state!)).toEqual(Buffer.from(here.state!));
    expect(inputs).toEqual(before);

    const checked = await worker.merge(inputs, false);
    expect(checked).toEqual({ state: null, failed: [50] });
  });

  it('rejects once closed (a compaction pass then fails and is asked again later)', async () => {
    const closing = new VersionWorker();
    await closing.merge(updates(), true);
    await closing.close();
    await expect(closing.merge(updates(), true)).rejects.toThrow(/closed/);
  });
});
