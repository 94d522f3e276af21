/**
 * An editor's vocabulary on a paper, for the model-based fuzz test (editor-workload.fuzz.test.ts):
 * the layout y-prosemirror / Tiptap write — `Y.XmlFragment('default')` of `Y.XmlElement` blocks
 * holding `Y.XmlText` with marks as formatting attributes (`{bold: {}}`, `{link: {href}}`, …) —
 * and the comments of server/documents/comments.ts in the `comments` Y.Map.
 *
 * Operations are generated with position *selectors* (natural numbers) that are resolved
 * against the editing client's current document when the operation runs (modulo what is
 * there), so every generated operation applies whatever the others did meanwhile. `applyEditorOp`
 * returns a description of what it actually did (for the op log), or null for a no-op.
 *
 * Also here: replica fingerprints for the convergence oracle, and a containment check of an
 * update in a stored state that needs neither to be integrable on its own.
 */
import fc from 'fast-check';
import { simpleDiff } from 'lib0/diff';
import { defaultDeleteFilter, defaultProtectedNodes } from 'y-prosemirror';
import * as Y from 'yjs';
import {
  addComment,
  COMMENTS_MAP,
  CommentError,
  deleteComment,
  replyToComment,
  setCommentAnchor,
  setCommentResolved,
} from '../../server/documents/comments.js';
import { paperFragment, PAPER_FRAGMENT } from '../../server/documents/paper-fragment.js';
import { indexPaperPositions } from '../../server/documents/paper-positions.js';

export type Attrs = Record<string, unknown>;
/** A run of text and the attributes it is inserted with (undefined: Yjs lets it inherit). */
export type Run = readonly [string, Attrs | undefined];

export interface ListSpec {
  readonly kind: 'bulletList' | 'orderedList';
  readonly items: readonly { readonly runs: readonly Run[]; readonly nested: ListSpec | null }[];
}

export type BlockSpec =
  | { readonly kind: 'paragraph'; readonly runs: readonly Run[]; readonly align: string | null }
  | { readonly kind: 'heading'; readonly level: number; readonly runs: readonly Run[] }
  | { readonly kind: 'codeBlock'; readonly language: string | null; readonly text: string }
  | ListSpec
  | { readonly kind: 'blockquote'; readonly paragraphs: readonly (readonly Run[])[] }
  | { readonly kind: 'table'; readonly rows: number; readonly cols: number; readonly cells: readonly (readonly Run[])[] }
  | { readonly kind: 'horizontalRule' };

export type CommentAction = 'add' | 'reply' | 'resolve' | 'reopen' | 'delete' | 'reanchor';

export type EditorOp =
  /** A raw `Y.XmlText.insert(at, text, attrs)`. */
  | { readonly t: 'type'; readonly text: number; readonly at: number; readonly insert: string; readonly attrs: Attrs | undefined }
  | { readonly t: 'erase'; readonly text: number; readonly at: number; readonly len: number }
  | { readonly t: 'format'; readonly text: number; readonly at: number; readonly len: number; readonly attrs: Attrs }
  /** A text change the way y-prosemirror's updateYText writes it (diff, then re-format every run). */
  | {
      readonly t: 'pmEdit';
      readonly text: number;
      readonly at: number;
      readonly del: number;
      readonly insert: string;
      readonly marks: Attrs;
    }
  | { readonly t: 'insertBlock'; readonly container: number; readonly at: number; readonly block: BlockSpec }
  | { readonly t: 'deleteBlocks'; readonly container: number; readonly at: number; readonly count: number }
  | { readonly t: 'setAttr'; readonly element: number; readonly key: number; readonly value: number }
  /** Enter inside a text block: the tail moves to a new block of the same type after it. */
  | { readonly t: 'split'; readonly text: number; readonly at: number }
  /** Backspace at the start of a text block: its text joins the previous sibling text block. */
  | { readonly t: 'join'; readonly pair: number }
  /** paragraph ↔ heading ↔ codeBlock: y-prosemirror replaces the element. */
  | { readonly t: 'setBlockType'; readonly element: number; readonly to: 'paragraph' | 'heading' | 'codeBlock'; readonly level: number }
  | { readonly t: 'comment'; readonly action: CommentAction; readonly pick: number; readonly from: number; readonly len: number }
  | { readonly t: 'undo' }
  | { readonly t: 'redo' }
  /** Lets the network run for a while (handled by the runner). */
  | { readonly t: 'pause'; readonly ms: number };

export interface ClientOp {
  readonly client: number;
  readonly op: EditorOp;
}

// ---------------------------------------------------------------------------------------------
// Generators

