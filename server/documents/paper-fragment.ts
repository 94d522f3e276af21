/**
 * Where a paper lives in a Y.Doc, and whether what is there is editor content.
 * Pure: usable in the browser.
 */
import * as Y from 'yjs';

/** Name of the Y.XmlFragment that holds a paper (Tiptap's default field). */
export const PAPER_FRAGMENT = 'default';

/**
 * The paper's fragment, or null when this Y.Doc instance already defined `default` as another
 * type (a client that wrote a plain Y.Text, read in the same process).
 */
export function paperFragment(doc: Y.Doc): Y.XmlFragment | null {
  const existing = doc.share.get(PAPER_FRAGMENT);
  if (existing !== undefined && existing.constructor !== Y.AbstractType && !(existing instanceof Y.XmlFragment)) return null;
  return doc.getXmlFragment(PAPER_FRAGMENT);
}

/**
 * True when every top-level child is an XML element or text, as an editor writes. A client
 * that wrote `default` as a Y.Text leaves raw characters there instead.
 */
export function holdsEditorContent(fragment: Y.XmlFragment): boolean {
  for (let item = fragment._start; item !== null; item = item.right) {
    if (item.deleted || !item.countable) continue;
    const content = item.content;
    if (!(content instanceof Y.ContentType) || !(content.type instanceof Y.XmlElement || content.type instanceof Y.XmlText)) return false;
  }
  return true;
}
