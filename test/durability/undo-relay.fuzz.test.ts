/**
 * Undo/redo convergence through an in-process relay (no server): property-based (fast-check).
 *
 * Three replicas of a paper in the layout y-prosemirror / Tiptap write — `Y.XmlFragment('default')`
 * of `paragraph` / `heading` / `bulletList > listItem > paragraph` elements holding `Y.XmlText` with
 * marks as formatting attributes (`{bold: {}}`, `{link: {href}}`) — each with its own
 * `Y.UndoManager` configured the way y-prosemirror's `yUndoPlugin` (and @tiptap/y-tiptap's) does:
 * scope = the fragment, `trackedOrigins` = the origin the client's own edits are written with
 * (ySyncPluginKey there, one object per client here), `deleteFilter` = y-prosemirror's
 * `defaultDeleteFilter`, `captureTransaction` = "unless meta addToHistory is false". The clients
 * type, erase, format, set block attributes, insert and delete blocks, undo and redo, while a relay
 * delivers updates late and out of order; after a final flush every replica must be the same
 * document.
 *
 * The report "16 of 60 runs diverged with undo, none of 120 without" is what a relay gives that
 * forwards only updates whose origin is the client's edit origin. Undo and redo write their own
 * transactions, origin = the UndoManager, and applying a remote update that touches formatted text
 * makes Yjs run a formatting cleanup in a local transaction of its own, origin null (the two small
 * tests below). Drop the first and undos stay local: most runs with undo diverge, runs without do
 * not. Drop the second and delete sets differ, the rendered text rarely (a content-only comparison
 * misses it). The relay here forwards every update a replica emits except the ones it applied
 * itself (origin REMOTE); with it the replicas always end with identical state (state vector,
 * delete set, nothing pending).
 *
 * One genuine Yjs defect remains, much rarer (about 1 run in 800 here): yjs/yjs#794 — undo
 * restoring a deleted block can recreate a character whose right origin is not to the right of its
 * left origin. The undoing replica places it in one spot, the update it sends puts it elsewhere for
 * everyone else; even fresh loads of two replicas' identical states can disagree (the item lands
 * differently depending on how its neighbours are split). The state is identical, the text order
 * is not. The property tolerates a difference in rendered content only when all states are
 * identical and a replica holds such an item; the minimal reproduction is the `it.fails` below.
 *
 * Fixed seed, short in CI; FUZZ_RUNS=5000 FUZZ_SEED=… for a long run.
 */
import fc from 'fast-check';
import { defaultDeleteFilter, defaultProtectedNodes } from 'y-prosemirror';
import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';

const RUNS = Number(process.env.FUZZ_RUNS ?? 80);
const SEED = Number(process.env.FUZZ_SEED ?? 20261207);
const CLIENTS = 3;
/** Origin of every update the relay applies: the only updates it must not forward again. */
const REMOTE = Symbol('relay');

type Attrs = Record<string, unknown>;
// Factories, not shared objects: Y.Text#insert writes `key: null` into the attributes object it is
// given (for every attribute active at the position), so a shared constant would leak between runs.
const INSERT_ATTRS: readonly (() => Attrs | undefined)[] = [
  () => undefined, // inherit what is active at the position
  () => ({}),
  () => ({ bold: {} }),
  () => ({ italic: {} }),
  () => ({ link: { href: 'https://a.example' } }),
  () => ({ bold: {}, link: { href: 'https://b.example' } }),
];
const FORMAT_ATTRS: readonly (() => Attrs)[] = [
  () => ({ bold: {} }),
  () => ({ bold: null }),
  () => ({ italic: {} }),
  () => ({ italic: null }),
  () => ({ link: { href: 'https://a.example' } }),
  () => ({ link: { href: 'https://b.example' } }),
  () => ({ link: null }),
];
const ALIGN = ['left', 'center', 'right'] as const;

type Op =
  | { t: 'type'; c: number; text: number; at: number; s: string; attrs: number; history: boolean }
  | { t: 'erase'; c: number; text: number; at: number; len: number }
  | { t: 'format'; c: number; text: number; at: number; len: number; attrs: number }
  | { t: 'setAttr'; c: number; element: number; value: number }
  | { t: 'insertBlock'; c: number; container: number; at: number; kind: number }
  | { t: 'deleteBlock'; c: number; container: number; at: number }
  | { t: 'undo'; c: number }
  | { t: 'redo'; c: number }
  | { t: 'stopCapturing'; c: number }
  | { t: 'deliver'; c: number; pick: number; count: number };

