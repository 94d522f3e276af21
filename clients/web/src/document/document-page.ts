import { h } from '../element.js';

/**
 * The frame of a document page: top bar (back to the list, the name, people, save state)
 * and the body the editor goes in. Views fill `meta` and `body`.
 */
export interface DocumentFrame {
  readonly element: HTMLElement;
  /** Top bar, right: people, actions, save state. */
  readonly meta: HTMLElement;
  /** Buttons about the document (History). */
  readonly actions: HTMLElement;
  readonly notices: HTMLElement;
  readonly body: HTMLElement;
  /** Beside the body: the history panel. */
  readonly side: HTMLElement;
}

export function createDocumentFrame(name: string, kindLabel: string): DocumentFrame {
  const meta = h('div', { class: 'doc-meta' });
  const actions = h('div', { class: 'doc-actions' });
  const notices = h('div', { class: 'notices' });
  const body = h('div', { class: 'doc-body' });
  const side = h('div', { class: 'doc-side' });
  const element = h(
    'div',
    { class: 'page document-page' },
    h(
      'header',
      { class: 'topbar' },
      h(
        'a',
        { href: '/', 'data-nav': true, class: 'brand', 'aria-label': 'Scriptorium' },
        h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, 'S'),
      ),
      h(
        'div',
        { class: 'doc-title' },
        h('a', { href: '/', 'data-nav': true, class: 'crumb' }, 'Documents'),
        h('span', { class: 'crumb-separator', 'aria-hidden': 'true' }, '/'),
        h('h1', {}, name),
        h('span', { class: 'kind-tag' }, kindLabel),
      ),
      meta,
    ),
    h('main', { class: 'doc-main', id: 'main' }, h('div', { class: 'doc-column' }, notices, body), side),
  );
  return { element, meta, actions, notices, body, side };
}

/** A message that replaces the editor: unknown document, no access, load failure. Never a blank page. */
export function messagePanel(title: string, text: string, ...actions: HTMLElement[]): HTMLElement {
  return h(
    'section',
    { class: 'message-panel', role: 'alert' },
    h('h2', {}, title),
    h('p', {}, text),
    actions.length > 0 ? h('div', { class: 'actions' }, ...actions) : null,
  );
}
