import { mayWrite } from '../../../../server/auth/roles.js';
import { ApiError, type DocumentKind, type DocumentSummary, type PresentUser } from '../api.js';
import type { AppContext } from '../app-context.js';
import { h, replaceChildren } from '../element.js';
import { documentPath } from '../router.js';
import { colourFor, initials } from '../session/identity.js';

const KIND_LABEL: Record<DocumentKind, string> = { paper: 'Paper', research_tree: 'Research tree' };
/**
 * Presence is fetched for the first documents only, a few at a time, and refreshed while the
 * list is shown: the API allows a user 120 presence requests a minute (all documents together).
 */
const PRESENCE_LIMIT = 20;
const PRESENCE_CONCURRENCY = 4;
const PRESENCE_REFRESH_MS = 60_000;

/** `/`: the documents I can read, who is in each right now, and a form to create one. */
export function showDocumentList(root: HTMLElement, context: AppContext): () => void {
  document.title = 'Documents — Scriptorium';
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const list = h('ul', { class: 'documents', 'aria-label': 'Documents' });
  const listArea = h(
    'section',
    { class: 'list-area', 'aria-labelledby': 'documents-heading' },
    h('h2', { id: 'documents-heading' }, 'Your documents'),
    h('p', { class: 'loading' }, 'Loading documents…'),
  );
  const me = context.identity;
  root.replaceChildren(
    h(
      'div',
      { class: 'page list-page' },
      h(
        'header',
        { class: 'topbar' },
        h(
          'a',
          { href: '/', 'data-nav': true, class: 'brand', 'aria-label': 'Scriptorium' },
          h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, 'S'),
          h('span', { class: 'brand-name' }, 'Scriptorium'),
        ),
        h(
          'div',
          { class: 'account' },
          h('span', { class: 'avatar', style: `background-color: ${me.color}`, 'aria-hidden': 'true' }, initials(me.name)),
          h('span', { class: 'account-name' }, me.name),
          h(
            'button',
            { type: 'button', class: 'button quiet small', onclick: () => context.signOut() },
            context.openMode ? 'Change name' : 'Sign out',
          ),
        ),
      ),
      h('main', { class: 'list-main', id: 'main' }, h('h1', { class: 'visually-hidden' }, 'Documents'), createForm(context), listArea),
    ),
  );

  const presenceOf = new Map<string, HTMLElement>();
  const refreshPresence = async (documents: readonly DocumentSummary[]) => {
    const queue = documents.slice(0, PRESENCE_LIMIT);
    const worker = async () => {
      for (let next = queue.shift(); next && !closed; next = queue.shift()) {
        const target = presenceOf.get(next.name);
        try {
          const users = await context.api.presence(next.name);
          if (target && !closed) renderPresent(target, users);
        } catch (error) {
          // Presence is a nicety on this page: a failure leaves the previous answer; over the rate limit, stop this round.
          if (error instanceof ApiError && error.status === 429) queue.length = 0;
        }
      }
    };
    await Promise.all(Array.from({ length: PRESENCE_CONCURRENCY }, worker));
    if (!closed) timer = setTimeout(() => void refreshPresence(documents), PRESENCE_REFRESH_MS);
  };

  context.directory.list(true).then(
    (documents) => {
      if (closed) return;
      if (documents.length === 0) {
        replaceChildren(
          listArea,
          listArea.firstChild as HTMLElement,
          h('p', { class: 'empty' }, 'No documents yet. Create the first one above.'),
        );
        return;
      }
      const sorted = [...documents].sort((a, b) => (b.updatedAt ?? '').localeCompare(a.updatedAt ?? '') || a.name.localeCompare(b.name));
      list.replaceChildren(
        ...sorted.map((document) => {
          const present = h('span', { class: 'present' });
          presenceOf.set(document.name, present);
          return h(
            'li',
            { class: 'document' },
            h('span', { class: `kind-icon ${document.kind}`, 'aria-hidden': 'true' }, document.kind === 'paper' ? '¶' : '⌥'),
            h(
              'span',
              { class: 'document-text' },
              h('a', { href: documentPath(document.name), 'data-nav': true, class: 'document-link' }, document.name),
              h(
                'span',
                { class: 'document-meta' },
                KIND_LABEL[document.kind],
                document.updatedAt ? ` · edited ${relativeTime(document.updatedAt)}` : '',
              ),
            ),
            present,
          );
        }),
      );
      replaceChildren(listArea, listArea.firstChild as HTMLElement, list);
      void refreshPresence(sorted);
    },
    (error: unknown) => {
      if (closed) return;
      replaceChildren(
        listArea,
        listArea.firstChild as HTMLElement,
        h(
          'div',
          { class: 'message-panel', role: 'alert' },
          h('p', {}, `The documents could not be loaded: ${error instanceof ApiError ? error.message : 'unexpected error'}.`),
          h('button', { type: 'button', class: 'button', onclick: () => context.navigate('/') }, 'Try again'),
        ),
      );
    },
  );

  return () => {
    closed = true;
    if (timer !== null) clearTimeout(timer);
  };
}

