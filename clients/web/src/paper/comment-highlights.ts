import { Extension, type Editor } from '@tiptap/core';
import { Plugin, PluginKey, type EditorState } from '@tiptap/pm/state';
import { Decoration, DecorationSet } from '@tiptap/pm/view';
import {
  absolutePositionToRelativePosition,
  isStructuralTransaction,
  relativePositionToAbsolutePosition,
  ySyncPluginKey,
} from '@tiptap/y-tiptap';
import * as Y from 'yjs';
import { COMMENTS_MAP, setCommentAnchor, type RelativePositionJSON } from '../../../../server/documents/comments.js';

/** A comment's place in the editor document (ProseMirror positions). */
export interface CommentRange {
  readonly from: number;
  readonly to: number;
}

interface HighlightState {
  readonly decorations: DecorationSet;
  readonly ranges: ReadonlyMap<string, CommentRange>;
  readonly active: string | null;
}

type Meta = { readonly recompute: true } | { readonly active: string | null };

const highlightKey = new PluginKey<HighlightState>('commentHighlights');

type ProsemirrorMapping = Parameters<typeof relativePositionToAbsolutePosition>[3];

interface Binding {
  readonly type: Y.XmlFragment;
  readonly mapping: ProsemirrorMapping;
}

/** The y-tiptap binding of the Collaboration extension: its fragment and Yjs ↔ ProseMirror node mapping. */
function bindingOf(state: EditorState): Binding | null {
  const sync = ySyncPluginKey.getState(state) as { binding?: Binding | null } | undefined;
  return sync?.binding ?? null;
}

/** Relative positions of the editor selection, tied through the binding (null for an empty selection). */
export function selectionAnchor(editor: Editor): { start: Y.RelativePosition; end: Y.RelativePosition; quote: string } | null {
  const { from, to, empty } = editor.state.selection;
  const binding = bindingOf(editor.state);
  if (empty || binding === null) return null;
  const quote = editor.state.doc.textBetween(from, to, '\n', ' ');
  if (quote.trim() === '') return null;
  return {
    start: absolutePositionToRelativePosition(from, binding.type, binding.mapping) as Y.RelativePosition,
    end: absolutePositionToRelativePosition(to, binding.type, binding.mapping) as Y.RelativePosition,
    quote,
  };
}

function resolve(doc: Y.Doc, binding: Binding, position: unknown, path: unknown): number | null {
  for (const candidate of [position, ...(Array.isArray(path) ? path : [])]) {
    if (typeof candidate !== 'object' || candidate === null) continue;
    try {
      const absolute = relativePositionToAbsolutePosition(
        doc,
        binding.type,
        Y.createRelativePositionFromJSON(candidate as RelativePositionJSON),
        binding.mapping,
      );
      if (absolute !== null) return absolute;
    } catch {
      // An unreadable anchor is a detached comment: nothing to highlight.
    }
  }
  return null;
}

/** Where each open, attached comment sits now, read from its anchor through the binding. */
function currentRanges(doc: Y.Doc, state: EditorState, detached: (id: string) => boolean): Map<string, CommentRange> {
  const ranges = new Map<string, CommentRange>();
  const binding = bindingOf(state);
  if (binding === null) return ranges;
  const size = state.doc.content.size;
  doc.getMap<unknown>(COMMENTS_MAP).forEach((value, id) => {
    if (!(value instanceof Y.Map) && (typeof value !== 'object' || value === null)) return;
    const field = (key: string): unknown => (value instanceof Y.Map ? value.get(key) : (value as Record<string, unknown>)[key]);
    if (field('resolved') === true || detached(id)) return;
    const anchor = field('anchor') as { start?: unknown; end?: unknown; startPath?: unknown; endPath?: unknown } | undefined;
    if (anchor === undefined || anchor === null) return;
    const from = resolve(doc, binding, anchor.start, anchor.startPath);
    const to = resolve(doc, binding, anchor.end, anchor.endPath);
    if (from === null || to === null || from >= to || to > size) return;
    ranges.set(id, { from, to });
  });
  return ranges;
}

function decorate(state: EditorState, ranges: ReadonlyMap<string, CommentRange>, active: string | null): DecorationSet {
  const decorations: Decoration[] = [];
  for (const [id, { from, to }] of ranges) {
    decorations.push(
      Decoration.inline(from, to, { class: id === active ? 'comment-highlight is-active' : 'comment-highlight', 'data-comment-id': id }),
    );
  }
  return DecorationSet.create(state.doc, decorations);
}

export interface CommentHighlightOptions {
  readonly doc: Y.Doc;
  /** Detached comments (their text deleted whole) are not highlighted even when a fallback resolves. */
  readonly isDetached: (id: string) => boolean;
  /** Mod-Alt-M: comment on the selection. */
  readonly onCommentShortcut: () => void;
  /** A click on highlighted text. */
  readonly onHighlightClick: (id: string) => void;
}

