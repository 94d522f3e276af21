import type { Api } from '../api.js';
import type { DocumentConnection } from '../collab/document-connection.js';
import type { DocumentFrame } from './document-page.js';

/** Mounts a document's editor in its frame; returns the cleanup (which destroys the connection). */
export type MountView = (frame: DocumentFrame, connection: DocumentConnection, api: Api) => () => void;

/**
 * The editors are separate chunks (Tiptap and ProseMirror are most of the app's code): the
 * list never loads them, and a document page starts loading its editor at once, so the
 * download and compilation overlap sign-in and the server's load of the document.
 * Each chunk is requested once; a failed request is retried on the next call.
 */
const loading: Partial<Record<'paper' | 'research_tree', Promise<MountView>>> = {};

export function viewCode(kind: 'paper' | 'research_tree'): Promise<MountView> {
  let pending = loading[kind];
  if (!pending) {
    pending =
      kind === 'paper'
        ? import('./paper-view.js').then((module) => module.mountPaper)
        : import('./tree-view.js').then((module) => module.mountTree);
    loading[kind] = pending;
    pending.catch(() => {
      if (loading[kind] === pending) delete loading[kind];
    });
  }
  return pending;
}