const LINKS = ['https://example.org/a', 'https://example.org/b?q=1'];
/** Marks as y-prosemirror writes them (mark name → mark attrs). */
export const MARKS: readonly Attrs[] = [
  { bold: {} },
  { italic: {} },
  { code: {} },
  { strike: {} },
  { link: { href: LINKS[0], target: '_blank', rel: 'noopener noreferrer nofollow', class: null } },
  { link: { href: LINKS[1], target: '_blank', rel: 'noopener noreferrer nofollow', class: null } },
  { bold: {}, italic: {} },
  { bold: {}, link: { href: LINKS[0], target: '_blank', rel: 'noopener noreferrer nofollow', class: null } },
];
/** Attribute sets that remove marks (what y-prosemirror writes when a mark goes). */
const UNMARKS: readonly Attrs[] = [
  { bold: null },
  { italic: null },
  { link: null },
  { code: null },
  { bold: null, italic: null },
  { italic: {}, bold: null },
];

const CHARS = [...'abcdefghij klmnop', 'é', '\u00a0', '😀'];
const word = fc.array(fc.constantFrom(...CHARS), { minLength: 1, maxLength: 6 }).map((chars) => chars.join(''));
const sel = fc.nat({ max: 1 << 16 });
const markOrNone = fc.oneof({ arbitrary: fc.constantFrom(...MARKS), weight: 2 }, { arbitrary: fc.constant({}), weight: 1 });
/** Insert attributes: inherit (undefined), none ({}), marks, or explicit removals. */
const insertAttrs: fc.Arbitrary<Attrs | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 3 },
  { arbitrary: fc.constant({}), weight: 1 },
  { arbitrary: fc.constantFrom(...MARKS), weight: 3 },
  { arbitrary: fc.constantFrom(...UNMARKS), weight: 1 },
);
const run: fc.Arbitrary<Run> = fc.tuple(word, fc.oneof(fc.constant(undefined), fc.constantFrom(...MARKS)));
const runs = fc.array(run, { maxLength: 3 });

