/**
 * The comments panel's model: recomputed after changes, at once after a quiet spell, and no
 * more than about a tenth of the time while changes keep coming to a large paper (listing the
 * comments indexes the whole paper); the last change is always reflected.
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { generatePaper, paperDocument, seededRandom } from '../../bench/paper-fixture.js';
import { CommentList } from '../../clients/web/src/paper/comment-list.js';
import { addComment } from '../../server/documents/comments.js';

const lists: CommentList[] = [];
afterEach(() => lists.splice(0).forEach((list) => list.destroy()));

function watch(doc: Y.Doc): { list: CommentList; calls: () => number } {
  const list = new CommentList(doc);
  lists.push(list);
  let calls = 0;
  list.onChange(() => calls++);
  return { list, calls: () => calls };
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const firstText = (doc: Y.Doc): Y.XmlText => {
  const fragment = doc.getXmlFragment('default');
  for (let i = 0; i < fragment.length; i++) {
    const child = (fragment.get(i) as Y.XmlElement).firstChild;
    if (child instanceof Y.XmlText) return child;
  }
  throw new Error('no text');
};

describe('CommentList', () => {
  it('recomputes at once after a quiet spell', async () => {
    const doc = paperDocument(generatePaper(2_000, seededRandom(1)));
    addComment(doc, { body: 'first', author: { id: 'u', name: 'U' }, anchor: { from: 0, to: 5 } });
    const { list, calls } = watch(doc);
    await settle(0);
    expect(list.current()).toHaveLength(1);
    for (let i = 1; i <= 5; i++) {
      await settle(300); // quiet
      firstText(doc).insert(0, 'x');
      await Promise.resolve(); // a microtask, no timer
      expect(calls()).toBe(1 + i);
      expect(list.current()[0]!.range!.from).toBe(i);
    }
  });

  it('throttles a burst of changes to a large paper, and reflects the last one', async () => {
    const doc = paperDocument(generatePaper(1_000_000, seededRandom(2)));
    addComment(doc, { body: 'on the opening', author: { id: 'u', name: 'U' }, anchor: { from: 10, to: 20 } });
    const { list, calls } = watch(doc);
    await settle(0);
    const before = calls();
    const text = firstText(doc);
    const start = performance.now();
    let keystrokes = 0;
    // A keystroke every 5 ms for half a second.
    while (performance.now() - start < 500) {
      text.insert(0, 'k');
      keystrokes++;
      await settle(5);
    }
    const during = calls() - before;
    await settle(300);
    expect(during).toBeGreaterThan(0);
    // Unthrottled: one per keystroke. How many fit in the half second depends on the machine's
    // load (the throttle follows the measured cost of a recompute), the ratio does not.
    expect(during).toBeLessThanOrEqual(Math.ceil(keystrokes / 4));
    // After the burst the list reflects the final text: the comment moved with the keystrokes.
    const typed = text.toString().match(/^k*/)![0].length;
    expect(list.current()[0]!.range!.from).toBe(10 + typed);
  });
});
