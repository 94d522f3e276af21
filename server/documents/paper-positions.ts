/**
 * Yjs positions in a paper's `default` fragment ↔ offsets in the paper's plain `text`
 * (the rule of paper-text.ts, walked over the live Yjs types so both agree).
 * Pure: usable in the browser.
 */
import * as Y from 'yjs';
import { holdsEditorContent } from './paper-fragment.js';
import { walkPaperText, type PaperTextTree } from './paper-text.js';

export type PaperYNode = Y.XmlElement | Y.XmlText | Y.XmlHook;
// Yjs types are invariant in their event type; `any` is the only common supertype (internal only).
// biome-ignore lint/suspicious/noExplicitAny: Yjs types are invariant in their event type; internal only
type AnyType = Y.AbstractType<any>;

/** The text rule's view of the live Yjs types (also walked by authorship's blame). */
export const yTree: PaperTextTree<PaperYNode> = {
  isText: (node) => node instanceof Y.XmlText,
  textLength: (node) => (node instanceof Y.XmlText ? node.length : 0),
  nodeName: (node) => (node instanceof Y.XmlElement ? node.nodeName : ''),
  children: (node) => (node instanceof Y.XmlElement ? (node.toArray() as PaperYNode[]) : []),
};

interface TextSegment {
  readonly node: Y.XmlText;
  readonly start: number;
  readonly length: number;
}

/** A snapshot of where every live text node and element of the paper sits in `text`. */
export interface PaperPositionIndex {
  /** The paper's plain text (equal to `renderPaper(doc).text`). */
  readonly text: string;
  /**
   * Offset in `text` of a Yjs relative position, or null when it does not resolve into the
   * live paper (its text node or block was deleted, or it points elsewhere). When it does
   * not, `path` (see `relativePositionAt`) is tried from the innermost level outwards.
   */
  offsetOf(position: Y.RelativePosition, path?: readonly Y.RelativePosition[]): number | null;
  /**
   * A relative position tied to a character: `assoc >= 0` to the first character at or
   * after `offset` (the position stays before it), `assoc < 0` to the last character before
   * `offset` (the position stays after it). Separators and hard breaks are not characters of
   * any text node and are skipped. Null when there is no such character.
   * `path` ties the same side to each enclosing node of that character, innermost first
   * (the text node in its block, the block in its parent, … up to the top-level block): when
   * a whole block goes, its Yjs items are garbage-collected and the character position no
   * longer resolves, but the deleted block's place among its live siblings still does.
   */
  relativePositionAt(offset: number, assoc: number): AnchoredPosition | null;
  /**
   * [from, to) narrowed to its first and last characters of text (line separators and hard
   * breaks at its edges dropped), or null when it holds no character of text at all.
   */
  textRange(from: number, to: number): { from: number; to: number } | null;
}

export interface AnchoredPosition {
  readonly position: Y.RelativePosition;
  readonly path: readonly Y.RelativePosition[];
  /** The offset of the character boundary actually tied (separators skipped). */
  readonly offset: number;
}

/** Positions in nothing: for a paper with no editor content, where no comment can anchor. */
const NO_POSITIONS: PaperPositionIndex = {
  text: '',
  offsetOf: () => null,
  relativePositionAt: () => null,
  textRange: () => null,
};

/**
 * Indexes the paper in `fragment`. A fragment holding something other than editor content (a
 * client wrote `default` as a Y.Text), or none at all, resolves no position.
 */