/** Avatars of who is in a document now; open-mode sessions are anonymous to the server ("guests"). */
function renderPresent(target: HTMLElement, users: readonly PresentUser[]): void {
  if (users.length === 0) {
    target.replaceChildren();
    target.removeAttribute('role');
    target.removeAttribute('aria-label');
    target.removeAttribute('title');
    return;
  }
  const named = users.filter((user) => user.name !== null).map((user) => user.name!);
  const guests = users.length - named.length;
  const label = `Here now: ${[...named, guests > 0 ? `${guests} ${guests === 1 ? 'guest' : 'guests'}` : ''].filter(Boolean).join(', ')}`;
  target.setAttribute('role', 'img');
  target.setAttribute('aria-label', label);
  target.title = label;
  replaceChildren(
    target,
    ...users
      .slice(0, 4)
      .map((user) =>
        user.name === null
          ? h('span', { class: 'avatar small guest' }, '?')
          : h('span', { class: 'avatar small', style: `background-color: ${colourFor(user.id ?? user.name)}` }, initials(user.name)),
      ),
    users.length > 4 && h('span', { class: 'avatar small more' }, `+${users.length - 4}`),
  );
}

function createForm(context: AppContext): HTMLElement {
  const name = h('input', {
    id: 'new-name',
    type: 'text',
    required: true,
    maxlength: '255',
    placeholder: 'e.g. Thesis / chapter 2',
    autocomplete: 'off',
  });
  const kinds = (['paper', 'research_tree'] as const).map((kind, i) =>
    h(
      'label',
      { class: 'choice' },
      h('input', { type: 'radio', name: 'kind', value: kind, checked: i === 0 }),
      h('span', {}, KIND_LABEL[kind]),
    ),
  );
  const project = h('select', { id: 'new-project' });
  const projectField = h('div', { class: 'field', hidden: true }, h('label', { for: 'new-project' }, 'Project'), project);
  const error = h('p', { class: 'error-text', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'button primary' }, 'Create');
  const form = h(
    'form',
    { class: 'card create', 'aria-labelledby': 'create-heading' },
    h('h2', { id: 'create-heading' }, 'New document'),
    h(
      'div',
      { class: 'create-row' },
      h('div', { class: 'field grow' }, h('label', { for: 'new-name' }, 'Name'), name),
      h('fieldset', { class: 'field kinds' }, h('legend', {}, 'Kind'), ...kinds),
      projectField,
      submit,
    ),
    error,
  );

  // With a token a document goes into a project where I am an owner or editor.
  if (!context.openMode) {
    void context.api.projects().then(
      (projects) => {
        const writable = projects.filter((candidate) => mayWrite(candidate.role));
        project.replaceChildren(...writable.map((candidate) => h('option', { value: candidate.id }, candidate.name)));
        projectField.hidden = writable.length <= 1;
      },
      () => undefined,
    );
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const chosen = name.value.trim();
    error.textContent = '';
    if (chosen === '') {
      error.textContent = 'Give the document a name.';
      name.focus();
      return;
    }
    const kind = ((form.querySelector('input[name="kind"]:checked') as HTMLInputElement | null)?.value ?? 'paper') as DocumentKind;
    const projectId = context.openMode ? undefined : project.value || undefined;
    if (!context.openMode && projectId === undefined) {
      error.textContent = 'You are not an editor in any project yet, so you cannot create documents. Ask a project owner to add you.';
      return;
    }
    submit.disabled = true;
    try {
      await context.api.createDocument({ name: chosen, kind, ...(projectId ? { projectId } : {}) });
      context.directory.forget();
      context.navigate(documentPath(chosen));
    } catch (failure) {
      error.textContent = failure instanceof ApiError ? sentence(failure.message) : 'The document could not be created.';
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function sentence(text: string): string {
  const trimmed = text.trim();
  return `${trimmed.charAt(0).toUpperCase()}${trimmed.slice(1)}${/[.!?]$/.test(trimmed) ? '' : '.'}`;
}

const RELATIVE = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
function relativeTime(iso: string): string {
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ['year', 31_536_000],
    ['month', 2_592_000],
    ['week', 604_800],
    ['day', 86_400],
    ['hour', 3_600],
    ['minute', 60],
  ];
  for (const [unit, size] of units) if (Math.abs(seconds) >= size) return RELATIVE.format(Math.round(seconds / size), unit);
  return 'just now';
}
