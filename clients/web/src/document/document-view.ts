import { ApiError, type DocumentSummary } from '../api.js';
import type { AppContext } from '../app-context.js';
import { h } from '../element.js';
import { documentPath } from '../router.js';
import { createDocumentFrame, messagePanel } from './document-page.js';
import { viewCode } from './view-code.js';

const KIND_LABEL = { paper: 'Paper', research_tree: 'Research tree' } as const;

/** `/d/<name>`: finds the document's kind, then opens it as a paper or a research tree. Returns the cleanup. */
export function showDocument(root: HTMLElement, context: AppContext, name: string): () => void {
  document.title = `${name} — Scriptorium`;
  const frame = createDocumentFrame(name, '');
  frame.body.append(h('p', { class: 'loading' }, 'Opening…'));
  root.replaceChildren(frame.element);
  let closed = false;

  // Opened at once (or taken over from the start of the app): the server loads the document
  // while the list answers and the editor's code arrives.
  const connection = context.connect(name);
  let cleanup: (() => void) | null = () => connection.destroy();

  const open = (summary: DocumentSummary | null) => {
    if (closed) return;
    performance.mark('scriptorium:kind-known');
    const kind = summary?.kind ?? 'paper';
    frame.element.querySelector('.kind-tag')!.textContent = KIND_LABEL[kind];
    viewCode(kind).then(
      (mount) => {
        if (closed) return;
        cleanup = mount(frame, connection, context.api);
      },
      () => {
        if (closed) return;
        frame.body.replaceChildren(
          messagePanel(
            'The editor could not be loaded',
            'The app’s code did not arrive; the network or the server may be down.',
            h('button', { type: 'button', class: 'button', onclick: () => window.location.reload() }, 'Reload'),
            backLink(),
          ),
        );
      },
    );
  };

  context.directory.find(name).then(
    (summary) => {
      if (closed) return;
      if (summary) return open(summary);
      // Open mode: documents are created on first use (as a paper), so a new name is a new paper.
      if (context.openMode) return open(null);
      // Token mode: not in my list means it does not exist or I may not read it; the socket says which.
      const decide = () => {
        const access = connection.currentAccess();
        if (access.state === 'pending') return;
        stop();
        if (access.state === 'denied') {
          connection.destroy();
          cleanup = null;
          if (/^no document named/i.test(access.reason)) showMissing(frame.body, name);
          else showDenied(frame.body, access.reason);
          return;
        }
        // Readable after all (created or shared a moment ago).
        void context.directory.find(name).then(open, () => open(null));
      };
      const stop = connection.onChange(decide);
      decide();
    },
    (error: unknown) => {
      if (closed) return;
      const message = error instanceof ApiError ? error.message : 'Something went wrong while opening the document.';
      frame.body.replaceChildren(
        messagePanel(
          'The document could not be opened',
          message,
          h('button', { type: 'button', class: 'button', onclick: () => context.navigate(documentPath(name)) }, 'Try again'),
          backLink(),
        ),
      );
    },
  );

  return () => {
    closed = true;
    cleanup?.();
  };
}

function backLink(): HTMLElement {
  return h('a', { href: '/', 'data-nav': true, class: 'button' }, 'All documents');
}

function showDenied(body: HTMLElement, reason: string): void {
  body.replaceChildren(
    messagePanel(
      'You don’t have access to this document',
      `The server refused to open it: ${reason}. Ask an owner of its project to add you.`,
      backLink(),
    ),
  );
}

function showMissing(body: HTMLElement, name: string): void {
  body.replaceChildren(messagePanel('Document not found', `There is no document named “${name}” that you can open.`, backLink()));
}
