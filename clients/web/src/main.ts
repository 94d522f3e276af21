import './styles.css';
import { ApiError, createApi } from './api.js';
import { DocumentDirectory, type AppContext } from './app-context.js';
import { showDocument } from './document/document-view.js';
import { h } from './element.js';
import { showDocumentList } from './list/document-list-view.js';
import { parseRoute, startRouter, type Route } from './router.js';
import { DocumentConnection } from './collab/document-connection.js';
import { viewCode } from './document/view-code.js';
import { forgetOpenIdentity, rememberedOpenIdentity, userIdentity, type Identity } from './session/identity.js';
import { localStore } from './session/local-store.js';
import { askIdentity, showTokenSignIn } from './session/sign-in-view.js';
import { forgetToken, takeToken } from './session/token.js';

const root = document.getElementById('app')!;

/** Sign in (token or open mode), then show whatever the URL names. */
async function boot(): Promise<void> {
  // Marks for the load benchmark (bench/web-load.ts): where the time to an editable paper goes.
  performance.mark('scriptorium:start');
  const token = takeToken();
  const api = createApi(token);
  const directory = new DocumentDirectory(api);
  // Opening a document: everything it needs starts now, side by side: who I am, the list (its
  // kind), the editor's code, and the document itself over the socket, so the server loads it
  // while the rest arrives.
  const route = parseRoute(window.location.pathname);
  let early: DocumentConnection | null = null;
  if (route.view === 'document') {
    directory.list().catch(() => undefined);
    viewCode('paper').catch(() => undefined);
    early = new DocumentConnection(route.name, token, null);
  }
  let me;
  try {
    me = await api.me();
  } catch (error) {
    early?.destroy();
    if (error instanceof ApiError && error.status === 401) {
      showTokenSignIn(
        root,
        token === null ? null : `Your sign-in link no longer works (${error.message}). Ask for a new one.`,
        (pasted) => {
          localStore.set('scriptorium.token', pasted);
          void boot();
        },
      );
      return;
    }
    showFatal(error instanceof ApiError ? error.message : 'The app could not start.');
    return;
  }

  performance.mark('scriptorium:signed-in');
  let identity: Identity;
  if (me.id === null) identity = rememberedOpenIdentity() ?? (await askIdentity(root));
  else identity = userIdentity(me.id, me.name, me.email);
  early?.introduce(identity);

  let leave: (() => void) | null = null;
  let firstRender = true;
  const context: AppContext = {
    api,
    identity,
    openMode: me.id === null,
    directory,
    connect: (name) => {
      const taken = early;
      early = null;
      if (taken && taken.name === name) return taken;
      taken?.destroy();
      return new DocumentConnection(name, token, identity);
    },
    navigate: (path) => router.navigate(path),
    signOut: () => {
      leave?.();
      leave = null;
      if (me.id === null) forgetOpenIdentity();
      else forgetToken();
      window.location.assign('/');
    },
  };
  const render = (route: Route) => {
    leave?.();
    leave = null;
    if (route.view === 'list') leave = showDocumentList(root, context);
    else if (route.view === 'document') leave = showDocument(root, context, route.name);
    else showNotFound(route.path);
    // Client-side navigation: move focus to the new page's heading, as a page load would.
    if (!firstRender) (root.querySelector('h1') as HTMLElement | null)?.setAttribute('tabindex', '-1');
    if (!firstRender) (root.querySelector('h1') as HTMLElement | null)?.focus();
    firstRender = false;
  };
  const router = startRouter(render);
}

function showNotFound(path: string): void {
  document.title = 'Not found — Scriptorium';
  root.replaceChildren(
    h(
      'main',
      { class: 'centered' },
      h(
        'section',
        { class: 'card message-panel', role: 'alert' },
        h('h1', {}, 'Page not found'),
        h('p', {}, `Nothing lives at ${path}.`),
        h('a', { href: '/', 'data-nav': true, class: 'button' }, 'All documents'),
      ),
    ),
  );
}

function showFatal(message: string): void {
  root.replaceChildren(
    h(
      'main',
      { class: 'centered' },
      h(
        'section',
        { class: 'card message-panel', role: 'alert' },
        h('h1', {}, 'Scriptorium is unavailable'),
        h('p', {}, message),
        h('button', { type: 'button', class: 'button', onclick: () => window.location.reload() }, 'Try again'),
      ),
    ),
  );
}

boot().catch((error: unknown) => {
  showFatal(error instanceof Error ? error.message : 'The app could not start.');
});
