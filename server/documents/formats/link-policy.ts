/**
 * Which link targets and code-block languages a paper may carry, whatever the input format
 * (Markdown, HTML, ProseMirror JSON) and on the way out (HTML): links only to http(s),
 * mailto or relative addresses, so no `javascript:`, `data:` or `vbscript:` link ever
 * reaches a reader. Pure.
 */

/** Longer addresses are refused (no legitimate link needs more; it bounds what a paper stores per link). */
export const MAX_HREF_LENGTH = 2048;

const SAFE_SCHEMES: ReadonlySet<string> = new Set(['http', 'https', 'mailto']);

/** `scheme:` at the start, as a URL parser reads it. */
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

/**
 * Browsers drop tabs and newlines inside a URL and ignore leading control characters
 * (`java\tscript:` runs), so an address holding any control character is refused rather
 * than cleaned.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** The address if a paper may link to it, else null. */
export function safeHref(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const href = value.trim();
  if (href === '' || href.length > MAX_HREF_LENGTH || CONTROL.test(href)) return null;
  const scheme = SCHEME.exec(href);
  if (scheme === null) {
    // No scheme: relative, unless a colon before the first slash makes it look like one to
    // some reader (`javascript&#58;` decoded late, `c:\…`): refused.
    const colon = href.indexOf(':');
    const slash = href.search(/[/?#]/);
    if (colon !== -1 && (slash === -1 || colon < slash)) return null;
    return href;
  }
  return SAFE_SCHEMES.has(scheme[1]!.toLowerCase()) ? href : null;
}

/** A code block's language if it is a plain identifier (`ts`, `c++`, `objective-c`, `c#`), else null. */
export function safeLanguage(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const language = value.trim();
  return /^[\w#+.-]{1,40}$/.test(language) ? language : null;
}
