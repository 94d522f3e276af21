import type { BlameSpan } from '../../../../server/authorship/authorship-types.js';

/** The colour of text nobody can be named for (history deleted, a name never seen). */
export const UNKNOWN_AUTHOR_COLOUR = '#64748b';

export type Author = Pick<BlameSpan, 'userId' | 'name'>;

/** One key per author, as the server groups them: a user, an open-mode name, or unknown. */
export function authorKey(author: Author): string {
  if (author.userId !== null) return `user:${author.userId}`;
  return author.name !== null ? `name:${author.name}` : 'unknown';
}

/**
 * A colour per author key, told apart: each author in turn gets `ownColour` (a user's caret
 * colour, an open-mode author the default colour of their name) unless an earlier author has
 * it, else the first colour of `palette` nobody has yet; past the palette's size, colours
 * repeat. Unknown authors are grey. Pure: the caller passes the app's palette.
 */
export function assignAuthorColours(
  authors: readonly Author[],
  ownColour: (id: string) => string,
  palette: readonly string[],
): Map<string, string> {
  const colours = new Map<string, string>([['unknown', UNKNOWN_AUTHOR_COLOUR]]);
  const taken = new Set<string>();
  for (const author of authors) {
    const key = authorKey(author);
    if (colours.has(key)) continue;
    const own = ownColour(author.userId ?? author.name ?? key);
    const free = palette.find((colour) => !taken.has(colour));
    const colour = !taken.has(own) || free === undefined ? own : free;
    taken.add(colour);
    colours.set(key, colour);
  }
  return colours;
}
