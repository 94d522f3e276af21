/**
 * A realistic paper of a chosen size, written the way a Tiptap client writes it (StarterKit
 * schema, y-prosemirror), and editing sessions on it, all from a seeded generator so runs
 * are comparable.
 */
import { getSchema } from '@tiptap/core';
import StarterKit from '@tiptap/starter-kit';
import * as Y from 'yjs';
import { prosemirrorJSONToYXmlFragment } from 'y-prosemirror';
import { PAPER_FRAGMENT, type ProseMirrorMark, type ProseMirrorNode } from '../server/documents/paper.js';

const WORDS = (
  'the of and a to in is that for on with as by this we are from be at an which results model data ' +
  'analysis method study effect sample samples measured measurement rate reaction temperature pressure ' +
  'hypothesis experiment experiments control group significant observed increase decrease variance ' +
  'mean error baseline protocol cohort participants approach framework evidence however therefore ' +
  'although between across during after before under over within without previous proposed novel ' +
  'structure function protein cell cells gene expression signal noise response dose concentration ' +
  'figure table section appendix supplementary estimate estimated parameter parameters distribution ' +
  'regression correlation causal inference bias limitation limitations future work discussion'
).split(' ');

/** Deterministic PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const paperSchema = getSchema([StarterKit]);

/** Top-level blocks of a paper whose plain text is about `targetChars` characters. */
export function generatePaper(targetChars: number, random: () => number): ProseMirrorNode[] {
  const int = (min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
  const word = (): string => WORDS[Math.floor(random() * WORDS.length)]!;
  const sentence = (): string => {
    const words = Array.from({ length: int(6, 22) }, word);
    words[0] = words[0]!.charAt(0).toUpperCase() + words[0]!.slice(1);
    return `${words.join(' ')}.`;
  };
  const inlineText = (sentences: number): ProseMirrorNode[] => {
    const nodes: ProseMirrorNode[] = [];
    for (let i = 0; i < sentences; i++) {
      const value = (i > 0 ? ' ' : '') + sentence();
      const roll = random();
      if (roll < 0.1) {
        // A sentence with a marked span in the middle.
        const cut = value.indexOf(' ', Math.floor(value.length / 3));
        const end = value.indexOf(' ', cut + 1 + Math.floor(value.length / 4));
        if (cut > 0 && end > cut) {
          const marks: ProseMirrorMark[] = [
            [{ type: 'bold' }],
            [{ type: 'italic' }],
            [{ type: 'code' }],
            [{ type: 'link', attrs: { href: `https://doi.org/10.1000/${int(1000, 9999)}` } }],
          ][int(0, 3)]!;
          nodes.push({ type: 'text', text: value.slice(0, cut) });
          nodes.push({ type: 'text', text: value.slice(cut, end), marks });
          nodes.push({ type: 'text', text: value.slice(end) });
          continue;
        }
      }
      nodes.push({ type: 'text', text: value });
    }
    return mergeText(nodes);
  };
  const paragraph = (sentences: number): ProseMirrorNode => ({ type: 'paragraph', content: inlineText(sentences) });

  const blocks: ProseMirrorNode[] = [];
  let chars = 0;
  let section = 0;
  const push = (block: ProseMirrorNode, length: number): void => {
    blocks.push(block);
    chars += length + 1;
  };
  while (chars < targetChars) {
    section++;
    const title = `${section}. ${sentence().slice(0, -1)}`;
    push({ type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: title }] }, title.length);
    for (let sub = int(1, 3); sub > 0 && chars < targetChars; sub--) {
      if (random() < 0.5) {
        const subtitle = sentence().slice(0, -1);
        push({ type: 'heading', attrs: { level: 3 }, content: [{ type: 'text', text: subtitle }] }, subtitle.length);
      }
      for (let p = int(2, 5); p > 0; p--) {
        const block = paragraph(int(2, 7));
        push(block, textLength(block));
      }
      const roll = random();
      if (roll < 0.3) {
        const list: ProseMirrorNode = {
          type: random() < 0.7 ? 'bulletList' : 'orderedList',
          content: Array.from({ length: int(3, 6) }, () => ({ type: 'listItem', content: [paragraph(int(1, 2))] })),
        };
        push(list, textLength(list));
      } else if (roll < 0.4) {
        const quote: ProseMirrorNode = { type: 'blockquote', content: [paragraph(int(1, 3))] };
        push(quote, textLength(quote));
      } else if (roll < 0.48) {
        const code = Array.from({ length: int(3, 10) }, () => `${word()}_${word()} = ${word()}(${int(0, 99)})`).join('\n');
        push({ type: 'codeBlock', attrs: { language: 'python' }, content: [{ type: 'text', text: code }] }, code.length);
      }
    }
  }
  return blocks;
}

