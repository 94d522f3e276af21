import type { Node as ProseMirrorNode } from '@tiptap/pm/model';
import { walkPaperText, type PaperTextTree } from '../../../../server/documents/paper-text.js';
import type { BlameSpan, PaperBlame } from '../../../../server/authorship/authorship-types.js';

/** A run of the editor's document (ProseMirror positions) written by one author. */
export interface AuthorRange {
  readonly from: number;
  readonly to: number;
  readonly author: BlameSpan;
}

/** The text rule (server/documents/paper-text.ts) read off ProseMirror nodes, as the server reads Yjs. */
const proseMirrorTree: PaperTextTree<ProseMirrorNode> = {
  isText: (node) => node.isText,
  textLength: (node) => node.text?.length ?? 0,
  nodeName: (node) => node.type.name,
  children: (node) => node.content.content,
};

interface TextSegment {
  /** Offset in the plain text. */
  readonly start: number;
  readonly length: number;
  /** ProseMirror position of the text node. */
  readonly pos: number;
}

/**
 * The blame's spans as ranges of `doc`, or null when `doc` no longer has the text the blame was
 * made of (someone typed since): offsets into another text would colour the wrong characters.
 * The server's offsets are into the paper's plain text by the text rule; walking the editor's
 * document by the same rule gives the same text and, for each text node, where it starts.
 */
export function blameRanges(doc: ProseMirrorNode, blame: PaperBlame): AuthorRange[] | null {
  const positions: number[] = [];
  doc.descendants((node, pos) => {
    if (node.isText) positions.push(pos);
    return !node.isText;
  });
  const segments: TextSegment[] = [];
  const parts: string[] = [];
  // The walk visits every text node once, in document order: the same order as `positions`.
  walkPaperText(doc.content.content, proseMirrorTree, {
    text: (node, start) => {
      parts.push(node.text ?? '');
      segments.push({ start, length: node.text?.length ?? 0, pos: positions[segments.length] ?? -1 });
    },
    literal: (value) => parts.push(value),
    element: () => {},
  });
  if (parts.join('') !== blame.text || segments.some((segment) => segment.pos < 0)) return null;
  const ranges: AuthorRange[] = [];
  let i = 0;
  for (const span of blame.spans) {
    while (i < segments.length && segments[i]!.start + segments[i]!.length <= span.from) i++;
    for (let j = i; j < segments.length && segments[j]!.start < span.to; j++) {
      const segment = segments[j]!;
      const from = Math.max(span.from, segment.start);
      const to = Math.min(span.to, segment.start + segment.length);
      if (from < to) ranges.push({ from: segment.pos + from - segment.start, to: segment.pos + to - segment.start, author: span });
    }
  }
  return ranges;
}
