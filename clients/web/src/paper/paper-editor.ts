import { Editor, Extension, type AnyExtension } from '@tiptap/core';
import Collaboration from '@tiptap/extension-collaboration';
import CollaborationCaret from '@tiptap/extension-collaboration-caret';
import StarterKit from '@tiptap/starter-kit';
import { ySyncPluginKey } from '@tiptap/y-tiptap';
import type { DocumentConnection } from '../collab/document-connection.js';
import { NearCaret } from './near-caret.js';

const ATTRIBUTES = { role: 'textbox', 'aria-label': 'Paper', 'aria-multiline': 'true', class: 'paper-content', spellcheck: 'true' };

/** A remote caret: a coloured bar with the user's name above it. */
function renderCaret(user: Record<string, unknown>): HTMLElement {
  const color = typeof user.color === 'string' ? user.color : '#334155';
  const caret = document.createElement('span');
  caret.className = 'collaboration-carets__caret';
  caret.style.borderColor = color;
  const label = document.createElement('span');
  label.className = 'collaboration-carets__label';
  label.style.backgroundColor = color;
  label.textContent = typeof user.name === 'string' ? user.name : 'Someone';
  caret.append(label);
  return caret;
}

/**
 * Autolink is for what this user types. Text that arrives from Yjs (others' edits, the first
 * sync, a restore) keeps the links its authors gave it: linking it here would write marks into
 * everyone's copy, and scanning a whole paper on the first sync is most of a frame's budget.
 */
const AutolinkOwnTypingOnly = Extension.create({
  name: 'autolinkOwnTypingOnly',
  dispatchTransaction({ transaction, next }) {
    if (transaction.getMeta(ySyncPluginKey) !== undefined) transaction.setMeta('preventAutolink', true);
    next(transaction);
  },
});

/**
 * The paper editor: Tiptap on the document's `default` XmlFragment, carets of the others
 * labelled with their names in their colours. It starts read-only and becomes editable
 * only once the server grants read-write, so nothing is typed that would be refused.
 */
export function createPaperEditor(element: HTMLElement, connection: DocumentConnection, extra: readonly AnyExtension[] = []): Editor {
  const { identity } = connection;
  return new Editor({
    element,
    editable: false,
    extensions: [
      // Collaboration brings its own undo (only one's own changes); the history extension must go.
      StarterKit.configure({ undoRedo: false, link: { openOnClick: false, autolink: true, defaultProtocol: 'https' } }),
      Collaboration.configure({ document: connection.doc, field: 'default' }),
      AutolinkOwnTypingOnly,
      NearCaret,
      CollaborationCaret.configure({
        provider: connection.provider,
        user: { key: identity.key, name: identity.name, color: identity.color },
        render: renderCaret,
        selectionRender: (user: Record<string, unknown>) => ({
          nodeName: 'span',
          class: 'collaboration-carets__selection',
          style: `background-color: ${typeof user.color === 'string' ? user.color : '#334155'}33`,
          'data-user': typeof user.name === 'string' ? user.name : '',
        }),
      }),
      ...extra,
    ],
    editorProps: { attributes: { ...ATTRIBUTES, 'aria-readonly': 'true' } },
  });
}

/** Switches between editing and read-only, keeping the accessible state in step. */
export function setPaperEditable(editor: Editor, editable: boolean): void {
  if (editor.isEditable === editable) return;
  editor.setOptions({ editorProps: { attributes: { ...ATTRIBUTES, 'aria-readonly': String(!editable) } } });
  editor.setEditable(editable);
}
