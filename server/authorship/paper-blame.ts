/**
 * Who wrote each span of a paper: the live `default` fragment walked by the plain-text rule
 * (paper-text.ts, the walk paper-positions.ts makes), each visible character attributed to the
 * author of the Yjs item holding it (its client id's owner), and runs of one author coalesced.
 *
 * The offsets are into `renderPaper(doc).text`, the very text `…/content?format=text` serves.
 * The walk over the Yjs types is built to give the same text; should it ever not (content the
 * two read differently), the spans would be wrong, so none are given rather than wrong ones.
 * A `default` that does not hold editor content (written as a plain Y.Text) has no spans either.
 */
import * as Y from 'yjs';
import { renderPaper } from '../documents/paper.js';
import { holdsEditorContent, paperFragment } from '../documents/paper-fragment.js';
import { yTree, type PaperYNode } from '../documents/paper-positions.js';
import { walkPaperText } from '../documents/paper-text.js';
import type { AuthorIdentity } from './author-identities.js';
import type { BlameSpan, PaperBlame } from './authorship-types.js';

/** What stands for an embed in the walked text (paper-positions.ts does the same). */
const EMBED = '\uFFFC';

interface OpenSpan {
  from: number;
  to: number;
  readonly identity: AuthorIdentity;
}

export interface PaperBlameResult extends PaperBlame {
  /** False when the walk did not give the rendered text (then `spans` is empty, though the paper holds editor content). */
  readonly attributed: boolean;
}

export function paperBlame(doc: Y.Doc, authorOf: (client: number) => AuthorIdentity): PaperBlameResult {
  const { text } = renderPaper(doc);
  const fragment = paperFragment(doc);
  if (fragment === null || !holdsEditorContent(fragment)) return { text, spans: [], attributed: true }; // no editor content: nothing to walk
  const spans: OpenSpan[] = [];
  const parts: string[] = [];
  const authors = new Map<number, AuthorIdentity>();
  walkPaperText(fragment.toArray() as PaperYNode[], yTree, {
    text(node, start) {
      let offset = start;
      for (let item = (node as Y.XmlText)._start; item !== null; item = item.right) {
        if (item.deleted || !item.countable) continue;
        const length = item.length;
        parts.push(item.content instanceof Y.ContentString ? item.content.str : EMBED.repeat(length));
        const client = item.id.client;
        let identity = authors.get(client);
        if (identity === undefined) {
          identity = authorOf(client);
          authors.set(client, identity);
        }
        const last = spans[spans.length - 1];
        if (last !== undefined && last.to === offset && last.identity.key === identity.key) last.to += length;
        else spans.push({ from: offset, to: offset + length, identity });
        offset += length;
      }
    },
    literal(value) {
      parts.push(value);
    },
    element() {},
  });
  if (parts.join('') !== text) return { text, spans: [], attributed: false };
  return {
    text,
    spans: spans.map(({ from, to, identity }): BlameSpan => ({ from, to, userId: identity.userId, name: identity.name })),
    attributed: true,
  };
}
