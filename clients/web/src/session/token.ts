import { localStore } from './local-store.js';

const TOKEN_KEY = 'scriptorium.token';

/**
 * The sign-in token: given once as `?token=` (a link someone sent), remembered in
 * localStorage and dropped from the address bar so it is not shared with the URL.
 */
export function takeToken(): string | null {
  const url = new URL(window.location.href);
  const given = url.searchParams.get('token');
  if (given !== null) {
    if (given.trim() !== '') localStore.set(TOKEN_KEY, given.trim());
    url.searchParams.delete('token');
    window.history.replaceState(window.history.state, '', `${url.pathname}${url.search}${url.hash}`);
  }
  return localStore.get(TOKEN_KEY);
}

export function forgetToken(): void {
  localStore.remove(TOKEN_KEY);
}