/**
 * Highlights the open comments' ranges. Between recomputations the decorations are mapped
 * through each transaction; `refreshHighlights` recomputes them from the anchors (the comments
 * model calls it after every Yjs transaction, once the binding has updated its mapping).
 */
export const CommentHighlights = Extension.create<CommentHighlightOptions>({
  name: 'commentHighlights',

  addKeyboardShortcuts() {
    return {
      'Mod-Alt-m': () => {
        this.options.onCommentShortcut();
        return true;
      },
    };
  },

  addProseMirrorPlugins() {
    const { doc, isDetached, onHighlightClick } = this.options;
    // Ranges mapped through a local paragraph split or join, to re-tie once the binding wrote it.
    let retie: Map<string, CommentRange> | null = null;

    return [
      new Plugin<HighlightState>({
        key: highlightKey,
        state: {
          init: () => ({ decorations: DecorationSet.empty, ranges: new Map(), active: null }),
          apply(tr, value, _old, state) {
            const meta = tr.getMeta(highlightKey) as Meta | undefined;
            if (meta !== undefined && 'recompute' in meta) {
              const ranges = currentRanges(doc, state, isDetached);
              return { ranges, active: value.active, decorations: decorate(state, ranges, value.active) };
            }
            if (meta !== undefined && 'active' in meta)
              return { ...value, active: meta.active, decorations: decorate(state, value.ranges, meta.active) };
            if (!tr.docChanged) return value;
            const ranges = new Map<string, CommentRange>();
            for (const [id, range] of value.ranges) {
              const from = tr.mapping.map(range.from, 1);
              const to = tr.mapping.map(range.to, -1);
              if (from < to) ranges.set(id, { from, to });
            }
            // The binding writes a split or join as delete + copy, which would detach comments on
            // the moved text: this editor made the change, so it re-ties them (setCommentAnchor).
            if (tr.getMeta(ySyncPluginKey) === undefined && isStructuralTransaction(tr, _old.doc) && ranges.size > 0)
              retie = new Map(ranges);
            return { ranges, active: value.active, decorations: value.decorations.map(tr.mapping, tr.doc) };
          },
        },
        props: {
          decorations: (state) => highlightKey.getState(state)?.decorations ?? DecorationSet.empty,
          handleClick: (view, pos) => {
            const ranges = highlightKey.getState(view.state)?.ranges;
            if (!ranges) return false;
            for (const [id, range] of ranges) {
              if (pos >= range.from && pos <= range.to) {
                onHighlightClick(id);
                break;
              }
            }
            return false;
          },
        },
        view: (view) => ({
          update() {
            if (retie === null) return;
            const moved = retie;
            retie = null;
            // After the binding's own view update has written the transaction to Yjs.
            queueMicrotask(() => {
              const binding = bindingOf(view.state);
              if (binding === null || view.isDestroyed) return;
              const comments = doc.getMap<unknown>(COMMENTS_MAP);
              for (const [id, range] of moved) {
                const comment = comments.get(id);
                if (!(comment instanceof Y.Map)) continue;
                const anchor = comment.get('anchor') as { start?: unknown; end?: unknown } | undefined;
                if (resolve(doc, binding, anchor?.start, []) === range.from && resolve(doc, binding, anchor?.end, []) === range.to)
                  continue;
                try {
                  setCommentAnchor(doc, id, {
                    start: absolutePositionToRelativePosition(range.from, binding.type, binding.mapping) as Y.RelativePosition,
                    end: absolutePositionToRelativePosition(range.to, binding.type, binding.mapping) as Y.RelativePosition,
                  });
                } catch {
                  // Nothing of the passage is left to tie to: it stays as it is.
                }
              }
            });
          },
        }),
      }),
    ];
  },
});

/** The comment's current range in the editor, or null when it is not highlighted (resolved, detached). */
export function commentRange(editor: Editor, id: string): CommentRange | null {
  return highlightKey.getState(editor.state)?.ranges.get(id) ?? null;
}

/** Marks one comment's highlight as the active one (null: none). */
export function setActiveComment(editor: Editor, id: string | null): void {
  if (editor.isDestroyed) return;
  editor.view.dispatch(editor.state.tr.setMeta(highlightKey, { active: id } satisfies Meta).setMeta('addToHistory', false));
}

/** Asks for a recomputation (e.g. after the detached set changed). */
export function refreshHighlights(editor: Editor): void {
  if (editor.isDestroyed) return;
  editor.view.dispatch(editor.state.tr.setMeta(highlightKey, { recompute: true } satisfies Meta).setMeta('addToHistory', false));
}
