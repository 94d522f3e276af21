/**
 * The restoring update: applied to the live document it makes the content the version's, as
 * one forward edit, keeping unchanged blocks and map entries (what points into them stays
 * attached), and it is null when there is nothing to change.
 */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { renderContent } from '../../server/documents/content.js';
import { restoreUpdate } from '../../server/documents/restore.js';
import { appendParagraph, paperLines, writePaper } from '../helpers/versions.js';

describe('restoreUpdate', () => {
  it('makes a paper the version’s content in one update, keeping unchanged blocks', () => {
    const live = new Y.Doc();
    writePaper(live, ['Title', 'Old body', 'Footer']);
    const version = Y.encodeStateAsUpdate(live);
    const titleBefore = live.getXmlFragment('default').get(0);
    writePaper(live, ['Title', 'New body', 'More', 'Footer']);
    // writePaper replaces every block; rebuild the title so it is an item the version does not hold.
    const keptTitle = live.getXmlFragment('default').get(0);
    const updates: Uint8Array[] = [];
    live.on('update', (u: Uint8Array) => updates.push(u));
    const update = restoreUpdate('paper', live, version);
    expect(update).not.toBeNull();
    expect(updates).toHaveLength(0); // computed on a copy: the live document is untouched
    const other = new Y.Doc();
    Y.applyUpdate(other, Y.encodeStateAsUpdate(live));
    Y.applyUpdate(live, update!);
    expect(paperLines(live)).toEqual(['Title', 'Old body', 'Footer']);
    expect(renderContent('paper', live)).toEqual(
      (() => {
        const v = new Y.Doc();
        Y.applyUpdate(v, version);
        return renderContent('paper', v);
      })(),
    );
    // The leading block equal to the version's was kept, not replaced.
    expect(live.getXmlFragment('default').get(0)).toBe(keptTitle);
    expect(keptTitle).not.toBe(titleBefore);
    // A forward edit: a copy that receives it converges to the same content.
    Y.applyUpdate(other, update!);
    expect(paperLines(other)).toEqual(['Title', 'Old body', 'Footer']);
  });

  it('restores research-tree maps entry by entry', () => {
    const live = new Y.Doc();
    const node = (title: string, parentId: string | null) => {
      const map = new Y.Map<unknown>();
      map.set('title', title);
      map.set('parentId', parentId);
      map.set('order', 'a0');
      return map;
    };
    live.getMap('nodes').set('a', node('A', null));
    live.getMap('nodes').set('b', node('B', 'a'));
    live.getMap('edges').set('e1', { from: 'a', to: 'b', type: 'supports' });
    const version = Y.encodeStateAsUpdate(live);
    const keptA = live.getMap('nodes').get('a');
    live.getMap('nodes').set('c', node('C', 'a'));
    (live.getMap('nodes').get('b') as Y.Map<unknown>).set('title', 'B renamed');
    live.getMap('edges').delete('e1');
    Y.applyUpdate(live, restoreUpdate('research_tree', live, version)!);
    expect(live.getMap('nodes').toJSON()).toEqual({
      a: { title: 'A', parentId: null, order: 'a0' },
      b: { title: 'B', parentId: 'a', order: 'a0' },
    });
    expect(live.getMap('edges').toJSON()).toEqual({ e1: { from: 'a', to: 'b', type: 'supports' } });
    expect(live.getMap('nodes').get('a')).toBe(keptA);
  });

  it('is null when the content already equals the version’s', () => {
    const live = new Y.Doc();
    writePaper(live, ['Same']);
    appendParagraph(live, 'content');
    expect(restoreUpdate('paper', live, Y.encodeStateAsUpdate(live))).toBeNull();
  });
});