const listSpec = (depth: number): fc.Arbitrary<ListSpec> =>
  fc.record({
    kind: fc.constantFrom('bulletList' as const, 'orderedList' as const),
    items: fc.array(
      fc.record({
        runs,
        nested:
          depth > 0
            ? fc.option(
                fc.constant(null).chain(() => listSpec(depth - 1)),
                { freq: 3 },
              )
            : fc.constant(null),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  });

export const blockSpec: fc.Arbitrary<BlockSpec> = fc.oneof(
  {
    arbitrary: fc.record({ kind: fc.constant('paragraph' as const), runs, align: fc.constantFrom(null, null, 'center', 'right') }),
    weight: 6,
  },
  { arbitrary: fc.record({ kind: fc.constant('heading' as const), level: fc.integer({ min: 1, max: 6 }), runs }), weight: 2 },
  {
    arbitrary: fc.record({ kind: fc.constant('codeBlock' as const), language: fc.constantFrom(null, 'js', 'python'), text: word }),
    weight: 1,
  },
  { arbitrary: listSpec(2), weight: 2 },
  {
    arbitrary: fc.record({ kind: fc.constant('blockquote' as const), paragraphs: fc.array(runs, { minLength: 1, maxLength: 2 }) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('table' as const),
      rows: fc.integer({ min: 1, max: 3 }),
      cols: fc.integer({ min: 1, max: 3 }),
      cells: fc.array(runs, { maxLength: 9 }),
    }),
    weight: 1,
  },
  { arbitrary: fc.constant({ kind: 'horizontalRule' as const }), weight: 1 },
);

const COMMENT_ACTIONS: readonly CommentAction[] = ['add', 'add', 'reply', 'resolve', 'reopen', 'delete', 'reanchor'];

/** One editing operation; `undo` adds Y.UndoManager undo and redo to the vocabulary. */
export function editorOp(undo: boolean): fc.Arbitrary<EditorOp> {
  const ops: fc.WeightedArbitrary<EditorOp>[] = [
    { arbitrary: fc.record({ t: fc.constant('type' as const), text: sel, at: sel, insert: word, attrs: insertAttrs }), weight: 8 },
    { arbitrary: fc.record({ t: fc.constant('erase' as const), text: sel, at: sel, len: fc.integer({ min: 1, max: 5 }) }), weight: 3 },
    {
      arbitrary: fc.record({
        t: fc.constant('format' as const),
        text: sel,
        at: sel,
        len: fc.integer({ min: 1, max: 8 }),
        attrs: fc.oneof(fc.constantFrom(...MARKS), fc.constantFrom(...UNMARKS)),
      }),
      weight: 5,
    },
    {
      arbitrary: fc.record({
        t: fc.constant('pmEdit' as const),
        text: sel,
        at: sel,
        del: fc.integer({ min: 0, max: 3 }),
        insert: fc.oneof(word, fc.constant('')),
        marks: markOrNone,
      }),
      weight: 5,
    },
    { arbitrary: fc.record({ t: fc.constant('insertBlock' as const), container: sel, at: sel, block: blockSpec }), weight: 5 },
    {
      arbitrary: fc.record({ t: fc.constant('deleteBlocks' as const), container: sel, at: sel, count: fc.integer({ min: 1, max: 2 }) }),
      weight: 2,
    },
    { arbitrary: fc.record({ t: fc.constant('setAttr' as const), element: sel, key: sel, value: sel }), weight: 2 },
    { arbitrary: fc.record({ t: fc.constant('split' as const), text: sel, at: sel }), weight: 2 },
    { arbitrary: fc.record({ t: fc.constant('join' as const), pair: sel }), weight: 2 },
    {
      arbitrary: fc.record({
        t: fc.constant('setBlockType' as const),
        element: sel,
        to: fc.constantFrom('paragraph' as const, 'heading' as const, 'codeBlock' as const),
        level: fc.integer({ min: 1, max: 3 }),
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        t: fc.constant('comment' as const),
        action: fc.constantFrom(...COMMENT_ACTIONS),
        pick: sel,
        from: sel,
        len: fc.integer({ min: 1, max: 12 }),
      }),
      weight: 3,
    },
    { arbitrary: fc.record({ t: fc.constant('pause' as const), ms: fc.constantFrom(0, 5, 20, 60) }), weight: 3 },
  ];
  if (undo) {
    ops.push({ arbitrary: fc.constant({ t: 'undo' as const }), weight: 3 }, { arbitrary: fc.constant({ t: 'redo' as const }), weight: 2 });
  }
  return fc.oneof(...ops);
}

export function clientOps(clients: number, undo: boolean, count: number): fc.Arbitrary<ClientOp[]> {
  return fc.array(fc.record({ client: fc.nat({ max: clients - 1 }), op: editorOp(undo) }), { minLength: count, maxLength: count });
}

// ---------------------------------------------------------------------------------------------
// Editors

export interface Editor {
  readonly name: string;
  readonly doc: Y.Doc;
  readonly fragment: Y.XmlFragment;
  /** Transaction origin of this editor's own edits (tracked by its UndoManager). */
  readonly origin: { readonly editor: string };
  readonly undoManager: Y.UndoManager;
  /** Counter for deterministic comment ids and timestamps. */
  serial: number;
}

/**
 * An editor on `doc`: its own edit origin and an UndoManager configured as y-prosemirror's
 * yUndoPlugin does (scope: the fragment; tracked: the editor's origin; the same delete filter).
 */
export function createEditor(name: string, doc: Y.Doc, captureTimeout = 0): Editor {
  const fragment = doc.getXmlFragment(PAPER_FRAGMENT);
  const origin = { editor: name };
  const undoManager = new Y.UndoManager(fragment, {
    trackedOrigins: new Set([origin]),
    captureTimeout,
    deleteFilter: (item) => defaultDeleteFilter(item, defaultProtectedNodes),
  });
  return { name, doc, fragment, origin, undoManager, serial: 0 };
}

/** Elements that hold blocks, and what they take. */
type ContainerKind = 'blocks' | 'list' | 'table' | 'tableRow';
const TEXT_BLOCKS = new Set(['paragraph', 'heading', 'codeBlock']);

interface Located<T> {
  readonly node: T;
  readonly path: string;
}

interface PaperWalk {
  readonly texts: Located<Y.XmlText>[];
  readonly elements: Located<Y.XmlElement>[];
  readonly containers: (Located<Y.XmlFragment | Y.XmlElement> & { readonly kind: ContainerKind })[];
}

function containerKind(name: string): ContainerKind | null {
  switch (name) {
    case 'listItem':
    case 'blockquote':
    case 'tableCell':
    case 'tableHeader':
      return 'blocks';
    case 'bulletList':
    case 'orderedList':
      return 'list';
    case 'table':
      return 'table';
    case 'tableRow':
      return 'tableRow';
    default:
      return null;
  }
}

function walk(fragment: Y.XmlFragment): PaperWalk {
  const out: PaperWalk = { texts: [], elements: [], containers: [{ node: fragment, path: '/', kind: 'blocks' }] };
  const visit = (parent: Y.XmlFragment | Y.XmlElement, path: string) => {
    parent.toArray().forEach((child, i) => {
      if (child instanceof Y.XmlElement) {
        const here = `${path}${i}:${child.nodeName}/`;
        out.elements.push({ node: child, path: here });
        const kind = containerKind(child.nodeName);
        if (kind) out.containers.push({ node: child, path: here, kind });
        visit(child, here);
      } else if (child instanceof Y.XmlText) {
        out.texts.push({ node: child, path: `${path}${i}:text` });
      }
    });
  };
  visit(fragment, '/');
  return out;
}

/** The characters of a Y.XmlText (embeds are not used by these editors). */
function plain(text: Y.XmlText): string {
  let out = '';
  for (const op of text.toDelta() as { insert: unknown }[]) if (typeof op.insert === 'string') out += op.insert;
  return out;
}

/**
 * An offset moved off the middle of a surrogate pair (an editor never puts the cursor there;
 * Yjs replaces a split pair with U+FFFD on the replica that splits it, and only there).
 */
function snap(text: Y.XmlText, offset: number): number {
  const s = plain(text);
  const inPair = offset > 0 && offset < s.length && /[\uD800-\uDBFF]/.test(s[offset - 1]!) && /[\uDC00-\uDFFF]/.test(s[offset]!);
  return inPair ? offset - 1 : offset;
}

/** [at, at + len) of `text` with both ends off surrogate pairs; null when empty. */
function span(text: Y.XmlText, at: number, len: number): { at: number; len: number } | null {
  const from = snap(text, at);
  const to = snap(text, Math.min(text.length, at + len));
  return to > from ? { at: from, len: to - from } : null;
}

/**
 * A private copy of generated attributes: Y.Text#insert writes `key: null` into the object it
 * is given (for each attribute active at the position), which would alter the generated value.
 */
function copy<T extends Attrs | undefined>(attrs: T): T {
  return attrs === undefined ? attrs : structuredClone(attrs);
}

const pick = <T>(items: readonly T[], k: number): T | undefined => (items.length === 0 ? undefined : items[k % items.length]);
const show = (value: unknown) => JSON.stringify(value);

function prelimText(runsToInsert: readonly Run[]): Y.XmlText {
  const text = new Y.XmlText();
  const delta = runsToInsert.map(([insert, attributes]) =>
    attributes === undefined ? { insert } : { insert, attributes: copy(attributes) },
  );
  if (delta.length > 0) text.applyDelta(delta);
  return text;
}

function element(name: string, attrs: Attrs, children: (Y.XmlElement | Y.XmlText)[]): Y.XmlElement {
  const el = new Y.XmlElement(name);
  for (const [key, value] of Object.entries(attrs)) if (value !== null) el.setAttribute(key, value as string);
  if (children.length > 0) el.insert(0, children);
  return el;
}

const paragraph = (r: readonly Run[], attrs: Attrs = {}) => element('paragraph', attrs, [prelimText(r)]);

function buildList(spec: ListSpec): Y.XmlElement {
  return element(
    spec.kind,
    spec.kind === 'orderedList' ? { start: 1 } : {},
    spec.items.map((item) =>
      element('listItem', {}, item.nested ? [paragraph(item.runs), buildList(item.nested)] : [paragraph(item.runs)]),
    ),
  );
}

const CELL_ATTRS = { colspan: 1, rowspan: 1 };

function buildBlock(spec: BlockSpec): Y.XmlElement {
  switch (spec.kind) {
    case 'paragraph':
      return paragraph(spec.runs, { textAlign: spec.align });
    case 'heading':
      return element('heading', { level: spec.level }, [prelimText(spec.runs)]);
    case 'codeBlock':
      return element('codeBlock', { language: spec.language }, [prelimText([[spec.text, undefined]])]);
    case 'bulletList':
    case 'orderedList':
      return buildList(spec);
    case 'blockquote':
      return element(
        'blockquote',
        {},
        spec.paragraphs.map((p) => paragraph(p)),
      );
    case 'table': {
      const rows: Y.XmlElement[] = [];
      for (let r = 0; r < spec.rows; r++) {
        const cells: Y.XmlElement[] = [];
        for (let c = 0; c < spec.cols; c++)
          cells.push(element(r === 0 ? 'tableHeader' : 'tableCell', CELL_ATTRS, [paragraph(spec.cells[r * spec.cols + c] ?? [])]));
        rows.push(element('tableRow', {}, cells));
      }
      return element('table', {}, rows);
    }
    case 'horizontalRule':
      return element('horizontalRule', {}, []);
  }
}

const runsOf = (spec: BlockSpec): readonly Run[] => (spec.kind === 'paragraph' || spec.kind === 'heading' ? spec.runs : []);

/** What an editor would put into a container of this kind, from the generated block. */
function buildFor(kind: ContainerKind, spec: BlockSpec): Y.XmlElement {
  switch (kind) {
    case 'blocks':
      return buildBlock(spec);
    case 'list':
      return element(
        'listItem',
        {},
        spec.kind === 'bulletList' || spec.kind === 'orderedList' ? [paragraph([]), buildList(spec)] : [paragraph(runsOf(spec))],
      );
    case 'table':
      return element('tableRow', {}, [
        element('tableCell', CELL_ATTRS, [paragraph(runsOf(spec))]),
        element('tableCell', CELL_ATTRS, [paragraph([])]),
      ]);
    case 'tableRow':
      return element('tableCell', CELL_ATTRS, [paragraph(runsOf(spec))]);
  }
}

/** Settable attributes per node type (null: removeAttribute), as Tiptap's extensions define them. */
const ATTRIBUTES: Record<string, readonly (readonly [string, readonly unknown[]])[]> = {
  paragraph: [['textAlign', ['left', 'center', 'right', 'justify', null]]],
  heading: [
    ['level', [1, 2, 3, 4, 5, 6]],
    ['textAlign', ['left', 'center', null]],
  ],
  codeBlock: [['language', ['js', 'ts', 'python', null]]],
  orderedList: [
    ['start', [1, 2, 5]],
    ['type', [null, 'a']],
  ],
  tableCell: [
    ['colspan', [1, 2]],
    ['rowspan', [1, 2]],
    ['colwidth', [null, [120], [80]]],
  ],
  tableHeader: [['colwidth', [null, [150]]]],
  listItem: [['checked', [true, false, null]]],
};

type Delta = { insert: string | object; attributes?: Attrs }[];

/** The text runs of a Y.XmlText from `from` on (embeds are not used by these editors). */
function deltaFrom(text: Y.XmlText, from: number): Delta {
  const out: Delta = [];
  let offset = 0;
  for (const op of text.toDelta() as Delta) {
    if (typeof op.insert !== 'string') continue;
    const end = offset + op.insert.length;
    if (end > from)
      out.push({ insert: op.insert.slice(Math.max(0, from - offset)), ...(op.attributes ? { attributes: op.attributes } : {}) });
    offset = end;
  }
  return out;
}

/** Appends runs with explicit attributes (none: `{}`), as a ProseMirror join does through y-prosemirror. */
function appendRuns(text: Y.XmlText, delta: Delta): void {
  let at = text.length;
  for (const op of delta) {
    if (typeof op.insert !== 'string') continue;
    text.insert(at, op.insert, op.attributes ?? {});
    at += op.insert.length;
  }
}

/**
 * y-prosemirror's updateYText: the new text as runs with their marks; one delete and one
 * insert from a string diff, then every run re-formatted with its marks (attributes the
 * text has but the run has not are written as null).
 */
function pmUpdateText(text: Y.XmlText, runsAfter: readonly { text: string; marks: Attrs }[]): void {
  const nAttrs: Attrs = {};
  let str = '';
  for (const op of text.toDelta() as Delta) {
    if (typeof op.insert !== 'string') continue;
    str += op.insert;
    for (const key of Object.keys(op.attributes ?? {})) nAttrs[key] = null;
  }
  const content = runsAfter.map((r) => ({ insert: r.text, attributes: { ...nAttrs, ...r.marks } }));
  const { insert, remove, index } = simpleDiff(str, content.map((c) => c.insert).join(''));
  text.delete(index, remove);
  text.insert(index, insert);
  text.applyDelta(content.map((c) => ({ retain: c.insert.length, attributes: c.attributes })));
}

function pmEdit(text: Y.XmlText, at: number, del: number, insert: string, marks: Attrs): void {
  const runsNow: { text: string; marks: Attrs }[] = [];
  for (const op of text.toDelta() as Delta)
    if (typeof op.insert === 'string') runsNow.push({ text: op.insert, marks: op.attributes ?? {} });
  const after: { text: string; marks: Attrs }[] = [];
  let offset = 0;
  let inserted = insert.length === 0;
  const place = () => {
    if (!inserted) after.push({ text: insert, marks });
    inserted = true;
  };
  for (const r of runsNow) {
    const end = offset + r.text.length;
    const keepBefore = r.text.slice(0, Math.max(0, Math.min(r.text.length, at - offset)));
    const keepAfter = r.text.slice(Math.max(0, Math.min(r.text.length, at + del - offset)));
    if (keepBefore) after.push({ text: keepBefore, marks: r.marks });
    if (end >= at) place();
    if (keepAfter && end > at + del) after.push({ text: keepAfter, marks: r.marks });
    offset = end;
  }
  place();
  pmUpdateText(
    text,
    after.filter((r) => r.text.length > 0),
  );
}

function commentIds(doc: Y.Doc): string[] {
  return [...doc.getMap<unknown>(COMMENTS_MAP).keys()].sort();
}

/**
 * Runs one operation on the editor's document (one transaction with the editor's origin,
 * except undo/redo, which the UndoManager runs with its own). Returns what it did, or null.
 */
export function applyEditorOp(editor: Editor, op: EditorOp): string | null {
  const { doc, fragment, origin } = editor;
  let described: string | null = null;
  const paper = () => walk(fragment);
  switch (op.t) {
    case 'pause':
      return null;
    case 'undo':
    case 'redo':
      try {
        return (op.t === 'undo' ? editor.undoManager.undo() : editor.undoManager.redo()) ? op.t : null;
      } catch (error) {
        // A defect of Yjs's UndoManager, not of the server (seen in-process too: redoItem follows
        // `redone` into a garbage-collected struct). Its transaction still ends normally and sends
        // what it did, so the replicas must converge all the same.
        return `${op.t} ${UNDO_THREW}: ${(error as Error).message}`;
      }
    case 'comment':
      return commentOp(editor, op);
    default:
  }
  doc.transact(() => {
    switch (op.t) {
      case 'type': {
        const target = pick(paper().texts, op.text);
        if (!target) return;
        const at = snap(target.node, op.at % (target.node.length + 1));
        target.node.insert(at, op.insert, copy(op.attrs));
        described = `type ${target.path}@${at} ${show(op.insert)} ${op.attrs === undefined ? 'inherit' : show(op.attrs)}`;
        return;
      }
      case 'erase': {
        const target = pick(
          paper().texts.filter((t) => t.node.length > 0),
          op.text,
        );
        if (!target) return;
        const range = span(target.node, op.at % target.node.length, op.len);
        if (!range) return;
        target.node.delete(range.at, range.len);
        described = `erase ${target.path}@${range.at}+${range.len}`;
        return;
      }
      case 'format': {
        const target = pick(
          paper().texts.filter((t) => t.node.length > 0),
          op.text,
        );
        if (!target) return;
        const range = span(target.node, op.at % target.node.length, op.len);
        if (!range) return;
        target.node.format(range.at, range.len, copy(op.attrs));
        described = `format ${target.path}@${range.at}+${range.len} ${show(op.attrs)}`;
        return;
      }
      case 'pmEdit': {
        const target = pick(paper().texts, op.text);
        if (!target) return;
        const at = snap(target.node, op.at % (target.node.length + 1));
        const del = snap(target.node, Math.min(target.node.length, at + op.del)) - at;
        if (del <= 0 && op.insert.length === 0) return;
        pmEdit(target.node, at, del, op.insert, copy(op.marks));
        described = `pmEdit ${target.path}@${at}-${del}+${show(op.insert)} ${show(op.marks)}`;
        return;
      }
      case 'insertBlock': {
        const container = pick(paper().containers, op.container)!;
        const at = op.at % (container.node.length + 1);
        const built = buildFor(container.kind, op.block);
        container.node.insert(at, [built]);
        described = `insertBlock ${container.path}@${at} ${built.toString()}`;
        return;
      }
      case 'deleteBlocks': {
        const container = pick(
          paper().containers.filter((c) => c.node.length > 0),
          op.container,
        );
        if (!container) return;
        const at = op.at % container.node.length;
        const count = Math.min(op.count, container.node.length - at);
        container.node.delete(at, count);
        described = `deleteBlocks ${container.path}@${at}+${count}`;
        return;
      }
      case 'setAttr': {
        const target = pick(
          paper().elements.filter((e) => ATTRIBUTES[e.node.nodeName] !== undefined),
          op.element,
        );
        if (!target) return;
        const choices = ATTRIBUTES[target.node.nodeName]!;
        const [key, values] = choices[op.key % choices.length]!;
        const value = values[op.value % values.length];
        if (value === null) target.node.removeAttribute(key);
        else target.node.setAttribute(key, value as string);
        described = `setAttr ${target.path} ${key}=${show(value)}`;
        return;
      }
      case 'split': {
        const target = pick(
          paper().texts.filter(
            (t) =>
              t.node.parent instanceof Y.XmlElement && (t.node.parent.nodeName === 'paragraph' || t.node.parent.nodeName === 'heading'),
          ),
          op.text,
        );
        if (!target) return;
        const block = target.node.parent as Y.XmlElement;
        const container = block.parent as Y.XmlFragment | Y.XmlElement;
        const index = container.toArray().indexOf(block);
        const at = snap(target.node, op.at % (target.node.length + 1));
        const tail = deltaFrom(target.node, at);
        if (at < target.node.length) target.node.delete(at, target.node.length - at);
        const text = new Y.XmlText();
        if (tail.length > 0) text.applyDelta(tail);
        // A heading split at its end gives a paragraph, elsewhere another heading (ProseMirror's splitBlock).
        const name = block.nodeName === 'heading' && tail.length === 0 ? 'paragraph' : block.nodeName;
        container.insert(index + 1, [element(name, name === 'heading' ? { level: block.getAttribute('level') } : {}, [text])]);
        described = `split ${target.path}@${at} → ${name}`;
        return;
      }
      case 'join': {
        const pairs: [Y.XmlFragment | Y.XmlElement, number, string][] = [];
        for (const c of paper().containers) {
          if (c.kind !== 'blocks') continue;
          const children = c.node.toArray();
          for (let i = 0; i + 1 < children.length; i++) {
            const a = children[i];
            const b = children[i + 1];
            if (a instanceof Y.XmlElement && b instanceof Y.XmlElement && TEXT_BLOCKS.has(a.nodeName) && TEXT_BLOCKS.has(b.nodeName))
              pairs.push([c.node, i, c.path]);
          }
        }
        const chosen = pick(pairs, op.pair);
        if (!chosen) return;
        const [container, i, path] = chosen;
        const [a, b] = container.toArray().slice(i, i + 2) as [Y.XmlElement, Y.XmlElement];
        const aText = a.toArray().find((n): n is Y.XmlText => n instanceof Y.XmlText);
        const bText = b.toArray().find((n): n is Y.XmlText => n instanceof Y.XmlText);
        const moved = bText ? deltaFrom(bText, 0) : [];
        if (aText) appendRuns(aText, a.nodeName === 'codeBlock' ? moved.map((m) => ({ insert: m.insert })) : moved);
        else if (moved.length > 0) {
          const text = new Y.XmlText();
          text.applyDelta(moved);
          a.insert(a.length, [text]);
        }
        container.delete(i + 1, 1);
        described = `join ${path}${i}+${i + 1}`;
        return;
      }
      case 'setBlockType': {
        const target = pick(
          paper().elements.filter((e) => TEXT_BLOCKS.has(e.node.nodeName) && e.node.nodeName !== op.to),
          op.element,
        );
        if (!target) return;
        const block = target.node;
        const container = block.parent as Y.XmlFragment | Y.XmlElement;
        const index = container.toArray().indexOf(block);
        const oldText = block.toArray().find((n): n is Y.XmlText => n instanceof Y.XmlText);
        let moved = oldText ? deltaFrom(oldText, 0) : [];
        if (op.to === 'codeBlock') moved = moved.map((m) => ({ insert: m.insert }));
        const text = new Y.XmlText();
        if (moved.length > 0) text.applyDelta(moved);
        const attrs: Attrs = op.to === 'heading' ? { level: op.level } : op.to === 'codeBlock' ? { language: null } : {};
        container.delete(index, 1);
        container.insert(index, [element(op.to, attrs, [text])]);
        described = `setBlockType ${target.path} → ${op.to}`;
        return;
      }
    }
  }, origin);
  return described;
}

function commentOp(editor: Editor, op: Extract<EditorOp, { t: 'comment' }>): string | null {
  const { doc, origin } = editor;
  const author = { id: null, name: editor.name };
  const serial = ++editor.serial;
  const createdAt = new Date(Date.UTC(2026, 0, 1) + serial * 1000).toISOString();
  const ids = commentIds(doc);
  try {
    if (op.action === 'add' || op.action === 'reanchor') {
      const length = indexPaperPositions(paperFragment(doc)).text.length;
      if (length < 1) return null;
      const from = op.from % length;
      const to = Math.min(length, from + op.len);
      if (op.action === 'add') {
        const id = addComment(
          doc,
          { id: `${editor.name}-c${serial}`, anchor: { from, to }, body: `note ${serial} by ${editor.name}`, author, createdAt },
          origin,
        );
        return `comment add ${id} [${from},${to})`;
      }
      const id = pick(ids, op.pick);
      if (!id) return null;
      setCommentAnchor(doc, id, { from, to }, origin);
      return `comment reanchor ${id} [${from},${to})`;
    }
    const id = pick(ids, op.pick);
    if (!id) return null;
    switch (op.action) {
      case 'reply':
        replyToComment(doc, id, { id: `${editor.name}-r${serial}`, body: `reply ${serial}`, author, createdAt }, origin);
        return `comment reply ${id}`;
      case 'resolve':
      case 'reopen':
        setCommentResolved(doc, id, op.action === 'resolve', origin);
        return `comment ${op.action} ${id}`;
      case 'delete':
        deleteComment(doc, id, origin);
        return `comment delete ${id}`;
    }
  } catch (error) {
    // A passage without a character of text, or a comment deleted meanwhile: the editor's UI refuses these.
    if (error instanceof CommentError) return null;
    throw error;
  }
}

/** Marks an op-log line of an undo or redo that threw inside Yjs. */
export const UNDO_THREW = 'THREW inside Y.UndoManager';

// ---------------------------------------------------------------------------------------------
// Oracles

/** What must be equal on converged replicas. */
export interface Fingerprint {
  readonly stateVector: string;
  readonly snapshot: string;
  readonly xml: string;
  readonly comments: string;
}

export function fingerprint(doc: Y.Doc): Fingerprint {
  return {
    stateVector: Buffer.from(Y.encodeStateVector(doc)).toString('base64'),
    snapshot: Buffer.from(Y.encodeSnapshot(Y.snapshot(doc))).toString('base64'),
    xml: doc.getXmlFragment(PAPER_FRAGMENT).toString(),
    comments: canonicalJson(doc.getMap(COMMENTS_MAP).toJSON()),
  };
}

/** JSON with object keys sorted (a Y.Map's keys come in the order this replica received them). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function sameFingerprint(a: Fingerprint, b: Fingerprint): boolean {
  return a.stateVector === b.stateVector && a.snapshot === b.snapshot && a.xml === b.xml && a.comments === b.comments;
}

/** The fields of `b` that differ from `a`. */
export function fingerprintDiff(a: Fingerprint, b: Fingerprint): string[] {
  return (Object.keys(a) as (keyof Fingerprint)[]).filter((key) => a[key] !== b[key]);
}

/** Readable state vector: client → clock. */
export function stateVectorOf(doc: Y.Doc): Record<string, number> {
  return Object.fromEntries(
    [...Y.decodeStateVector(Y.encodeStateVector(doc))].sort(([x], [y]) => x - y).map(([client, clock]) => [String(client), clock]),
  );
}

/**
 * Items placed against their own origins: a right origin that sits left of the left origin in
 * the parent's list (yjs/yjs#794: undo restoring a deleted block can create such an item, and
 * replicas that integrate it in different orders then render the same state differently).
 */
export function originAnomalies(doc: Y.Doc): string[] {
  const out: string[] = [];
  // Per parent: each item's position in the list (deleted items included).
  const positions = new Map<unknown, Map<Y.Item, number>>();
  const positionsIn = (parent: Y.AbstractType<unknown>) => {
    let map = positions.get(parent);
    if (!map) {
      map = new Map();
      let i = 0;
      for (let item = parent._start; item !== null; item = item.right) map.set(item, i++);
      positions.set(parent, map);
    }
    return map;
  };
  const itemAt = (id: Y.ID): Y.Item | null => {
    try {
      const struct = Y.getItem(doc.store, id);
      return struct instanceof Y.Item ? struct : null;
    } catch {
      return null;
    }
  };
  doc.store.clients.forEach((structs) => {
    for (const struct of structs) {
      if (!(struct instanceof Y.Item) || struct.parentSub !== null || struct.origin === null || struct.rightOrigin === null) continue;
      const left = itemAt(struct.origin);
      const right = itemAt(struct.rightOrigin);
      if (!left || !right || left.parent !== struct.parent || right.parent !== struct.parent) continue;
      const map = positionsIn(struct.parent as Y.AbstractType<unknown>);
      const l = map.get(left);
      const r = map.get(right);
      if (l === undefined || r === undefined) continue;
      // Both origins inside one struct (not split here): compare the clocks within it.
      const inverted = left === right ? struct.rightOrigin.clock <= struct.origin.clock : r < l;
      if (inverted) {
        const o = `${struct.origin.client}:${struct.origin.clock}`;
        const ro = `${struct.rightOrigin.client}:${struct.rightOrigin.clock}`;
        out.push(`${struct.id.client}:${struct.id.clock} (left origin ${o} at ${l}, right origin ${ro} at ${r})`);
      }
    }
  });
  return out;
}

interface Range {
  clock: number;
  len: number;
}

function normalize(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a.clock - b.clock);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.clock <= last.clock + last.len) last.len = Math.max(last.len, r.clock + r.len - last.clock);
    else if (r.len > 0) out.push({ clock: r.clock, len: r.len });
  }
  return out;
}