export function indexPaperPositions(fragment: Y.XmlFragment | null): PaperPositionIndex {
  const doc = fragment?.doc ?? null;
  if (fragment === null || doc === null || !holdsEditorContent(fragment)) return NO_POSITIONS;
  const segments: TextSegment[] = [];
  const spans = new Map<AnyType, { start: number; end: number }>();
  const parts: string[] = [];
  const length = walkPaperText(fragment.toArray() as PaperYNode[], yTree, {
    text: (node, start) => {
      const xmlText = node as Y.XmlText;
      const value = plainText(xmlText);
      parts.push(value);
      spans.set(xmlText, { start, end: start + xmlText.length });
      if (xmlText.length > 0) segments.push({ node: xmlText, start, length: xmlText.length });
    },
    literal: (value) => parts.push(value),
    element: (node, start, end) => {
      spans.set(node, { start, end });
    },
  });
  spans.set(fragment, { start: 0, end: length });

  const isLive = (type: AnyType): boolean => {
    let current: AnyType | null = type;
    while (current !== null && current !== fragment) {
      const item: Y.Item | null = current._item;
      if (item === null || item.deleted) return false;
      current = item.parent instanceof Y.AbstractType ? (item.parent as AnyType) : null;
    }
    return current === fragment;
  };

  /**
   * Offset of the point before child `index` of `type`. Between two children, a position
   * associated to the left sits at the end of the previous one, else at the start of the next.
   */
  const offsetInType = (type: AnyType, index: number, assoc: number): number | null => {
    const span = spans.get(type);
    // A node the walk skipped (an empty text node among blocks): use its place in its parent.
    if (span === undefined) return offsetOfChild(type, assoc);
    if (type instanceof Y.XmlText) return span.start + Math.max(0, Math.min(index, type.length));
    const children = type instanceof Y.XmlElement || type instanceof Y.XmlFragment ? type.toArray() : [];
    if (assoc < 0) {
      for (let i = Math.min(index, children.length) - 1; i >= 0; i--) {
        const childSpan = spans.get(children[i] as AnyType);
        if (childSpan !== undefined) return childSpan.end;
      }
      return span.start;
    }
    for (let i = Math.max(0, index); i < children.length; i++) {
      const childSpan = spans.get(children[i] as AnyType);
      if (childSpan !== undefined) return childSpan.start;
    }
    return span.end;
  };

  const offsetOfChild = (type: AnyType, assoc: number): number | null => {
    const parent = type._item?.parent;
    if (!(parent instanceof Y.XmlElement || parent instanceof Y.XmlFragment)) return null;
    const index = parent.toArray().indexOf(type as PaperYNode);
    return index < 0 ? null : offsetInType(parent, index, assoc);
  };

  const resolve = (position: Y.RelativePosition): number | null => {
    let absolute: Y.AbsolutePosition | null;
    try {
      absolute = Y.createAbsolutePositionFromRelativePosition(position, doc);
    } catch {
      return null; // malformed position (neither item, type nor root name)
    }
    if (absolute === null || !isLive(absolute.type)) return null;
    return offsetInType(absolute.type, absolute.index, position.assoc);
  };

  /** The relative positions of `node` and its ancestors below the fragment in their parents. */
  const pathOf = (node: AnyType, assoc: number): Y.RelativePosition[] => {
    const path: Y.RelativePosition[] = [];
    let current: AnyType = node;
    while (current !== fragment) {
      const parent: unknown = current._item?.parent;
      if (!(parent instanceof Y.XmlElement || parent instanceof Y.XmlFragment)) break;
      const index = parent.toArray().indexOf(current as PaperYNode);
      // Tied to `current` itself: after it (left association) or before it.
      path.push(Y.createRelativePositionFromTypeIndex(parent, assoc < 0 ? index + 1 : index, assoc < 0 ? -1 : 0));
      current = parent;
    }
    return path;
  };

  return {
    text: parts.join(''),
    offsetOf(position, path = []) {
      const offset = resolve(position);
      if (offset !== null) return offset;
      for (const level of path) {
        const fallback = resolve(level);
        if (fallback !== null) return fallback;
      }
      return null;
    },
    relativePositionAt(offset, assoc) {
      if (assoc >= 0) {
        const segment = segments[firstSegmentEndingAfter(segments, offset)];
        if (segment === undefined) return null;
        const at = Math.max(offset, segment.start);
        return {
          position: Y.createRelativePositionFromTypeIndex(segment.node, at - segment.start, 0),
          path: pathOf(segment.node, 0),
          offset: at,
        };
      }
      const segment = lastSegmentStartingBefore(segments, offset);
      if (segment === undefined) return null;
      const at = Math.min(offset, segment.start + segment.length);
      return {
        position: Y.createRelativePositionFromTypeIndex(segment.node, at - segment.start, -1),
        path: pathOf(segment.node, -1),
        offset: at,
      };
    },
    textRange(from, to) {
      const first = segments[firstSegmentEndingAfter(segments, from)];
      const last = lastSegmentStartingBefore(segments, to);
      if (first === undefined || last === undefined || first.start >= to) return null;
      return { from: Math.max(from, first.start), to: Math.min(to, last.start + last.length) };
    },
  };
}

/** The last segment holding a character before `offset`. */
function lastSegmentStartingBefore(segments: readonly TextSegment[], offset: number): TextSegment | undefined {
  const i = firstSegmentEndingAfter(segments, offset - 1);
  const candidate = segments[i];
  return candidate !== undefined && candidate.start < offset ? candidate : segments[i - 1];
}

/** Index of the first segment whose end is after `offset` (segments.length when none). */
function firstSegmentEndingAfter(segments: readonly TextSegment[], offset: number): number {
  let low = 0;
  let high = segments.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const segment = segments[mid]!;
    if (segment.start + segment.length > offset) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** The characters of a text node without its formatting (XmlText.toString gives XML). */
function plainText(node: Y.XmlText): string {
  let value = '';
  for (const op of node.toDelta() as { insert: unknown }[]) {
    // Embeds count one position in Yjs; a placeholder keeps offsets aligned.
    value += typeof op.insert === 'string' ? op.insert : '\uFFFC';
  }
  return value;
}