const client = fc.nat({ max: CLIENTS - 1 });
const sel = fc.nat({ max: 1000 });
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      t: fc.constant('type' as const),
      c: client,
      text: sel,
      at: sel,
      s: fc.constantFrom('x', 'yz', 'abc', ' '),
      attrs: fc.nat({ max: INSERT_ATTRS.length - 1 }),
      history: fc.constantFrom(true, true, true, false),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ t: fc.constant('erase' as const), c: client, text: sel, at: sel, len: fc.integer({ min: 1, max: 4 }) }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      t: fc.constant('format' as const),
      c: client,
      text: sel,
      at: sel,
      len: fc.integer({ min: 1, max: 8 }),
      attrs: fc.nat({ max: FORMAT_ATTRS.length - 1 }),
    }),
    weight: 3,
  },
  fc.record({ t: fc.constant('setAttr' as const), c: client, element: sel, value: sel }),
  { arbitrary: fc.record({ t: fc.constant('insertBlock' as const), c: client, container: sel, at: sel, kind: sel }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('deleteBlock' as const), c: client, container: sel, at: sel }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('undo' as const), c: client }), weight: 3 },
  { arbitrary: fc.record({ t: fc.constant('redo' as const), c: client }), weight: 2 },
  fc.record({ t: fc.constant('stopCapturing' as const), c: client }),
  { arbitrary: fc.record({ t: fc.constant('deliver' as const), c: client, pick: sel, count: fc.integer({ min: 1, max: 4 }) }), weight: 3 },
);
const scenario = fc.record({
  ops: fc.array(op, { minLength: 1, maxLength: 120, size: 'max' }),
  /** 0: every transaction is its own undo step; huge: steps end only at stopCapturing. */
  captureTimeout: fc.constantFrom(0, 2 ** 30),
  /** Order of the final flush. */
  flushSeed: fc.integer(),
});

interface Replica {
  readonly doc: Y.Doc;
  readonly fragment: Y.XmlFragment;
  readonly undo: Y.UndoManager;
  /** What ySyncPluginKey is in y-prosemirror: the origin of this client's own edits. */
  readonly origin: object;
}

/** y-prosemirror stores ProseMirror node attrs as they are: a heading's level is a number. */
function setAttr(el: Y.XmlElement, key: string, value: number | string): void {
  (el as unknown as Y.XmlElement<Record<string, number | string>>).setAttribute(key, value);
}

function paragraph(text: string, marks?: Attrs): Y.XmlElement {
  const p = new Y.XmlElement('paragraph');
  const t = new Y.XmlText();
  p.insert(0, [t]);
  if (text) t.insert(0, text, marks);
  return p;
}

function block(kind: 'paragraph' | 'heading' | 'bulletList' | 'listItem', text: string): Y.XmlElement {
  if (kind === 'paragraph') return paragraph(text);
  if (kind === 'listItem') {
    const li = new Y.XmlElement('listItem');
    li.insert(0, [paragraph(text)]);
    return li;
  }
  if (kind === 'bulletList') {
    const ul = new Y.XmlElement('bulletList');
    ul.insert(0, [block('listItem', text)]);
    return ul;
  }
  const h = new Y.XmlElement('heading');
  setAttr(h, 'level', 1);
  const t = new Y.XmlText();
  h.insert(0, [t]);
  t.insert(0, text);
  return h;
}

function baseState(): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = 1;
  const fragment = doc.getXmlFragment('default');
  const intro = paragraph('Hello ');
  fragment.insert(0, [intro, block('heading', 'Title'), block('bulletList', 'one')]);
  (intro.get(0) as Y.XmlText).insert(6, 'world', { bold: {} });
  return Y.encodeStateAsUpdate(doc);
}

function replica(index: number, state: Uint8Array, captureTimeout: number): Replica {
  const doc = new Y.Doc();
  doc.clientID = 10 + index;
  Y.applyUpdate(doc, state, REMOTE);
  const fragment = doc.getXmlFragment('default');
  const origin = { client: index };
  const undo = new Y.UndoManager(fragment, {
    trackedOrigins: new Set([origin]),
    deleteFilter: (item) => defaultDeleteFilter(item, defaultProtectedNodes),
    captureTransaction: (tr) => tr.meta.get('addToHistory') !== false,
    captureTimeout,
  });
  return { doc, fragment, undo, origin };
}

