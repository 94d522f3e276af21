/**
 * A paper's content as a plain, mutable model, so that edits can be planned (and refused)
 * without touching the Y.Doc, then written in one transaction (paper-edits.ts).
 *
 * - Existing content is read from the `default` fragment when needed: elements keep their
 *   Y type as `source`, and each Y.XmlText becomes a TextRun that records the splices made
 *   to it, to be replayed on the Y.XmlText itself. Editing a run in place (never replacing
 *   its block) keeps concurrent typing in it, comment anchors and carets intact.
 * - New content (from paper-fit.ts) becomes the same model and is written the way
 *   y-prosemirror writes a ProseMirror node (its createTypeFromElementNode): a Y.XmlElement
 *   named by the node type with every non-null attribute, consecutive text nodes as one
 *   Y.XmlText whose marks are formatting attributes (mark name → the mark's attrs). So what
 *   the server writes is what an editor would have written, and an editor opening it has
 *   nothing to rewrite.
 * Pure: no I/O.
 */
import type { Node as ModelNode } from 'prosemirror-model';
import * as Y from 'yjs';
import type { PaperTextTree } from './paper-text.js';

/** Formatting attributes of a run of text: mark name → mark attrs (y-prosemirror's layout). */
export type TextAttributes = Record<string, unknown>;

/** Stands for an embed (a non-text item of a Y.XmlText) in a run's text: one position, as in Yjs. */
export const EMBED_CHARACTER = '\ufffc';

interface TextSegment {
  readonly text: string;
  readonly attributes: TextAttributes;
  /** The embedded value when this segment is an embed (its text is EMBED_CHARACTER). */
  readonly embed?: object;
}

/** One replaced range of a run's text. */
export interface Splice {
  readonly index: number;
  readonly remove: number;
  readonly insert: string;
  readonly attributes: TextAttributes;
}

/** The text of one Y.XmlText (or of one new one), with its formatting, editable by splices. */
export class TextRun {
  private segments: TextSegment[];
  private cachedText: string | null = null;
  private readonly splices: Splice[] = [];

  private constructor(
    /** The Y.XmlText this run reads, or null for a run of new content. */
    readonly source: Y.XmlText | null,
    segments: TextSegment[],
  ) {
    this.segments = segments;
  }

  static ofYText(text: Y.XmlText): TextRun {
    const segments: TextSegment[] = [];
    for (const op of text.toDelta() as { insert: unknown; attributes?: TextAttributes }[]) {
      const attributes = { ...(op.attributes ?? {}) };
      if (typeof op.insert === 'string') segments.push({ text: op.insert, attributes });
      else segments.push({ text: EMBED_CHARACTER, attributes, embed: op.insert as object });
    }
    return new TextRun(text, segments);
  }

  static ofSegments(segments: readonly { readonly text: string; readonly attributes: TextAttributes }[]): TextRun {
    return new TextRun(
      null,
      segments.map((segment) => ({ text: segment.text, attributes: { ...segment.attributes } })),
    );
  }

  get text(): string {
    this.cachedText ??= this.segments.map((segment) => segment.text).join('');
    return this.cachedText;
  }

  get length(): number {
    return this.text.length;
  }

  /** Whether splices were made (they must be replayed on the source). */
  get changed(): boolean {
    return this.splices.length > 0;
  }

  /** The formatting of the character at `index` (a copy). */
  attributesAt(index: number): TextAttributes {
    let offset = 0;
    for (const segment of this.segments) {
      if (index < offset + segment.text.length) return { ...segment.attributes };
      offset += segment.text.length;
    }
    return {};
  }

  /**
   * Replaces ranges of the current text, each removing `remove` characters at `index` and
   * inserting `insert` there with exactly `attributes`. The ranges are in ascending order
   * and do not overlap; the text is rebuilt once (a replace-all in a long run stays linear),
   * and the splices are recorded from the last to the first, so each index still holds when
   * they are replayed in order.
   */
  splice(ranges: readonly Splice[]): void {
    const segments: TextSegment[] = [];
    let cursor = 0;
    for (const range of ranges) {
      segments.push(...this.slice(cursor, range.index));
      if (range.insert !== '') segments.push({ text: range.insert, attributes: { ...range.attributes } });
      cursor = range.index + range.remove;
    }
    segments.push(...this.slice(cursor, this.length));
    this.segments = segments;
    this.cachedText = null;
    if (this.source === null) return;
    for (let i = ranges.length - 1; i >= 0; i--) this.splices.push({ ...ranges[i]!, attributes: { ...ranges[i]!.attributes } });
  }