function covered(outer: Range[], r: Range): boolean {
  return outer.some((o) => o.clock <= r.clock && r.clock + r.len <= o.clock + o.len);
}

interface DecodedRanges {
  readonly structs: Map<number, Range[]>;
  readonly deletes: Map<number, Range[]>;
}

function decodeRanges(update: Uint8Array): DecodedRanges {
  const { structs, ds } = Y.decodeUpdate(update);
  const byClient = new Map<number, Range[]>();
  for (const struct of structs) {
    if (struct instanceof Y.Skip) continue;
    const list = byClient.get(struct.id.client) ?? [];
    list.push({ clock: struct.id.clock, len: struct.length });
    byClient.set(struct.id.client, list);
  }
  const deletes = new Map<number, Range[]>();
  for (const [client, items] of ds.clients) deletes.set(client, normalize(items.map((d) => ({ clock: d.clock, len: d.len }))));
  for (const [client, list] of byClient) byClient.set(client, normalize(list));
  return { structs: byClient, deletes };
}

/**
 * What of `update` (its structs and its deletions) `stored` lacks, as readable strings;
 * empty when `stored` contains it. Works on raw updates, so neither needs to be integrable
 * on its own (an acknowledged update may build on another client's update that is not
 * stored yet and still counts as stored itself).
 */
