/**
 * Replays a real editing trace (test/fixtures/traces, see ATTRIBUTION.md there) into a paper the
 * way a rich-text editor writes it: the `default` Y.XmlFragment holds one
 * `Y.XmlElement('paragraph')` per line of the trace's text, each holding one `Y.XmlText`; a '\n'
 * typed splits a paragraph, a '\n' deleted joins two, and every other character goes into the
 * paragraph's text, taking the formatting of the place it is typed at (as typing inside a bold
 * word does). Between keystrokes a seeded PRNG now and then formats a range around the caret
 * (bold, italic, a link with an href, or the removal of one of them with null), so later
 * keystrokes land inside, at the edges of and across formatted runs.
 *
 * The mapping is exact: the trace's position p is the p-th character of the paragraphs' texts
 * joined with '\n', which is what `paperPlainText` returns. Each keystroke is one Yjs
 * transaction (one update, as an editor sends it) and each formatting step another one.
 *
 * Several replicas can take turns (e.g. a Hocuspocus writer and a y-websocket writer): call
 * `attach(doc)` when one takes over, once it holds everything the previous one wrote.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import * as Y from 'yjs';
import { seededRandom } from './paper-fixture.js';

/** One keystroke: its patches, applied in order ([position, deleted count, inserted text]). */
export type TracePatch = [number, number, string];

export interface EditingTrace {
  startContent: string;
  endContent: string;
  txns: Array<{ time: string; patches: TracePatch[] }>;
}

/** The trace's place in the repository (relative to its root). */
export const TRACE_FIXTURE = 'test/fixtures/traces/automerge-paper.json.gz';

export function loadTrace(path: string): EditingTrace {
  const trace = JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as EditingTrace;
  if (typeof trace.startContent !== 'string' || typeof trace.endContent !== 'string' || !Array.isArray(trace.txns)) {
    throw new Error(`${path}: not an editing trace ({startContent, endContent, txns})`);
  }
  return trace;
}

/** The text after the first `keystrokes` transactions (plain string replay: the reference). */
export function traceTextAfter(trace: EditingTrace, keystrokes: number): string {
  let text = trace.startContent;
  const n = Math.min(keystrokes, trace.txns.length);
  for (let i = 0; i < n; i++) {
    for (const [pos, del, ins] of trace.txns[i]!.patches) text = text.slice(0, pos) + ins + text.slice(pos + del);
  }
  return text;
}

/** The marks the replay sets, as y-prosemirror writes them. */
export const MARKS = ['bold', 'italic', 'link'] as const;
export type Mark = (typeof MARKS)[number];
type MarkValue = Record<string, unknown> | null;
type Attributes = Record<string, unknown>;

export interface FormatStep {
  paragraph: number;
  index: number;
  length: number;
  mark: Mark;
  value: MarkValue;
}

export interface ReplayOptions {
  /** PRNG seed of the formatting (default 1). */
  seed?: number;
  /** On average one formatting step per this many keystrokes (default 25; 0: none). */
  formatEvery?: number;
}

export interface ReplayCounts {
  keystrokes: number;
  formats: number;
  paragraphsSplit: number;
  paragraphsJoined: number;
}

interface DeltaOp {
  insert: string | object;
  attributes?: Attributes;
}

export class PaperReplay {
  private readonly random: () => number;
  private readonly formatEvery: number;
  private doc: Y.Doc | null = null;
  private fragment: Y.XmlFragment | null = null;
  private paragraphs: Y.XmlElement[] = [];
  private texts: Y.XmlText[] = [];
  /** Characters of each paragraph (without its '\n'). */
  private lengths: number[] = [];
  /** Cursor: paragraph index and the trace position where it starts. */
  private cursorParagraph = 0;
  private cursorStart = 0;
  /** Where the last keystroke was (a trace position), the caret the formatting is put around. */
  private caret = 0;
  readonly counts: ReplayCounts = { keystrokes: 0, formats: 0, paragraphsSplit: 0, paragraphsJoined: 0 };
  /** The formatting steps taken so far, in order (for reports and reproductions). */
  readonly formatLog: FormatStep[] = [];

  constructor(
    private readonly trace: EditingTrace,
    options: ReplayOptions = {},
  ) {
    this.random = seededRandom(options.seed ?? 1);
    this.formatEvery = options.formatEvery ?? 25;
  }

  /** Number of keystrokes in the trace. */
  get length(): number {
    return this.trace.txns.length;
  }

  /**
   * Edits `doc` from now on, reading its paragraphs afresh. The document must be the paper the
   * replay wrote so far (or an empty one, which gets the trace's start content).
   */
  attach(doc: Y.Doc): void {
    this.doc = doc;
    this.fragment = doc.getXmlFragment('default');
    if (this.fragment.length === 0) {
      doc.transact(() => {
        const lines = this.trace.startContent.split('\n');
        this.fragment!.insert(
          0,
          lines.map((line) => newParagraph(line)),
        );
      });
    }
    this.paragraphs = [];
    this.texts = [];
    for (const child of this.fragment.toArray()) {
      const text = child instanceof Y.XmlElement ? child.get(0) : null;
      if (!(child instanceof Y.XmlElement) || !(text instanceof Y.XmlText) || child.length !== 1) {
        throw new Error('the paper is not one the replay wrote (a paragraph of one XmlText each)');
      }
      this.paragraphs.push(child);
      this.texts.push(text);
    }
    this.lengths = this.texts.map((text) => text.length);
    this.cursorParagraph = 0;
    this.cursorStart = 0;
  }

