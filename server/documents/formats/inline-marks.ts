/**
 * Marks as nested open/close pairs, for the serializers that write them as delimiters or
 * tags (Markdown, HTML). A schema's mark sets are sorted by rank (link outermost), so
 * consecutive pieces share a prefix of marks: what they share stays open, the rest is
 * closed and opened. Pure.
 */
import type { Mark, Node as ModelNode } from 'prosemirror-model';

/** One piece of a block's inline content: text under marks, or a line break. */
export type InlinePiece =
  | { readonly kind: 'text'; readonly text: string; readonly marks: readonly Mark[] }
  | { readonly kind: 'break'; readonly marks: readonly Mark[] };

export interface MarkWriter {
  open(mark: Mark): void;
  close(mark: Mark): void;
  piece(piece: InlinePiece, index: number): void;
}

/**
 * The inline content of a textblock as pieces. A line break carries the marks its two
 * neighbours share, so a mark that ends at a break is closed before it (a Markdown closing
 * delimiter at the start of a line would not close).
 */
export function inlinePieces(block: ModelNode): InlinePiece[] {
  const pieces: InlinePiece[] = [];
  block.forEach((child) => {
    if (child.isText) pieces.push({ kind: 'text', text: child.text!, marks: child.marks });
    else if (child.type.name === 'hardBreak') pieces.push({ kind: 'break', marks: [] });
  });
  return withBreakMarks(pieces);
}

/** Gives each break the marks shared by the text pieces around it. */
export function withBreakMarks(pieces: readonly InlinePiece[]): InlinePiece[] {
  return pieces.map((piece, i) => {
    if (piece.kind !== 'break') return piece;
    const before = nearestText(pieces, i, -1);
    const after = nearestText(pieces, i, 1);
    return { kind: 'break', marks: sharedPrefix(before, after) };
  });
}

function nearestText(pieces: readonly InlinePiece[], from: number, step: 1 | -1): readonly Mark[] {
  for (let i = from + step; i >= 0 && i < pieces.length; i += step) {
    const piece = pieces[i]!;
    if (piece.kind === 'text') return piece.marks;
  }
  return [];
}

function sharedPrefix(a: readonly Mark[], b: readonly Mark[]): readonly Mark[] {
  let keep = 0;
  while (keep < a.length && keep < b.length && a[keep]!.eq(b[keep]!)) keep++;
  return a.slice(0, keep);
}

/** Walks the pieces, opening and closing marks around them; everything is closed at the end. */
export function writeWithMarks(pieces: readonly InlinePiece[], writer: MarkWriter): void {
  const active: Mark[] = [];
  pieces.forEach((piece, index) => {
    const wanted = piece.marks;
    let keep = 0;
    while (keep < active.length && keep < wanted.length && active[keep]!.eq(wanted[keep]!)) keep++;
    while (active.length > keep) writer.close(active.pop()!);
    for (let i = keep; i < wanted.length; i++) {
      writer.open(wanted[i]!);
      active.push(wanted[i]!);
    }
    writer.piece(piece, index);
  });
  while (active.length > 0) writer.close(active.pop()!);
}
