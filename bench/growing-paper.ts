/**
 * A paper that grows the way a long document does: blocks appended one at a time (a paragraph
 * pasted or written by an agent, one Yjs update each) and, now and then, a burst of keystrokes
 * typed at its end (one update per keystroke). Blocks come from the seeded paper generator
 * (bench/paper-fixture.ts) and are written as y-prosemirror writes them: an element per node,
 * marks as text attributes.
 */
import * as Y from 'yjs';
import { PAPER_FRAGMENT, type ProseMirrorMark, type ProseMirrorNode } from '../server/documents/paper.js';
import { generatePaper, seededRandom } from './paper-fixture.js';

function markAttributes(marks: readonly ProseMirrorMark[] | undefined): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const mark of marks ?? []) attributes[mark.type] = mark.attrs ?? {};
  return attributes;
}

/** A block as y-prosemirror stores it. */
function toYjs(node: ProseMirrorNode): Y.XmlElement {
  const element = new Y.XmlElement(node.type);
  for (const [key, value] of Object.entries(node.attrs ?? {})) element.setAttribute(key, value as string);
  const children = node.content ?? [];
  if (children.length > 0 && children.every((child) => child.type === 'text')) {
    const text = new Y.XmlText();
    let at = 0;
    for (const child of children) {
      const value = child.text ?? '';
      text.insert(at, value, markAttributes(child.marks));
      at += value.length;
    }
    element.insert(0, [text]);
  } else if (children.length > 0) {
    element.insert(0, children.map(toYjs));
  }
  return element;
}

export interface GrowthStep {
  /** The updates this step produced, in order. */
  readonly updates: Uint8Array[];
}

export class GrowingPaper {
  readonly doc = new Y.Doc();
  private readonly fragment = this.doc.getXmlFragment(PAPER_FRAGMENT);
  private readonly random: () => number;
  private blocks: ProseMirrorNode[] = [];
  private next = 0;
  private pending: Uint8Array[] = [];
  /** Bytes of every update produced so far (for pure growth: about the state's size). */
  producedBytes = 0;
  producedUpdates = 0;

  constructor(seed: number) {
    this.random = seededRandom(seed);
    this.doc.on('update', (update: Uint8Array) => {
      this.pending.push(update);
      this.producedBytes += update.byteLength;
      this.producedUpdates++;
    });
  }

  /** Appends the next block (one update), and one step in `typingEvery` also types `keystrokes` characters at the end. */
  step(typingEvery: number, keystrokes: number): GrowthStep {
    if (this.next >= this.blocks.length) {
      this.blocks = generatePaper(1_000_000, this.random);
      this.next = 0;
    }
    const block = this.blocks[this.next++] as ProseMirrorNode;
    this.doc.transact(() => this.fragment.insert(this.fragment.length, [toYjs(block)]));
    if (typingEvery > 0 && this.random() < 1 / typingEvery) {
      const paragraph = new Y.XmlElement('paragraph');
      const text = new Y.XmlText();
      this.doc.transact(() => {
        paragraph.insert(0, [text]);
        this.fragment.insert(this.fragment.length, [paragraph]);
      });
      const words = 'the results of the experiment suggest a novel approach to the analysis ';
      for (let i = 0; i < keystrokes; i++) this.doc.transact(() => text.insert(text.length, words[i % words.length] as string));
    }
    const updates = this.pending;
    this.pending = [];
    return { updates };
  }
}
