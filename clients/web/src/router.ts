/** The app's URLs (docs/contracts.md "Browser app"): `/` the document list, `/d/<percent-encoded name>` a document. */
export type Route =
  | { readonly view: 'list' }
  | { readonly view: 'document'; readonly name: string }
  | { readonly view: 'unknown'; readonly path: string };

export function parseRoute(pathname: string): Route {
  if (pathname === '/' || pathname === '') return { view: 'list' };
  if (pathname.startsWith('/d/') && pathname.length > 3) {
    try {
      return { view: 'document', name: decodeURIComponent(pathname.slice(3)) };
    } catch {
      return { view: 'unknown', path: pathname };
    }
  }
  return { view: 'unknown', path: pathname };
}

export function documentPath(name: string): string {
  return `/d/${encodeURIComponent(name)}`;
}

/**
 * Client-side navigation: same-origin links marked `data-nav` change the view without a
 * reload (the socket stays open); back/forward work; a modified click opens a new tab as usual.
 */
export function startRouter(render: (route: Route) => void): { navigate(path: string): void } {
  const show = () => render(parseRoute(window.location.pathname));
  const navigate = (path: string) => {
    if (path !== window.location.pathname) window.history.pushState(null, '', path);
    show();
  };
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = (event.target as Element | null)?.closest?.('a[data-nav]');
    if (!(link instanceof HTMLAnchorElement) || link.origin !== window.location.origin) return;
    event.preventDefault();
    navigate(link.pathname);
  });
  window.addEventListener('popstate', show);
  show();
  return { navigate };
}
