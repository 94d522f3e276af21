import { Editor } from '@tiptap/core';
import StarterKit from '@tiptap/starter-kit';
import type { DiffPart, TreeNodeSummary, VersionContent, VersionDiff } from '../api.js';
import { h } from '../element.js';

/**
 * A modal dialog (native <dialog>: focus stays inside, Escape closes, focus returns to the
 * button that opened it). `onClose` runs once, however it closes.
 */
export function openDialog(
  title: string,
  body: HTMLElement,
  actions: HTMLElement[],
  onClose: () => void = () => undefined,
): HTMLDialogElement {
  const opener = document.activeElement as HTMLElement | null;
  const heading = h('h2', { class: 'dialog-title' }, title);
  const close = h('button', { type: 'button', class: 'button quiet small', 'aria-label': 'Close' }, '✕');
  const dialog = h(
    'dialog',
    { class: 'dialog', 'aria-label': title },
    h('header', { class: 'dialog-header' }, heading, close),
    h('div', { class: 'dialog-body' }, body),
    actions.length > 0 ? h('footer', { class: 'dialog-actions' }, ...actions) : null,
  );
  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    dialog.remove();
    onClose();
    opener?.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/** A version's content, read-only: the paper through the editor's own schema, a tree as an outline. */
export function renderVersionContent(content: VersionContent): { element: HTMLElement; destroy(): void } {
  if ('nodes' in content) return { element: outline(content.nodes), destroy: () => undefined };
  const host = h('div', { class: 'paper-sheet preview' });
  const editor = new Editor({
    element: host,
    editable: false,
    extensions: [StarterKit.configure({ undoRedo: false, link: { openOnClick: false } })],
    content: { type: 'doc', content: content.content as never[] },
    editorProps: { attributes: { class: 'paper-content', 'aria-label': 'Version content', 'aria-readonly': 'true', role: 'document' } },
  });
  return { element: host, destroy: () => editor.destroy() };
}

function outline(nodes: readonly TreeNodeSummary[]): HTMLElement {
  if (nodes.length === 0) return h('p', { class: 'muted' }, 'The tree was empty.');
  return h(
    'ul',
    { class: 'version-outline' },
    ...nodes.map((node) =>
      h(
        'li',
        { style: `padding-left: ${node.depth * 1.25}rem` },
        node.title || 'Untitled',
        node.status ? h('span', { class: 'node-status' }, node.status) : null,
      ),
    ),
  );
}

/** Long unchanged stretches are shortened around the changes so the differences stand out. */
const CONTEXT = 160;

/** The diff against the current document: added text highlighted, removed text struck through. */
export function renderDiff(diff: VersionDiff): HTMLElement {
  if (diff.kind === 'research_tree') {
    const { added, removed, changed } = diff.nodes;
    if (added.length + removed.length + changed.length === 0)
      return h('p', { class: 'muted' }, 'No differences: the tree is as it was in this version.');
    return h(
      'div',
      { class: 'tree-diff' },
      ...added.map((node) => h('p', {}, h('ins', {}, `Added: ${node.title || 'Untitled'}`))),
      ...removed.map((node) => h('p', {}, h('del', {}, `Removed: ${node.title || 'Untitled'}`))),
      ...changed.map((change) =>
        h(
          'p',
          { class: 'changed' },
          `Changed ${change.fields.join(', ')}: ${change.before.title || 'Untitled'}${change.fields.includes('title') ? ` → ${change.after.title || 'Untitled'}` : ''}`,
        ),
      ),
    );
  }
  const parts = diff.text;
  if (parts.every((part) => part.type === 'equal'))
    return h('p', { class: 'muted' }, 'No differences: the text is as it was in this version.');
  return h('div', { class: 'text-diff' }, ...parts.map((part, i) => diffPart(part, i === 0, i === parts.length - 1)));
}

function diffPart(part: DiffPart, first: boolean, last: boolean): Node {
  if (part.type === 'added') return h('ins', {}, part.value);
  if (part.type === 'removed') return h('del', {}, part.value);
  const value = part.value;
  const keep = CONTEXT * (first || last ? 1 : 2);
  if (value.length <= keep + 20) return document.createTextNode(value);
  if (first) return h('span', {}, h('span', { class: 'elided' }, '…'), value.slice(-CONTEXT));
  if (last) return h('span', {}, value.slice(0, CONTEXT), h('span', { class: 'elided' }, '…'));
  return h('span', {}, value.slice(0, CONTEXT), h('span', { class: 'elided' }, ' … '), value.slice(-CONTEXT));
}