/**
 * Every update a replica emits goes to every other replica — edits (the client's origin), undo and
 * redo (origin: the UndoManager), the formatting cleanup Yjs runs after applying a remote update
 * (origin: null) — except the updates the relay applied itself. Delivery is late and out of order;
 * Yjs keeps what it cannot integrate yet as pending until the missing updates arrive.
 */
class Relay {
  readonly queues: Uint8Array[][];

  constructor(private readonly replicas: readonly Replica[]) {
    this.queues = replicas.map(() => []);
    replicas.forEach(({ doc }, from) => {
      doc.on('update', (update: Uint8Array, origin: unknown) => {
        if (origin === REMOTE) return;
        this.queues.forEach((queue, to) => {
          if (to !== from) queue.push(update);
        });
      });
    });
  }

  deliver(to: number, pick: number): void {
    const queue = this.queues[to]!;
    if (queue.length === 0) return;
    const [update] = queue.splice(pick % queue.length, 1);
    Y.applyUpdate(this.replicas[to]!.doc, update!, REMOTE);
  }

  /** Until nothing is in flight: applying an update can emit new ones (formatting cleanup). */
  flush(seed: number): void {
    let s = seed | 0;
    const next = () => (s = (Math.imul(s, 1103515245) + 12345) | 0) >>> 8;
    for (let guard = 0; this.queues.some((q) => q.length > 0); guard++) {
      if (guard > 100_000) throw new Error('relay does not quiesce');
      this.deliver(next() % this.queues.length, next());
    }
  }
}

function texts(type: Y.XmlFragment | Y.XmlElement, out: Y.XmlText[] = []): Y.XmlText[] {
  for (const child of type.toArray()) {
    if (child instanceof Y.XmlText) out.push(child);
    else if (child instanceof Y.XmlElement) texts(child, out);
  }
  return out;
}

function elements(type: Y.XmlFragment | Y.XmlElement, out: Y.XmlElement[] = []): Y.XmlElement[] {
  for (const child of type.toArray()) {
    if (child instanceof Y.XmlElement) {
      out.push(child);
      elements(child, out);
    }
  }
  return out;
}

function apply(r: Replica, o: Op, relay: Relay): void {
  const { doc, fragment, origin } = r;
  const edit = (f: (tr: Y.Transaction) => void) => doc.transact(f, origin);
  switch (o.t) {
    case 'type': {
      const all = texts(fragment);
      if (all.length === 0) return;
      const text = all[o.text % all.length]!;
      edit((tr) => {
        if (!o.history) tr.meta.set('addToHistory', false);
        text.insert(o.at % (text.length + 1), o.s, INSERT_ATTRS[o.attrs]!());
      });
      return;
    }
    case 'erase':
    case 'format': {
      const all = texts(fragment).filter((t) => t.length > 0);
      if (all.length === 0) return;
      const text = all[o.text % all.length]!;
      const at = o.at % text.length;
      const len = Math.min(o.len, text.length - at);
      edit(() => (o.t === 'erase' ? text.delete(at, len) : text.format(at, len, FORMAT_ATTRS[o.attrs]!())));
      return;
    }
    case 'setAttr': {
      const all = elements(fragment).filter((e) => e.nodeName === 'heading' || e.nodeName === 'paragraph');
      if (all.length === 0) return;
      const el = all[o.element % all.length]!;
      edit(() =>
        el.nodeName === 'heading' ? setAttr(el, 'level', 1 + (o.value % 3)) : setAttr(el, 'textAlign', ALIGN[o.value % ALIGN.length]!),
      );
      return;
    }
    case 'insertBlock':
    case 'deleteBlock': {
      const containers: (Y.XmlFragment | Y.XmlElement)[] = [fragment, ...elements(fragment).filter((e) => e.nodeName === 'bulletList')];
      const container = containers[o.container % containers.length]!;
      if (o.t === 'deleteBlock') {
        if (container.length > 0) edit(() => container.delete(o.at % container.length, 1));
        return;
      }
      const kinds = container === fragment ? (['paragraph', 'heading', 'bulletList'] as const) : (['listItem'] as const);
      edit(() => container.insert(o.at % (container.length + 1), [block(kinds[o.kind % kinds.length]!, 'new')]));
      return;
    }
    case 'undo':
      r.undo.undo();
      return;
    case 'redo':
      r.undo.redo();
      return;
    case 'stopCapturing':
      r.undo.stopCapturing();
      return;
    case 'deliver':
      for (let i = 0; i < o.count; i++) relay.deliver(o.c, o.pick + i);
      return;
  }
}

