import { localStore } from './local-store.js';

/** How the others see me: in awareness (carets, avatars) and in the presence list. */
export interface Identity {
  /** One person across tabs: the user id (token mode) or a per-browser id (open mode). */
  readonly key: string;
  readonly name: string;
  readonly color: string;
}

/** Dark enough for white label text (WCAG AA) and distinct from one another. */
export const PALETTE: readonly { readonly name: string; readonly value: string }[] = [
  { name: 'Teal', value: '#0f766e' },
  { name: 'Blue', value: '#1d4ed8' },
  { name: 'Violet', value: '#6d28d9' },
  { name: 'Magenta', value: '#a21caf' },
  { name: 'Red', value: '#b91c1c' },
  { name: 'Orange', value: '#c2410c' },
  { name: 'Olive', value: '#4d7c0f' },
  { name: 'Slate', value: '#334155' },
];

/** A stable colour for a user id, so a person looks the same on every device. */
export function colourFor(id: string): string {
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (Math.imul(hash, 31) + id.charCodeAt(i)) | 0;
  return PALETTE[Math.abs(hash) % PALETTE.length]!.value;
}

const NAME_KEY = 'scriptorium.name';
const COLOUR_KEY = 'scriptorium.colour';
const BROWSER_KEY = 'scriptorium.browser';

function browserId(): string {
  let id = localStore.get(BROWSER_KEY);
  if (id === null) {
    // crypto.randomUUID needs a secure context; the app may be served over plain http.
    id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
    localStore.set(BROWSER_KEY, id);
  }
  return id;
}

/** Open mode: the name and colour chosen once in this browser, or null when not chosen yet. */
export function rememberedOpenIdentity(): Identity | null {
  const name = localStore.get(NAME_KEY);
  if (name === null || name.trim() === '') return null;
  const color = localStore.get(COLOUR_KEY);
  return { key: `browser:${browserId()}`, name, color: color !== null && /^#[0-9a-f]{6}$/i.test(color) ? color : colourFor(name) };
}

export function rememberOpenIdentity(name: string, color: string): Identity {
  localStore.set(NAME_KEY, name);
  localStore.set(COLOUR_KEY, color);
  return { key: `browser:${browserId()}`, name, color };
}

export function forgetOpenIdentity(): void {
  localStore.remove(NAME_KEY);
  localStore.remove(COLOUR_KEY);
}

/** Token mode: the user from `GET /api/me`. */
export function userIdentity(id: string, name: string | null, email: string | undefined): Identity {
  return { key: `user:${id}`, name: name ?? email ?? 'Unnamed user', color: colourFor(id) };
}

/** Initials for an avatar: "Ada Lovelace" → "AL". */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length >= 2 ? [words[0]!, words[words.length - 1]!].map((w) => [...w][0]) : [...(words[0] ?? '?')].slice(0, 2);
  return letters.join('').toUpperCase();
}

/** The user id behind an identity (token mode), or null for an open-mode guest. */
export function userIdOf(identity: Identity): string | null {
  return identity.key.startsWith('user:') ? identity.key.slice('user:'.length) : null;
}