  /** Replays the splices on the source Y.XmlText (inside the caller's transaction). */
  replay(): void {
    const source = this.source;
    if (source === null) return;
    for (const splice of this.splices) {
      if (splice.remove > 0) source.delete(splice.index, splice.remove);
      // Yjs gives inserted text exactly the attributes passed (the others nulled), so the copy
      // it may extend is not ours.
      if (splice.insert !== '') source.insert(splice.index, splice.insert, { ...splice.attributes });
    }
  }

  /** The run as a Yjs delta (for writing it as a new Y.XmlText). */
  toDelta(): { insert: string | object; attributes: TextAttributes }[] {
    return this.segments.map((segment) => ({ insert: segment.embed ?? segment.text, attributes: { ...segment.attributes } }));
  }

  private slice(from: number, to: number): TextSegment[] {
    const out: TextSegment[] = [];
    let offset = 0;
    for (const segment of this.segments) {
      const start = offset;
      const end = offset + segment.text.length;
      offset = end;
      if (end <= from || start >= to) continue;
      if (start >= from && end <= to) out.push(segment);
      else out.push({ text: segment.text.slice(Math.max(from, start) - start, Math.min(to, end) - start), attributes: segment.attributes });
    }
    return out;
  }
}

export interface ModelElement {
  readonly kind: 'element';
  readonly name: string;
  readonly attrs: Readonly<Record<string, unknown>>;
  readonly children: readonly ModelChild[];
}

export interface ModelText {
  readonly kind: 'text';
  readonly run: TextRun;
}

export type ModelChild = ModelElement | ModelText;

/** The model of existing content (a child of the fragment, or deeper). */
export function modelOfYType(type: Y.XmlElement | Y.XmlText | Y.XmlHook): ModelChild {
  if (type instanceof Y.XmlText) return { kind: 'text', run: TextRun.ofYText(type) };
  if (type instanceof Y.XmlElement) {
    return { kind: 'element', name: type.nodeName, attrs: type.getAttributes(), children: type.toArray().map(modelOfYType) };
  }
  return { kind: 'element', name: '', attrs: {}, children: [] };
}

/** The model of a schema node (new content). */
export function modelOfNode(node: ModelNode): ModelElement {
  const children: ModelChild[] = [];
  let texts: { text: string; attributes: TextAttributes }[] = [];
  const flush = (): void => {
    if (texts.length > 0) children.push({ kind: 'text', run: TextRun.ofSegments(texts) });
    texts = [];
  };
  node.forEach((child) => {
    if (child.isText) {
      const attributes: TextAttributes = {};
      for (const mark of child.marks) attributes[mark.type.name] = mark.attrs;
      texts.push({ text: child.text!, attributes });
    } else {
      flush();
      children.push(modelOfNode(child));
    }
  });
  flush();
  return { kind: 'element', name: node.type.name, attrs: node.attrs, children };
}

/** A new Y type for a model of new content, as y-prosemirror writes it. */
export function yTypeOfModel(model: ModelChild): Y.XmlElement | Y.XmlText {
  if (model.kind === 'text') {
    const text = new Y.XmlText();
    text.applyDelta(model.run.toDelta());
    return text;
  }
  const element = new Y.XmlElement(model.name);
  for (const [key, value] of Object.entries(model.attrs)) {
    if (value !== null && value !== undefined) element.setAttribute(key, value as string);
  }
  element.insert(0, model.children.map(yTypeOfModel));
  return element;
}

/** The model as the plain-text rule reads it (paper-text.ts). */
export const modelTextTree: PaperTextTree<ModelChild> = {
  isText: (node) => node.kind === 'text',
  textLength: (node) => (node.kind === 'text' ? node.run.length : 0),
  nodeName: (node) => (node.kind === 'element' ? node.name : ''),
  children: (node) => (node.kind === 'element' ? node.children : []),
};

/** Every text run under `node`, in document order, with the name of the element holding it. */
export function* textRunsOf(node: ModelChild, parent = ''): Generator<{ readonly run: TextRun; readonly parent: string }> {
  if (node.kind === 'text') {
    yield { run: node.run, parent };
    return;
  }
  for (const child of node.children) yield* textRunsOf(child, node.name);
}