export function missingFromStored(stored: Uint8Array | null, update: Uint8Array): string[] {
  const have = stored ? decodeRanges(stored) : { structs: new Map<number, Range[]>(), deletes: new Map<number, Range[]>() };
  const want = decodeRanges(update);
  const missing: string[] = [];
  for (const [client, ranges] of want.structs) {
    for (const r of ranges) if (!covered(have.structs.get(client) ?? [], r)) missing.push(`structs ${client}:${r.clock}+${r.len}`);
  }
  for (const [client, ranges] of want.deletes) {
    for (const r of ranges) if (!covered(have.deletes.get(client) ?? [], r)) missing.push(`deletion ${client}:${r.clock}+${r.len}`);
  }
  return missing;
}

/** What of snapshot `want` (state vector and delete set) snapshot `have` lacks; empty when it contains it. */
export function snapshotMissing(have: Y.Snapshot, want: Y.Snapshot): string[] {
  const missing: string[] = [];
  for (const [client, clock] of want.sv) {
    if ((have.sv.get(client) ?? 0) < clock) missing.push(`structs ${client}:${have.sv.get(client) ?? 0}..${clock}`);
  }
  for (const [client, items] of want.ds.clients) {
    const outer = normalize((have.ds.clients.get(client) ?? []).map((d) => ({ clock: d.clock, len: d.len })));
    for (const r of normalize(items.map((d) => ({ clock: d.clock, len: d.len })))) {
      if (!covered(outer, r)) missing.push(`deletion ${client}:${r.clock}+${r.len}`);
    }
  }
  return missing;
}