  /** Applies keystroke `i` of the trace in one transaction, then maybe one formatting step in another. */
  keystroke(i: number): void {
    const doc = this.doc;
    if (!doc) throw new Error('attach a document first');
    const patches = this.trace.txns[i]!.patches;
    doc.transact(() => {
      for (const [pos, del, ins] of patches) {
        if (del > 0) this.delete(pos, del);
        if (ins.length > 0) this.insert(pos, ins);
        this.caret = pos + ins.length;
      }
    });
    this.counts.keystrokes++;
    if (this.formatEvery > 0 && this.random() < 1 / this.formatEvery) this.format();
  }

  private locate(pos: number): { paragraph: number; offset: number } {
    let p = this.cursorParagraph;
    let start = this.cursorStart;
    const lengths = this.lengths;
    while (pos < start) {
      p--;
      start -= lengths[p]! + 1;
    }
    while (pos > start + lengths[p]!) {
      start += lengths[p]! + 1;
      p++;
      if (p >= lengths.length) throw new Error(`trace position ${pos} is past the end of the paper`);
    }
    this.cursorParagraph = p;
    this.cursorStart = start;
    return { paragraph: p, offset: pos - start };
  }

  private insert(pos: number, text: string): void {
    const lines = text.split('\n');
    let at = pos;
    for (let l = 0; l < lines.length; l++) {
      const line = lines[l]!;
      const { paragraph, offset } = this.locate(at);
      if (line.length > 0) {
        // No attributes: the text takes the formatting of where it is typed.
        this.texts[paragraph]!.insert(offset, line);
        this.lengths[paragraph]! += line.length;
        at += line.length;
      }
      if (l < lines.length - 1) {
        this.split(paragraph, offset + line.length);
        at += 1;
      }
    }
  }

  private delete(pos: number, count: number): void {
    let left = count;
    while (left > 0) {
      const { paragraph, offset } = this.locate(pos);
      const inParagraph = this.lengths[paragraph]! - offset;
      if (inParagraph > 0) {
        const n = Math.min(left, inParagraph);
        this.texts[paragraph]!.delete(offset, n);
        this.lengths[paragraph]! -= n;
        left -= n;
      } else {
        // The '\n' after this paragraph: the next one joins it.
        this.join(paragraph);
        left -= 1;
      }
    }
  }

  /** Splits paragraph `p` at `offset`: the rest, with its formatting, becomes a new paragraph after it. */
  private split(p: number, offset: number): void {
    const text = this.texts[p]!;
    const tail = sliceDelta(text.toDelta() as DeltaOp[], offset);
    const paragraph = new Y.XmlElement('paragraph');
    const tailText = new Y.XmlText();
    paragraph.insert(0, [tailText]);
    this.fragment!.insert(p + 1, [paragraph]);
    appendDelta(tailText, 0, tail);
    const moved = this.lengths[p]! - offset;
    if (moved > 0) text.delete(offset, moved);
    this.paragraphs.splice(p + 1, 0, paragraph);
    this.texts.splice(p + 1, 0, tailText);
    this.lengths[p] = offset;
    this.lengths.splice(p + 1, 0, moved);
    this.counts.paragraphsSplit++;
  }

  /** Joins paragraph `p + 1` into `p` (its text, with its formatting, goes to the end of `p`). */
  private join(p: number): void {
    if (p + 1 >= this.paragraphs.length) throw new Error('deleting past the end of the paper');
    const next = this.texts[p + 1]!;
    appendDelta(this.texts[p]!, this.lengths[p]!, next.toDelta() as DeltaOp[]);
    this.fragment!.delete(p + 1, 1);
    this.lengths[p]! += this.lengths[p + 1]!;
    this.paragraphs.splice(p + 1, 1);
    this.texts.splice(p + 1, 1);
    this.lengths.splice(p + 1, 1);
    this.counts.paragraphsJoined++;
  }

  /** One seeded formatting step around the caret, in the caret's paragraph (its own transaction). */
  private format(): void {
    const r = this.random;
    const { paragraph, offset } = this.locate(Math.min(this.caret, this.end()));
    const length = this.lengths[paragraph]!;
    // The random draws happen whatever the paragraph holds, so the sequence never depends on it.
    const before = Math.floor(r() * 24);
    const span = 1 + Math.floor(r() * 40);
    const kind = r();
    const mark = MARKS[Math.floor(r() * MARKS.length)]!;
    const href = `https://example.org/ref/${Math.floor(r() * 1000)}`;
    if (length === 0) return;
    const index = Math.max(0, Math.min(offset - before, length - 1));
    const len = Math.min(span, length - index);
    // 70 %: set a mark (a link gets an href); 30 %: remove one (null), as unbolding a word does.
    const value: MarkValue = kind < 0.7 ? (mark === 'link' ? { href } : {}) : null;
    this.doc!.transact(() => this.texts[paragraph]!.format(index, len, { [mark]: value }));
    this.counts.formats++;
    this.formatLog.push({ paragraph, index, length: len, mark, value });
  }

