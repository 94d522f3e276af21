/**
 * The app's side of the Authors toggle, pure parts: the blame's text offsets become the right
 * ranges of the editor's document (headings, marks, hard breaks, lists), or none when the
 * editor's text is no longer the blame's; and authors get colours told apart.
 */
import { getSchema } from '@tiptap/core';
import StarterKit from '@tiptap/starter-kit';
import { describe, expect, it } from 'vitest';
import { renderPaper } from '../../server/documents/paper.js';
import { prosemirrorJSONToYXmlFragment } from 'y-prosemirror';
import * as Y from 'yjs';
import { blameRanges } from '../../clients/web/src/paper/blame-ranges.js';
import { assignAuthorColours, UNKNOWN_AUTHOR_COLOUR } from '../../clients/web/src/paper/author-palette.js';
import type { BlameSpan } from '../../server/authorship/authorship-types.js';

const schema = getSchema([StarterKit]);
const text = (value: string, marks?: { type: string }[]) => ({ type: 'text', text: value, ...(marks ? { marks } : {}) });
const json = {
  type: 'doc',
  content: [
    { type: 'heading', attrs: { level: 1 }, content: [text('Title')] },
    {
      type: 'paragraph',
      content: [text('Plain '), text('bold', [{ type: 'bold' }]), text(' end'), { type: 'hardBreak' }, text('next line')],
    },
    { type: 'paragraph' },
    { type: 'bulletList', content: [{ type: 'listItem', content: [{ type: 'paragraph', content: [text('item')] }] }] },
  ],
};

describe('blameRanges', () => {
  const doc = schema.nodeFromJSON(json);
  // The server's text of the same content (what GET …/blame returns as `text`).
  const ydoc = new Y.Doc();
  prosemirrorJSONToYXmlFragment(schema, json, ydoc.getXmlFragment('default'));
  const serverText = renderPaper(ydoc).text;
  const span = (from: number, to: number, name: string): BlameSpan => ({ from, to, userId: null, name });

  it('maps every span onto the characters it names', () => {
    expect(serverText).toBe('Title\nPlain bold end\nnext line\n\nitem');
    const spans = [span(0, 5, 'A'), span(6, 12, 'B'), span(12, 20, 'A'), span(21, 30, 'C'), span(32, 36, 'B')];
    const ranges = blameRanges(doc, { text: serverText, spans })!;
    expect(ranges).not.toBeNull();
    const shown = ranges.map((range) => [doc.textBetween(range.from, range.to), range.author.name]);
    expect(shown).toEqual([
      ['Title', 'A'],
      ['Plain ', 'B'],
      ['bold', 'A'], // a span across marked text nodes is one range per node
      [' end', 'A'],
      ['next line', 'C'],
      ['item', 'B'],
    ]);
    // Joined per author, the ranges say exactly what each span says.
    for (const s of spans) {
      const covered = ranges
        .filter((range) => range.author === s)
        .map((range) => doc.textBetween(range.from, range.to))
        .join('');
      expect(covered).toBe(serverText.slice(s.from, s.to).replace('\n', ''));
    }
  });

  it('gives nothing when the editor no longer has the blame’s text', () => {
    expect(blameRanges(doc, { text: `${serverText}!`, spans: [span(0, 5, 'A')] })).toBeNull();
  });
});

describe('assignAuthorColours', () => {
  const palette = ['red', 'green', 'blue'];

  it('keeps each author’s own colour unless an earlier author has it', () => {
    const own = (id: string) => ({ u1: 'green', u2: 'green', u3: 'red' })[id] ?? 'blue';
    const colours = assignAuthorColours(
      [
        { userId: 'u1', name: 'One' },
        { userId: 'u2', name: 'Two' },
        { userId: 'u3', name: 'Three' },
        { userId: null, name: null },
      ],
      own,
      palette,
    );
    expect(Object.fromEntries(colours)).toEqual({
      unknown: UNKNOWN_AUTHOR_COLOUR,
      'user:u1': 'green',
      'user:u2': 'red',
      'user:u3': 'blue',
    });
  });

  it('repeats colours once the palette is used up; open-mode authors go by name', () => {
    const colours = assignAuthorColours(
      ['a', 'b', 'c', 'd'].map((name) => ({ userId: null, name })),
      () => 'red',
      palette,
    );
    expect([...colours.values()].slice(1)).toEqual(['red', 'green', 'blue', 'red']);
    expect([...colours.keys()].slice(1)).toEqual(['name:a', 'name:b', 'name:c', 'name:d']);
  });
});
