/**
 * Papers built the way a Tiptap client builds them: ProseMirror JSON checked against the
 * StarterKit schema, written into the `default` Y.XmlFragment by y-prosemirror.
 */
import { getSchema } from '@tiptap/core';
import StarterKit from '@tiptap/starter-kit';
import type { Node as ProseMirrorModelNode } from '@tiptap/pm/model';
import * as Y from 'yjs';
import { prosemirrorJSONToYXmlFragment } from 'y-prosemirror';
import { PAPER_FRAGMENT, type ProseMirrorMark, type ProseMirrorNode } from '../../server/documents/paper.js';

export const paperSchema = getSchema([StarterKit]);

/** A Y.Doc whose paper is `blocks` (validated by the schema, so invalid fixtures fail loudly). */
export function paperDoc(blocks: readonly ProseMirrorNode[], doc = new Y.Doc()): Y.Doc {
  prosemirrorJSONToYXmlFragment(paperSchema, { type: 'doc', content: blocks }, doc.getXmlFragment(PAPER_FRAGMENT));
  return doc;
}

/** The schema's own serialization of `blocks` (what an editor's `getJSON()` gives). */
export function editorJSON(blocks: readonly ProseMirrorNode[]): unknown {
  return paperSchema.nodeFromJSON({ type: 'doc', content: blocks }).toJSON();
}

export function schemaNode(json: unknown): ProseMirrorModelNode {
  return paperSchema.nodeFromJSON(json);
}

export const text = (value: string, ...marks: ProseMirrorMark[]): ProseMirrorNode =>
  marks.length > 0 ? { type: 'text', text: value, marks } : { type: 'text', text: value };
export const p = (...content: (ProseMirrorNode | string)[]): ProseMirrorNode =>
  content.length > 0 ? { type: 'paragraph', content: content.map(inline) } : { type: 'paragraph' };
export const h = (level: number, value: string): ProseMirrorNode => ({ type: 'heading', attrs: { level }, content: [text(value)] });
export const li = (...blocks: ProseMirrorNode[]): ProseMirrorNode => ({ type: 'listItem', content: blocks });
export const ul = (...items: ProseMirrorNode[]): ProseMirrorNode => ({ type: 'bulletList', content: items });
export const ol = (...items: ProseMirrorNode[]): ProseMirrorNode => ({ type: 'orderedList', content: items });
export const quote = (...blocks: ProseMirrorNode[]): ProseMirrorNode => ({ type: 'blockquote', content: blocks });
export const code = (value: string, language: string | null = null): ProseMirrorNode => ({
  type: 'codeBlock',
  attrs: { language },
  content: value ? [text(value)] : [],
});

function inline(item: ProseMirrorNode | string): ProseMirrorNode {
  return typeof item === 'string' ? text(item) : item;
}
