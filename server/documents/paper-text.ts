/**
 * The plain-text rule of a paper, written once and applied to two trees: the rendered
 * ProseMirror JSON (to produce `text`) and the live Y.XmlFragment (to turn Yjs positions
 * into offsets in that same `text` for anchored comments). One walker guarantees the two
 * agree.
 *
 * The rule, without a schema (the server must render whatever a client wrote):
 * - A node is a *line* when it has no element children that are blocks: it is empty,
 *   or it holds text, or it holds a known inline node (hard break, mention, emoji).
 *   Otherwise it is a *container* and its children are blocks in turn.
 * - `text` is the lines in document order joined by "\n" (so an empty paragraph is an
 *   empty line, a horizontal rule too, and a code block keeps its own newlines).
 * - Inside a line: text as is, a hard break is "\n", any other inline node contributes the
 *   text it contains (an atom such as a mention contributes nothing).
 * - Empty text nodes are ignored (the JSON has none, Yjs may keep empty Y.XmlText).
 * Pure: no Node APIs, usable in the browser.
 */

/** Separator between two lines of `text`. */
export const LINE_SEPARATOR = '\n';

/** Inline nodes that render as a newline inside a line. */
const LINE_BREAK_NAMES: ReadonlySet<string> = new Set(['hardBreak', 'hard_break']);

/** Element names known to be inline: their parent is a line even when it holds no text. */
const INLINE_NAMES: ReadonlySet<string> = new Set(['hardBreak', 'hard_break', 'mention', 'emoji']);

/** How to read a tree (ProseMirror JSON or Yjs XML types) for the text rule. */
export interface PaperTextTree<N> {
  isText(node: N): boolean;
  /** UTF-16 length of a text node (0 for elements). */
  textLength(node: N): number;
  nodeName(node: N): string;
  children(node: N): readonly N[];
}

/** What the walk reports. Offsets are in `text` coordinates (UTF-16 code units). */
export interface PaperTextVisitor<N> {
  /** A text node starts at `start` and spans `textLength(node)`. */
  text(node: N, start: number): void;
  /** A run of `text` that comes from no text node: line separators and hard breaks. */
  literal(value: string): void;
  /** An element spans [start, end) of `text`; reported after its content. */
  element(node: N, start: number, end: number): void;
}

/** Walks `roots` (the top-level blocks) by the text rule; returns the length of `text`. */
export function walkPaperText<N>(roots: readonly N[], tree: PaperTextTree<N>, visitor: PaperTextVisitor<N>): number {
  let offset = 0;
  let lines = 0;

  const significant = (nodes: readonly N[]): N[] => nodes.filter((node) => !(tree.isText(node) && tree.textLength(node) === 0));

  const isLine = (children: readonly N[]): boolean =>
    children.length === 0 || children.some((child) => tree.isText(child) || INLINE_NAMES.has(tree.nodeName(child)));

  const beginLine = (): void => {
    if (lines++ > 0) {
      visitor.literal(LINE_SEPARATOR);
      offset += LINE_SEPARATOR.length;
    }
  };

  const inline = (node: N): void => {
    if (tree.isText(node)) {
      visitor.text(node, offset);
      offset += tree.textLength(node);
      return;
    }
    const start = offset;
    if (LINE_BREAK_NAMES.has(tree.nodeName(node))) {
      visitor.literal('\n');
      offset += 1;
    } else {
      for (const child of tree.children(node)) inline(child);
    }
    visitor.element(node, start, offset);
  };

  /** Walks one block; returns where its content starts (after its line separator). */
  const block = (node: N): number => {
    if (tree.isText(node)) {
      // Text directly among blocks (not valid ProseMirror, but a client may write it): its own line.
      beginLine();
      const start = offset;
      visitor.text(node, start);
      offset += tree.textLength(node);
      return start;
    }
    const all = tree.children(node);
    const children = significant(all);
    if (isLine(children)) {
      beginLine();
      const start = offset;
      for (const child of all) inline(child);
      visitor.element(node, start, offset);
      return start;
    }
    let start: number | null = null;
    for (const child of children) {
      const childStart = block(child);
      start ??= childStart;
    }
    visitor.element(node, start ?? offset, offset);
    return start ?? offset;
  };

  for (const root of significant(roots)) block(root);
  return offset;
}

/** A ProseMirror JSON node as far as the text rule needs it. */
interface TextRuleJsonNode {
  readonly type: string;
  readonly text?: string;
  readonly content?: readonly TextRuleJsonNode[];
}

const jsonTree: PaperTextTree<TextRuleJsonNode> = {
  isText: (node) => node.type === 'text',
  textLength: (node) => (node.type === 'text' ? (node.text ?? '').length : 0),
  nodeName: (node) => node.type,
  children: (node) => node.content ?? [],
};

/** The plain text of ProseMirror JSON blocks (the top-level `content` of a doc) by the text rule. */
export function paperTextOf(blocks: readonly TextRuleJsonNode[]): string {
  const parts: string[] = [];
  walkPaperText(blocks, jsonTree, {
    text: (node) => parts.push(node.text ?? ''),
    literal: (value) => parts.push(value),
    element: () => {},
  });
  return parts.join('');
}
