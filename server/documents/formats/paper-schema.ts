/**
 * The paper schema on the server: the node and mark types, content expressions and attribute
 * defaults of the browser app's editor (Tiptap StarterKit as clients/web configures it), as a
 * prosemirror-model Schema. Imports and exports go through it, so the server writes only
 * what the editor can hold, with the attributes the editor itself would write (y-prosemirror
 * writes every non-null attribute, defaults included: content without them would be
 * rewritten by the first editor that touches it).
 *
 * Tiptap is a dev dependency (the web app is bundled), so the schema is restated here;
 * test/documents/paper-schema.test.ts compares it with Tiptap's own, so a StarterKit upgrade
 * that changes the schema fails a test instead of drifting.
 * Pure: no I/O.
 */
import { Schema, type MarkSpec, type NodeSpec } from 'prosemirror-model';

/** Attributes a link gets when the input names none (Tiptap Link's defaults). */
export const LINK_DEFAULTS = { target: '_blank', rel: 'noopener noreferrer nofollow', class: null, title: null } as const;

const nodes: Record<string, NodeSpec> = {
  doc: { content: 'block+' },
  paragraph: { content: 'inline*', group: 'block' },
  blockquote: { content: 'block+', group: 'block', defining: true },
  bulletList: { content: 'listItem+', group: 'block list' },
  codeBlock: { content: 'text*', group: 'block', marks: '', code: true, defining: true, attrs: { language: { default: null } } },
  hardBreak: { group: 'inline', inline: true },
  heading: { content: 'inline*', group: 'block', defining: true, attrs: { level: { default: 1 } } },
  horizontalRule: { group: 'block' },
  listItem: { content: 'paragraph block*', defining: true },
  orderedList: { content: 'listItem+', group: 'block list', attrs: { start: { default: 1 }, type: { default: null } } },
  text: { group: 'inline' },
};

// Order matters: it is the marks' rank (link outermost), as in the editor.
const marks: Record<string, MarkSpec> = {
  link: {
    inclusive: true,
    attrs: {
      href: { default: null },
      target: { default: LINK_DEFAULTS.target },
      rel: { default: LINK_DEFAULTS.rel },
      class: { default: LINK_DEFAULTS.class },
      title: { default: LINK_DEFAULTS.title },
    },
  },
  bold: {},
  code: { excludes: '_', code: true },
  italic: {},
  strike: {},
  underline: {},
};

export const paperSchema = new Schema({ nodes, marks, topNode: 'doc' });

/** Heading levels the editor offers. */
export const HEADING_LEVELS = [1, 2, 3, 4, 5, 6] as const;

/** `type` values of an ordered list that HTML's `<ol type>` knows. */
export const ORDERED_LIST_TYPES: ReadonlySet<string> = new Set(['1', 'a', 'A', 'i', 'I']);