  /** The last trace position (the paper's plain-text length). */
  private end(): number {
    let total = this.lengths.length - 1;
    for (const n of this.lengths) total += n;
    return total;
  }
}

function newParagraph(line: string): Y.XmlElement {
  const paragraph = new Y.XmlElement('paragraph');
  const text = new Y.XmlText();
  if (line.length > 0) text.insert(0, line);
  paragraph.insert(0, [text]);
  return paragraph;
}

/** The delta from character `from` on. */
function sliceDelta(delta: DeltaOp[], from: number): DeltaOp[] {
  const out: DeltaOp[] = [];
  let at = 0;
  for (const op of delta) {
    const n = typeof op.insert === 'string' ? op.insert.length : 1;
    if (at + n > from) {
      const skip = Math.max(0, from - at);
      out.push(skip > 0 && typeof op.insert === 'string' ? { ...op, insert: op.insert.slice(skip) } : op);
    }
    at += n;
  }
  return out;
}

/**
 * Inserts `delta` at `index` with exactly its formatting: every mark the replay uses is given,
 * null where the op has none, so nothing is inherited from the insertion point.
 */
function appendDelta(text: Y.XmlText, index: number, delta: DeltaOp[]): void {
  let at = index;
  for (const op of delta) {
    if (typeof op.insert !== 'string') throw new Error('the replay writes text only');
    const attributes: Attributes = {};
    for (const mark of MARKS) attributes[mark] = op.attributes?.[mark] ?? null;
    for (const [key, value] of Object.entries(op.attributes ?? {})) attributes[key] = value;
    text.insert(at, op.insert, attributes);
    at += op.insert.length;
  }
}

/** The paper as plain text: its paragraphs' texts joined with '\n' (the trace's positions). */
export function paperPlainText(doc: Y.Doc): string {
  return doc
    .getXmlFragment('default')
    .toArray()
    .map((block) => (block instanceof Y.XmlElement ? block.toArray().map(plainOf).join('') : plainOf(block)))
    .join('\n');
}

function plainOf(node: Y.XmlElement | Y.XmlText | Y.XmlHook): string {
  if (node instanceof Y.XmlText)
    return (node.toDelta() as DeltaOp[]).map((op) => (typeof op.insert === 'string' ? op.insert : '')).join('');
  if (node instanceof Y.XmlElement) return node.toArray().map(plainOf).join('');
  return '';
}

/** A block of the paper with its formatted content, for exact comparisons between replicas. */
export interface BlockDelta {
  name: string;
  attributes: Record<string, unknown>;
  children: Array<BlockDelta | { delta: unknown[] }>;
}

/** The whole paper: every block's name, attributes and formatted text (Yjs deltas). */
export function paperDelta(doc: Y.Doc): BlockDelta[] {
  return doc
    .getXmlFragment('default')
    .toArray()
    .map((node) => blockDelta(node));
}

function blockDelta(node: Y.XmlElement | Y.XmlText | Y.XmlHook): BlockDelta {
  if (node instanceof Y.XmlElement) {
    return {
      name: node.nodeName,
      attributes: node.getAttributes() as Record<string, unknown>,
      children: node.toArray().map((child) => (child instanceof Y.XmlText ? { delta: child.toDelta() as unknown[] } : blockDelta(child))),
    };
  }
  if (node instanceof Y.XmlText) return { name: '#text', attributes: {}, children: [{ delta: node.toDelta() as unknown[] }] };
  return { name: '#hook', attributes: {}, children: [] };
}

/**
 * Where two papers' deltas first differ, as a short human-readable description; null when they
 * are identical. (A JSON diff of a 100,000-character paper is unreadable; this names the block.)
 */
export function firstDifference(expected: BlockDelta[], actual: BlockDelta[]): string | null {
  const a = JSON.stringify(expected);
  const b = JSON.stringify(actual);
  if (a === b) return null;
  if (expected.length !== actual.length) {
    for (let i = 0; i < Math.min(expected.length, actual.length); i++) {
      if (JSON.stringify(expected[i]) !== JSON.stringify(actual[i])) {
        return `${expected.length} blocks expected, ${actual.length} found; block ${i} differs first: expected ${JSON.stringify(expected[i]).slice(0, 400)}, found ${JSON.stringify(actual[i]).slice(0, 400)}`;
      }
    }
    return `${expected.length} blocks expected, ${actual.length} found`;
  }
  for (let i = 0; i < expected.length; i++) {
    const x = JSON.stringify(expected[i]);
    const y = JSON.stringify(actual[i]);
    if (x !== y) return `block ${i} differs: expected ${x.slice(0, 600)}, found ${y.slice(0, 600)}`;
  }
  return 'differs';
}
