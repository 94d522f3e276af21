import type * as Y from 'yjs';
import { ApiError, type Api, type VersionSummary } from '../api.js';
import type { Access, DocumentConnection } from '../collab/document-connection.js';
import type { DocumentFrame } from '../document/document-page.js';
import { h, setText } from '../element.js';
import { openDialog, renderDiff, renderVersionContent } from './version-dialogs.js';

/** After an edit, the list is refreshed this long after the document goes quiet (automatic versions appear). */
const REFRESH_AFTER_EDIT_MS = 3_000;

/**
 * The "History" button and the region "Version history": versions newest first (label or
 * "Version N", who, when), "Name this version", and per version "Preview", "Compare" (with the
 * current document) and "Restore" (after confirmation). Naming and restoring need read-write
 * access; everyone connected sees a restore through the document itself.
 */
export function mountHistory(
  frame: DocumentFrame,
  api: Api,
  name: string,
  connection: DocumentConnection,
): { setAccess(access: Access): void; destroy(): void } {
  let open = false;
  let writable = false;
  let versions: VersionSummary[] = [];
  let refreshTimer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;
  const cleanups: (() => void)[] = [];

  const toggle = h(
    'button',
    { type: 'button', class: 'button small', 'aria-expanded': 'false', 'aria-controls': 'version-history' },
    'History',
  );
  frame.actions.replaceChildren(toggle);

  const list = h('ul', { class: 'versions', 'aria-label': 'Versions' });
  // Outside the list: its items are versions only.
  const empty = h(
    'p',
    { class: 'muted', hidden: true },
    'No versions yet. One is taken automatically a minute after editing stops, or name one now.',
  );
  const message = h('p', { class: 'history-message', role: 'alert' });
  const labelInput = h('input', {
    id: 'version-name',
    type: 'text',
    maxlength: '200',
    required: true,
    placeholder: 'e.g. Sent to reviewers',
  });
  const nameForm = h(
    'form',
    { class: 'name-form', hidden: true },
    h('label', { for: 'version-name' }, 'Version name'),
    labelInput,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'button primary small' }, 'Save name'),
      h('button', { type: 'button', class: 'button quiet small', onclick: () => closeNameForm() }, 'Skip'),
    ),
  );
  const nameButton = h('button', { type: 'button', class: 'button small primary', hidden: true }, 'Name this version');
  const panel = h(
    'section',
    { id: 'version-history', class: 'history', 'aria-label': 'Version history', hidden: true },
    h(
      'header',
      { class: 'history-header' },
      h('h2', {}, 'Version history'),
      h('button', { type: 'button', class: 'button quiet small', 'aria-label': 'Close history', onclick: () => setOpen(false) }, '✕'),
    ),
    nameButton,
    nameForm,
    message,
    empty,
    list,
  );
  frame.side.replaceChildren(panel);

  const say = (text: string) => setText(message, text);
  const failure = (error: unknown, what: string) => say(`${what}: ${error instanceof ApiError ? error.message : 'unexpected error'}.`);

  function setOpen(value: boolean): void {
    open = value;
    panel.hidden = !value;
    toggle.setAttribute('aria-expanded', String(value));
    frame.element.classList.toggle('with-history', value);
    if (value) {
      void refresh();
      panel.querySelector<HTMLElement>('h2')?.setAttribute('tabindex', '-1');
      panel.querySelector<HTMLElement>('h2')?.focus();
    } else toggle.focus();
  }
  toggle.addEventListener('click', () => setOpen(!open));

  function closeNameForm(): void {
    nameForm.hidden = true;
    nameButton.hidden = !writable;
    nameButton.focus();
  }
  // "Name this version" keeps the current state at once (it appears as "Version N"); the name
  // typed next labels that same version (the server labels the newest version when the state
  // has not changed since).
  nameButton.addEventListener('click', async () => {
    nameButton.disabled = true;
    try {
      await api.nameVersion(name, null);
      say('');
      await refresh();
      nameForm.hidden = false;
      nameButton.hidden = true;
      labelInput.value = '';
      labelInput.focus();
    } catch (error) {
      failure(error, 'The version could not be kept');
    } finally {
      nameButton.disabled = false;
    }
  });
  nameForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const label = labelInput.value.trim();
    if (label === '') return labelInput.focus();
    try {
      await api.nameVersion(name, label);
      say('');
      closeNameForm();
      await refresh();
    } catch (error) {
      failure(error, 'The version could not be named');
    }
  });

  async function refresh(): Promise<void> {
    try {
      versions = await api.versions(name);
      if (!closed) draw();
    } catch (error) {
      if (!closed) failure(error, 'The versions could not be loaded');
    }
  }

  function draw(): void {
    empty.hidden = versions.length > 0;
    list.replaceChildren(
      ...versions.map((version) => {
        const title = version.label ?? `Version ${version.version}`;
        const who = version.createdByName ?? (version.kind === 'auto' ? 'automatic' : 'a guest');
        const when = new Date(version.createdAt);
        const whenText = when.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
        return h(
          'li',
          { class: `version${version.kind === 'named' ? ' named' : ''}`, 'aria-label': `${title}, by ${who}, ${whenText}` },
          h(
            'div',
            { class: 'version-title' },
            title,
            version.label !== null ? h('span', { class: 'version-number' }, ` · v${version.version}`) : null,
          ),
          h('div', { class: 'version-meta' }, `${who} · `, h('time', { datetime: version.createdAt }, whenText)),
          h(
            'div',
            { class: 'version-actions' },
            h('button', { type: 'button', class: 'button small', onclick: () => void preview(version, title) }, 'Preview'),
            h('button', { type: 'button', class: 'button small', onclick: () => void compare(version, title) }, 'Compare'),
            writable
              ? h('button', { type: 'button', class: 'button small', onclick: () => confirmRestore(version, title) }, 'Restore')
              : null,
          ),
        );
      }),
    );
  }

  async function preview(version: VersionSummary, title: string): Promise<void> {
    try {
      const { content } = await api.version(name, version.version);
      const rendered = renderVersionContent(content);
      openDialog(`Preview of ${title}`, rendered.element, [], () => rendered.destroy());
    } catch (error) {
      failure(error, 'The version could not be shown');
    }
  }

  async function compare(version: VersionSummary, title: string): Promise<void> {
    try {
      const diff = await api.diff(name, version.version);
      const legend = h(
        'p',
        { class: 'diff-legend' },
        'From ',
        h('strong', {}, title),
        ' to the current document: ',
        h('ins', {}, 'added'),
        ' and ',
        h('del', {}, 'removed'),
        '.',
      );
      openDialog(`Changes since ${title}`, h('div', {}, legend, renderDiff(diff)), []);
    } catch (error) {
      failure(error, 'The versions could not be compared');
    }
  }

  function confirmRestore(version: VersionSummary, title: string): void {
    const restore = h('button', { type: 'button', class: 'button primary' }, 'Restore');
    const cancel = h('button', { type: 'button', class: 'button quiet' }, 'Cancel');
    const dialog = openDialog(
      `Restore ${title}?`,
      h(
        'p',
        {},
        'The document becomes this version again, for everyone working on it. The current state is saved as a version first, so nothing is lost.',
      ),
      [restore, cancel],
    );
    cancel.addEventListener('click', () => dialog.close());
    restore.addEventListener('click', async () => {
      restore.disabled = true;
      try {
        await api.restore(name, version.version);
        say('');
        dialog.close();
        await refresh();
      } catch (error) {
        dialog.close();
        failure(error, 'The version could not be restored');
      }
    });
    restore.focus();
  }

  // Keep the list current while it is open: automatic versions appear after edits.
  // afterTransaction, not update: an update listener makes Yjs encode every transaction.
  const onTransaction = (transaction: Y.Transaction) => {
    if (!open || transaction.changed.size === 0) return;
    if (refreshTimer !== null) clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => void refresh(), REFRESH_AFTER_EDIT_MS);
  };
  connection.doc.on('afterTransaction', onTransaction);
  cleanups.push(() => connection.doc.off('afterTransaction', onTransaction));

  return {
    setAccess(access) {
      const next = access.state === 'read-write';
      toggle.hidden = access.state === 'denied' && !open;
      if (next === writable) return;
      writable = next;
      nameButton.hidden = !writable || !nameForm.hidden;
      if (open) draw();
    },
    destroy() {
      closed = true;
      if (refreshTimer !== null) clearTimeout(refreshTimer);
      cleanups.forEach((cleanup) => cleanup());
      document.querySelectorAll('dialog.dialog').forEach((dialog) => (dialog as HTMLDialogElement).close());
    },
  };
}
