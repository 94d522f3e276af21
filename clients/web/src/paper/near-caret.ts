import { Extension, type Editor } from '@tiptap/core';
import type { Node as ProseMirrorNode } from '@tiptap/pm/model';
import { Plugin, PluginKey, Selection, TextSelection, type EditorState } from '@tiptap/pm/state';
import { Decoration, DecorationSet } from '@tiptap/pm/view';

/** The class of the paper's top-level blocks near the selection's ends (styles.css). */
export const NEAR_CARET_CLASS = 'near-caret';

/**
 * How many top-level blocks before and after the one holding the caret are kept laid out: the
 * arrow keys move the caret (natively) a line at a time, and the editor reads each move before
 * the next key only most of the time; 10 blocks are at least 10 lines of slack.
 */
export const NEAR_CARET_BLOCKS = 10;

const nearCaretKey = new PluginKey('nearCaret');

/** Start positions of the top-level blocks within NEAR_CARET_BLOCKS of the one at `pos`, each with its end. */
function blocksNear(doc: ProseMirrorNode, pos: number, into: Map<number, number>): void {
  if (doc.childCount === 0) return;
  const $pos = doc.resolve(pos);
  const index = Math.min($pos.index(0), doc.childCount - 1);
  let start = $pos.depth >= 1 ? $pos.before(1) : $pos.index(0) < doc.childCount ? pos : pos - doc.child(index).nodeSize;
  const first = start;
  for (let i = index; i < doc.childCount && i <= index + NEAR_CARET_BLOCKS; i++) {
    const end = start + doc.child(i).nodeSize;
    into.set(start, end);
    start = end;
  }
  start = first;
  for (let i = index - 1; i >= 0 && i >= index - NEAR_CARET_BLOCKS; i--) {
    const end = start;
    start -= doc.child(i).nodeSize;
    into.set(start, end);
  }
}

function nearCaret(state: EditorState): DecorationSet {
  const blocks = new Map<number, number>();
  blocksNear(state.doc, state.selection.head, blocks);
  blocksNear(state.doc, state.selection.anchor, blocks);
  return DecorationSet.create(
    state.doc,
    [...blocks].map(([from, to]) => Decoration.node(from, to, { class: NEAR_CARET_CLASS })),
  );
}

/** The caret to the start or the end of the paper (extending the selection), set by the editor, scrolled to. */
function jump(editor: Editor, side: 'start' | 'end', extend: boolean): boolean {
  const { state, view } = editor;
  const target = side === 'start' ? Selection.atStart(state.doc) : Selection.atEnd(state.doc);
  const selection = extend ? TextSelection.between(state.selection.$anchor, target.$head) : target;
  view.dispatch(state.tr.setSelection(selection).scrollIntoView());
  return true;
}

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

/**
 * Keeps editing exact in a paper whose off-screen blocks skip layout (`content-visibility:
 * auto` on `.paper-content > *`, for the load time of long papers). A skipped block has no
 * layout, and Chromium's own editing in or into it goes wrong:
 * - A block is skipped from its creation until the next frame finds it on screen. A character
 *   typed into it before then (right after Enter, "## ", "- ") was inserted with the caret left
 *   in front of it: the rest of the line went before it (`<p>hree</p>…<p>fivet</p>`).
 * - The arrow keys skip over skipped blocks: with the caret scrolled out of view (its
 *   neighbours skipped again), ↓ four times went from the 5th block to the 93rd, and Shift+↓
 *   selected all of that; ↑ right after Ctrl+End went up dozens of blocks.
 * - Ctrl+End put the caret at the start of the paper's last block (off screen, skipped), not
 *   at its end; Shift+Ctrl+End selected to there.
 * The top-level blocks within NEAR_CARET_BLOCKS of the selection's anchor and head get a class
 * that turns the skipping off (styles.css), set in the same DOM update that creates or selects
 * them, so every block the caret is in or moves to by a line is laid out. Ctrl+Home/End (⌘↑/↓
 * on a Mac) and their Shift variants are done by the editor, which then lays out the block
 * it lands in and its neighbours before any other key.
 */
export const NearCaret = Extension.create({
  name: 'nearCaret',
  addKeyboardShortcuts() {
    const shortcuts: Record<string, () => boolean> = {
      'Mod-Home': () => jump(this.editor, 'start', false),
      'Mod-End': () => jump(this.editor, 'end', false),
      'Shift-Mod-Home': () => jump(this.editor, 'start', true),
      'Shift-Mod-End': () => jump(this.editor, 'end', true),
    };
    if (isMac) {
      shortcuts['Mod-ArrowUp'] = () => jump(this.editor, 'start', false);
      shortcuts['Mod-ArrowDown'] = () => jump(this.editor, 'end', false);
      shortcuts['Shift-Mod-ArrowUp'] = () => jump(this.editor, 'start', true);
      shortcuts['Shift-Mod-ArrowDown'] = () => jump(this.editor, 'end', true);
    }
    return shortcuts;
  },
  addProseMirrorPlugins() {
    let last: { doc: ProseMirrorNode; anchor: number; head: number; decorations: DecorationSet } | null = null;
    return [
      new Plugin({
        key: nearCaretKey,
        props: {
          decorations(state) {
            const { anchor, head } = state.selection;
            if (last === null || last.doc !== state.doc || last.anchor !== anchor || last.head !== head)
              last = { doc: state.doc, anchor, head, decorations: nearCaret(state) };
            return last.decorations;
          },
        },
      }),
    ];
  },
});