/** A Y.Doc holding `blocks` in its paper fragment. */
export function paperDocument(blocks: readonly ProseMirrorNode[]): Y.Doc {
  const doc = new Y.Doc();
  prosemirrorJSONToYXmlFragment(paperSchema, { type: 'doc', content: blocks }, doc.getXmlFragment(PAPER_FRAGMENT));
  return doc;
}

/**
 * An editing session: `count` edits spread over the paper, as Yjs operations — words typed
 * into or deleted from text, paragraphs added, blocks deleted.
 */
export function editPaper(doc: Y.Doc, count: number, random: () => number): void {
  const fragment = doc.getXmlFragment(PAPER_FRAGMENT);
  for (let i = 0; i < count; i++) {
    const index = Math.floor(random() * fragment.length);
    const roll = random();
    if (roll < 0.05 && fragment.length > 1) {
      fragment.delete(index, 1);
      continue;
    }
    if (roll < 0.12) {
      const paragraph = new Y.XmlElement('paragraph');
      paragraph.insert(0, [new Y.XmlText(`A new paragraph written during the session, number ${i}.`)]);
      fragment.insert(index, [paragraph]);
      continue;
    }
    const text = firstText(fragment.get(index));
    if (text === null) continue;
    const at = Math.floor(random() * (text.length + 1));
    if (roll < 0.6) text.insert(at, ` ${WORDS[Math.floor(random() * WORDS.length)]}`);
    else text.delete(at, Math.min(text.length - at, 1 + Math.floor(random() * 12)));
  }
}

function firstText(node: Y.XmlElement | Y.XmlText | Y.XmlHook | undefined): Y.XmlText | null {
  if (node instanceof Y.XmlText) return node;
  if (!(node instanceof Y.XmlElement)) return null;
  for (const child of node.toArray()) {
    const found = firstText(child as Y.XmlElement | Y.XmlText);
    if (found !== null) return found;
  }
  return null;
}

function mergeText(nodes: ProseMirrorNode[]): ProseMirrorNode[] {
  const out: ProseMirrorNode[] = [];
  for (const node of nodes) {
    const last = out[out.length - 1];
    if (last !== undefined && !last.marks && !node.marks)
      out[out.length - 1] = { type: 'text', text: (last.text ?? '') + (node.text ?? '') };
    else out.push(node);
  }
  return out;
}

function textLength(node: ProseMirrorNode): number {
  if (node.text !== undefined) return node.text.length;
  return (node.content ?? []).reduce((sum, child) => sum + textLength(child), 0);
}

/** Yjs bytes per character of a generated paper, near enough to size the first try. */
const PAPER_BYTES_PER_CHAR = 1.23;

/** A paper's state as independent updates (sizedPaper). */
export interface SizedPaper {
  /** Each written by its own client at the start of the paper fragment. */
  updates: Uint8Array[];
  bytes: number;
  /** Top-level blocks of the whole paper. */
  blocks: number;
  /** Client id → clock each update reaches: the whole paper's state vector. */
  stateVector: Map<number, number>;
}

/**
 * A paper whose Yjs state is about `targetBytes`, as independent updates of about `chunkBytes`
 * each: every chunk is a run of blocks its own client writes at the start of the fragment, so
 * no chunk depends on another and a server applies each as it comes (a 20 MB state does not
 * fit in one message under the server's MAX_MESSAGE_BYTES). Concurrent inserts at one place
 * order the runs by client id: the paper's sections come out in that order.
 */
export function sizedPaper(targetBytes: number, chunkBytes: number, seed: number): SizedPaper {
  const random = seededRandom(seed);
  const updates: Uint8Array[] = [];
  const stateVector = new Map<number, number>();
  let bytes = 0;
  let blocks = 0;
  while (bytes < targetBytes) {
    const want = Math.min(chunkBytes, targetBytes - bytes);
    const content = generatePaper(Math.max(200, Math.round(want / PAPER_BYTES_PER_CHAR)), random);
    const doc = new Y.Doc();
    doc.clientID = 1 + Math.floor(random() * 0x7ffffffe);
    prosemirrorJSONToYXmlFragment(paperSchema, { type: 'doc', content }, doc.getXmlFragment(PAPER_FRAGMENT));
    const update = Y.encodeStateAsUpdate(doc);
    updates.push(update);
    stateVector.set(doc.clientID, Y.getState(doc.store, doc.clientID));
    bytes += update.byteLength;
    blocks += content.length;
    doc.destroy();
  }
  return { updates, bytes, blocks, stateVector };
}