/** JSON with object keys sorted, so equal deltas print equally. */
function stable(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Y.AbstractType)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** What an editor shows: the element tree with attributes, and every text's formatted delta. */
function content(doc: Y.Doc): string {
  const fragment = doc.getXmlFragment('default');
  return fragment.toString() + '\n' + stable(texts(fragment).map((t) => t.toDelta()));
}

/**
 * yjs/yjs#794's signature: an item whose right origin is not strictly to the right of its left
 * origin in this replica (undo's redoItem picked left/right neighbours that no longer bound an
 * interval). Such an item is integrated in one place by its creator and in another by everyone
 * who decodes it.
 */
function restoredOutOfOrder(doc: Y.Doc): string[] {
  const bad: string[] = [];
  const find = (id: Y.ID) => {
    const structs = doc.store.clients.get(id.client);
    return structs ? structs[Y.findIndexSS(structs, id.clock)] : undefined;
  };
  doc.store.clients.forEach((structs) => {
    for (const s of structs) {
      if (!(s instanceof Y.Item) || s.origin === null || s.rightOrigin === null) continue;
      const left = find(s.origin);
      const right = find(s.rightOrigin);
      if (!(left instanceof Y.Item) || !(right instanceof Y.Item) || left.parent !== right.parent) continue;
      if (left === right) {
        if (s.rightOrigin.clock <= s.origin.clock) bad.push(`${s.id.client}:${s.id.clock}`);
        continue;
      }
      let n = left.right;
      while (n !== null && n !== right) n = n.right;
      if (n === null) bad.push(`${s.id.client}:${s.id.clock}`);
    }
  });
  return bad;
}

/** Returns whether the run hit yjs#794 (identical state, different text order). */
function expectConverged(replicas: readonly Replica[]): boolean {
  const docs = replicas.map((r) => r.doc);
  for (const doc of docs) {
    expect(doc.store.pendingStructs, 'an update is still waiting for a missing one').toBeNull();
    expect(doc.store.pendingDs).toBeNull();
  }
  const sv = docs.map((d) => Buffer.from(Y.encodeStateVector(d)).toString('hex'));
  for (const v of sv) expect(v).toBe(sv[0]);
  const snapshots = docs.map((d) => Y.snapshot(d));
  for (const s of snapshots) expect(Y.equalSnapshots(s, snapshots[0]!), 'replicas hold different delete sets').toBe(true);
  // What each replica shows, and what a newcomer decodes from each replica's state: one document.
  const shown = docs.flatMap((d) => {
    const fresh = new Y.Doc();
    Y.applyUpdate(fresh, Y.encodeStateAsUpdate(d));
    return [content(d), content(fresh)];
  });
  if (shown.every((c) => c === shown[0])) return false;
  // Identical state, different rendering: only acceptable as the known undo-restore defect, whose
  // item is integrated differently depending on how the surrounding items happen to be split, so
  // even fresh decodes of two replicas' (identical) states can disagree.
  expect(
    docs.some((d) => restoredOutOfOrder(d).length > 0),
    `replicas differ without yjs#794's signature:\n${shown.join('\n---\n')}`,
  ).toBe(true);
  return true;
}

