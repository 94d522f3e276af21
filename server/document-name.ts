/**
 * What a document name may be (docs/contracts.md "Document names and fixed limits"), one rule for
 * the HTTP API and both socket protocols:
 *   - 1 to 255 characters, counted in code points — as PostgreSQL's `char_length` (the
 *     `documents.name` check) counts them, so an emoji is one character, not two UTF-16 units;
 *   - no NUL: PostgreSQL text cannot hold it (the query would fail, a 500);
 *   - well-formed Unicode: an unpaired surrogate (possible in JSON, `"\ud83d"`) would be stored
 *     as U+FFFD, a name other than the one asked for.
 */

/** Longest accepted document name, in characters (code points). */
export const MAX_DOCUMENT_NAME_LENGTH = 255;

const UNPAIRED_SURROGATE = /\p{Cs}/u;

/** Code points in `text`, counting no further than `limit + 1`. */
function codePointsUpTo(text: string, limit: number): number {
  let count = 0;
  for (const _ of text) if (++count > limit) break;
  return count;
}

/** Null when `name` is an acceptable document name, else the reason it is not (shown to the client). */
export function documentNameProblem(name: string): string | null {
  // Fast path: at most 255 UTF-16 units is at most 255 code points; beyond 510 it is always more.
  const length =
    name.length <= MAX_DOCUMENT_NAME_LENGTH
      ? name.length
      : name.length > 2 * MAX_DOCUMENT_NAME_LENGTH
        ? Infinity
        : codePointsUpTo(name, MAX_DOCUMENT_NAME_LENGTH);
  if (length === 0 || length > MAX_DOCUMENT_NAME_LENGTH) return `document name must be 1 to ${MAX_DOCUMENT_NAME_LENGTH} characters`;
  if (name.includes('\u0000')) return 'document name must not contain NUL characters';
  if (UNPAIRED_SURROGATE.test(name)) return 'document name must be well-formed Unicode (an unpaired surrogate)';
  return null;
}