describe('undo/redo through an in-process relay (property-based)', () => {
  const tally = { runs: 0, undos: 0, yjs794: 0 };
  afterAll(() => {
    console.info(`undo-relay fuzz: ${tally.runs} runs, ${tally.undos} undo/redo steps, ${tally.yjs794} run(s) hit yjs#794`);
  });

  it(
    `${RUNS} generated runs (seed ${SEED}): after the relay has delivered everything, the three replicas are one document`,
    () => {
      fc.assert(
        fc.property(scenario, ({ ops, captureTimeout, flushSeed }) => {
          const state = baseState();
          const replicas = Array.from({ length: CLIENTS }, (_, i) => replica(i, state, captureTimeout));
          const relay = new Relay(replicas);
          for (const o of ops) {
            if (o.t === 'undo' || o.t === 'redo') tally.undos++;
            apply(replicas[o.c]!, o, relay);
          }
          relay.flush(flushSeed);
          tally.runs++;
          if (expectConverged(replicas)) tally.yjs794++;
          for (const r of replicas) r.doc.destroy();
        }),
        { seed: SEED, numRuns: RUNS },
      );
    },
    Math.max(30_000, RUNS * 500),
  );

  it('a relay that forwards only the edit origin loses undo: the UndoManager writes with origin = itself', () => {
    const state = baseState();
    const [a, b] = [replica(0, state, 0), replica(1, state, 0)];
    const forwardEditsOnly = (from: Replica, to: Replica) =>
      from.doc.on('update', (u: Uint8Array, origin: unknown) => {
        if (origin === from.origin) Y.applyUpdate(to.doc, u, REMOTE);
      });
    forwardEditsOnly(a, b);
    forwardEditsOnly(b, a);
    const text = texts(a.fragment)[0]!;
    a.doc.transact(() => text.insert(0, 'Oh! '), a.origin);
    expect(content(b.doc)).toBe(content(a.doc));
    a.undo.undo();
    expect(a.fragment.toString()).toContain('Hello ');
    expect(b.fragment.toString()).toContain('Oh! Hello ');
    expect(content(b.doc)).not.toBe(content(a.doc));
  });

  it('applying a remote update can make Yjs write a formatting cleanup of its own (origin null) that must be relayed', () => {
    const state = baseState();
    const [a, b] = [replica(0, state, 0), replica(1, state, 0)];
    // "Hello **world**": concurrently a erases "rld" and b un-bolds "or".
    a.doc.transact(() => texts(a.fragment)[0]!.delete(8, 3), a.origin);
    b.doc.transact(() => texts(b.fragment)[0]!.format(7, 2, { bold: null }), b.origin);
    const emitted: [string, unknown, Uint8Array][] = [];
    a.doc.on('update', (u: Uint8Array, origin: unknown) => emitted.push(['a', origin, u]));
    b.doc.on('update', (u: Uint8Array, origin: unknown) => emitted.push(['b', origin, u]));
    const ua = Y.encodeStateAsUpdate(a.doc, Y.encodeStateVector(b.doc));
    const ub = Y.encodeStateAsUpdate(b.doc, Y.encodeStateVector(a.doc));
    Y.applyUpdate(b.doc, ua, REMOTE);
    Y.applyUpdate(a.doc, ub, REMOTE);
    // b, applying a's erase, deleted the formatting markers left around nothing in a transaction of its own.
    expect(emitted.map(([who, origin]) => [who, origin])).toEqual([
      ['b', REMOTE],
      ['b', null],
      ['a', REMOTE],
    ]);
    expect(content(a.doc)).toBe(content(b.doc));
    expect(Y.equalSnapshots(Y.snapshot(a.doc), Y.snapshot(b.doc)), 'a still holds the markers b deleted').toBe(false);
    Y.applyUpdate(a.doc, emitted[1]![2], REMOTE);
    expect(Y.equalSnapshots(Y.snapshot(a.doc), Y.snapshot(b.doc))).toBe(true);
  });

  // https://github.com/yjs/yjs/issues/794 (open; fix proposed in yjs/yjs#796 for v13, #795 for main):
  // undo restoring a deleted paragraph recreates "y" with origin = "x" and right origin = "x".
  // The undoing replica shows "ax1y"; every other replica, and any fresh load of the state, "ayx1".
  // Yjs 13.6.33. When this starts passing, drop the it.fails and the tolerance in expectConverged.
  it.fails('yjs#794: undo of a paragraph deletion after undo+redo of typing reorders its text on every other replica', () => {
    const local = new Y.Doc();
    local.clientID = 1;
    const remote = new Y.Doc();
    remote.clientID = 2;
    local.on('update', (u: Uint8Array) => Y.applyUpdate(remote, u, REMOTE));
    const fragment = local.getXmlFragment('default');
    const editor = { client: 'local' };
    const undo = new Y.UndoManager(fragment, { trackedOrigins: new Set([editor]), captureTimeout: 0 });
    const p = new Y.XmlElement('paragraph');
    const text = new Y.XmlText('a');
    p.insert(0, [text]);
    fragment.insert(0, [p]);

    local.transact(() => text.insert(1, 'xy'), editor); // "axy"
    undo.undo(); // "a"
    undo.redo(); // "axy"
    local.transact(() => text.insert(2, '1'), editor); // "ax1y"
    local.transact(() => fragment.delete(0, 1), editor); // paragraph deleted
    undo.undo(); // paragraph restored

    expect(fragment.toString()).toBe('<paragraph>ax1y</paragraph>');
    expect(Y.equalSnapshots(Y.snapshot(local), Y.snapshot(remote))).toBe(true);
    expect(remote.getXmlFragment('default').toString()).toBe('<paragraph>ax1y</paragraph>'); // is "ayx1"
  });
});
