import {
  createNode,
  deleteNode,
  moveNode,
  renameNode,
  reorderNode,
  setStatus,
  TreeOperationError,
} from '../../../../server/research-trees/operations.js';
import { EDGES_MAP, NODES_MAP, renderTree, type TreeContent, type TreeNodeView } from '../../../../server/research-trees/render.js';
import type { DocumentConnection } from '../collab/document-connection.js';
import { h } from '../element.js';
import { initials } from '../session/identity.js';

export const STATUSES = ['open', 'in progress', 'supported', 'refuted', 'done'] as const;

/** Alt+arrow: move among siblings, indent under the previous sibling, outdent after the parent. */
const ALT_ACTIONS: Readonly<Record<string, 'up' | 'down' | 'indent' | 'outdent'>> = {
  ArrowUp: 'up',
  ArrowDown: 'down',
  ArrowRight: 'indent',
  ArrowLeft: 'outdent',
};

/** Where a dragged node lands relative to the node under the pointer. */
type DropPlace = 'before' | 'inside' | 'after';

/**
 * The research-tree editor: the shared rendering rule (server/research-trees/, the
 * same module the server renders with) drawn as an ARIA tree ("Research tree", one treeitem
 * per node named by its title), live for everyone. Keyboard: arrows move, Enter/F2 rename,
 * Insert adds, Alt+arrows move/indent/outdent, Delete removes; nodes can also be dragged.
 * Other people's focused node shows their initials.
 */
export function createTreeEditor(connection: DocumentConnection): {
  element: HTMLElement;
  setEditable(editable: boolean): void;
  destroy(): void;
} {
  const doc = connection.doc;
  let tree: TreeContent = renderTree(doc);
  let views = new Map<string, TreeNodeView>();
  let selected: string | null = null;
  let renaming: string | null = null;
  let editable = false;
  let dragging: string | null = null;
  const collapsed = new Set<string>();

  const treeList = h('ul', { role: 'tree', 'aria-label': 'Research tree', class: 'tree' });
  const status = h(
    'select',
    { class: 'status-select', 'aria-label': 'Status' },
    h('option', { value: '' }, 'No status'),
    ...STATUSES.map((value) => h('option', { value }, value)),
  );
  const tool = (label: string, run: () => void, shortcut: string) => {
    const button = h('button', { type: 'button', class: 'button small', title: `${label} (${shortcut})` }, label);
    button.addEventListener('click', () => {
      run();
      // Back to the node, unless the action opened its title for editing.
      if (renaming === null) focusSelected();
    });
    return button;
  };
  const toolbar = h(
    'div',
    { role: 'toolbar', 'aria-label': 'Tree actions', class: 'tree-toolbar' },
    tool('Add node', () => addAfter(), 'Insert'),
    tool('Add child', () => addChild(), 'Shift+Insert'),
    tool('Rename', () => selected && startRename(selected), 'F2'),
    tool('Indent', () => indent(), 'Alt+→'),
    tool('Outdent', () => outdent(), 'Alt+←'),
    tool('Move up', () => shift(-1), 'Alt+↑'),
    tool('Move down', () => shift(1), 'Alt+↓'),
    tool('Delete', () => remove(), 'Delete'),
    h('label', { class: 'status-field' }, h('span', { 'aria-hidden': 'true' }, 'Status'), status),
  );
  const empty = h('div', { class: 'tree-empty' }, h('p', {}, 'This tree has no nodes yet.'));
  const help = h(
    'p',
    { class: 'tree-help' },
    'Arrows move between nodes · Enter renames · Insert adds · Alt+arrows move and indent · Delete removes (children move up)',
  );
  const element = h('div', { class: 'tree-sheet' }, toolbar, treeList, empty, help);

  status.addEventListener('change', () => {
    if (selected) run(() => setStatus(doc, selected!, status.value === '' ? null : status.value));
    focusSelected();
  });

  function run(operation: () => void): void {
    if (!editable) return;
    try {
      operation();
    } catch (error) {
      // A refused operation (e.g. a move into its own subtree) writes nothing; nothing to undo.
      if (!(error instanceof TreeOperationError)) throw error;
    }
  }

  function visibleIds(): string[] {
    const out: string[] = [];
    const walk = (ids: readonly string[]) => {
      for (const id of ids) {
        out.push(id);
        const view = views.get(id)!;
        if (view.children.length > 0 && !collapsed.has(id)) walk(view.children);
      }
    };
    walk(tree.roots);
    return out;
  }

  function select(id: string | null, focus = true): void {
    selected = id;
    connection.provider.setAwarenessField('treeFocus', id);
    for (const item of treeList.querySelectorAll<HTMLElement>('[role="treeitem"]')) {
      const mine = item.dataset.id === id;
      item.setAttribute('aria-selected', String(mine));
      item.tabIndex = mine ? 0 : -1;
    }
    syncToolbar();
    if (focus) focusSelected();
  }

  function focusSelected(): void {
    if (selected === null) return;
    treeList.querySelector<HTMLElement>(`[data-id="${CSS.escape(selected)}"]`)?.focus();
  }

  function syncToolbar(): void {
    const view = selected ? views.get(selected) : undefined;
    for (const button of toolbar.querySelectorAll('button'))
      button.disabled = !editable || (view === undefined && button.textContent !== 'Add node');
    status.disabled = !editable || view === undefined;
    status.value = view?.status ?? '';
  }

  function addAfter(): void {
    const view = selected ? views.get(selected) : undefined;
    let id: string | null = null;
    run(() => (id = createNode(doc, { title: '', parentId: view?.parentId ?? null, index: view ? view.index + 1 : undefined })));
    if (id) afterCreate(id);
  }

  function addChild(): void {
    if (!selected) return addAfter();
    const parent = selected;
    let id: string | null = null;
    run(() => (id = createNode(doc, { title: '', parentId: parent })));
    collapsed.delete(parent);
    if (id) afterCreate(id);
  }

  function afterCreate(id: string): void {
    draw();
    select(id);
    startRename(id);
  }

  function indent(): void {
    const view = selected ? views.get(selected) : undefined;
    if (!view || view.index === 0) return;
    const siblings = view.parentId === null ? tree.roots : views.get(view.parentId)!.children;
    const newParent = siblings[view.index - 1]!;
    run(() => moveNode(doc, view.id, newParent));
    collapsed.delete(newParent);
  }

  function outdent(): void {
    const view = selected ? views.get(selected) : undefined;
    if (!view || view.parentId === null) return;
    const parent = views.get(view.parentId)!;
    run(() => moveNode(doc, view.id, parent.parentId, parent.index + 1));
  }

  function shift(delta: number): void {
    const view = selected ? views.get(selected) : undefined;
    if (!view) return;
    const count = view.parentId === null ? tree.roots.length : views.get(view.parentId)!.children.length;
    const index = view.index + delta;
    if (index < 0 || index >= count) return;
    run(() => reorderNode(doc, view.id, index));
  }

  function remove(): void {
    const view = selected ? views.get(selected) : undefined;
    if (!view) return;
    const order = visibleIds();
    const next = order[order.indexOf(view.id) + 1] ?? order[order.indexOf(view.id) - 1] ?? null;
    run(() => deleteNode(doc, view.id, { children: 'lift' }));
    selected = view.children[0] ?? next;
  }

  function startRename(id: string): void {
    if (!editable) return;
    const item = treeList.querySelector<HTMLElement>(`[data-id="${CSS.escape(id)}"]`);
    const title = item?.querySelector<HTMLElement>(':scope > .node-row > .node-title');
    if (!item || !title) return;
    renaming = id;
    const input = h('input', { type: 'text', class: 'rename', 'aria-label': 'Title', value: views.get(id)?.title ?? '' });
    title.replaceWith(input);
    input.focus();
    input.select();
    let done = false;
    const finish = (save: boolean) => {
      if (done) return;
      done = true;
      renaming = null;
      if (save && input.value !== (views.get(id)?.title ?? '')) run(() => renameNode(doc, id, input.value.trim()));
      draw();
      select(id);
    };
    input.addEventListener('keydown', (event) => {
      event.stopPropagation();
      if (event.key === 'Enter') {
        event.preventDefault();
        finish(true);
      } else if (event.key === 'Escape') {
        event.preventDefault();
        finish(false);
      }
    });
    input.addEventListener('blur', () => finish(true));
  }

  /** Rebuilds the outline from the rendered tree (skipped while a title is being edited). */
  function draw(): void {
    if (renaming !== null) return;
    tree = renderTree(doc);
    views = new Map(tree.nodes.map((node) => [node.id, node]));
    if (selected !== null && !views.has(selected)) selected = null;
    const hadFocus = treeList.contains(document.activeElement);
    const focusOf = remoteFocus();
    const build = (ids: readonly string[], level: number): HTMLElement[] =>
      ids.map((id, position) => {
        const view = views.get(id)!;
        const open = !collapsed.has(id);
        const title = view.title.trim() === '' ? 'Untitled' : view.title;
        const chips = focusOf.get(id) ?? [];
        const item = h(
          'li',
          {
            role: 'treeitem',
            'aria-label': title,
            'aria-level': level,
            'aria-setsize': ids.length,
            'aria-posinset': position + 1,
            'aria-expanded': view.children.length > 0 ? String(open) : null,
            'aria-selected': String(id === selected),
            tabindex: id === selected ? '0' : '-1',
            'data-id': id,
            draggable: editable ? 'true' : null,
            class: `tree-node${view.repair ? ' repaired' : ''}`,
          },
          h(
            'div',
            { class: 'node-row' },
            h(
              'span',
              { class: `twisty${view.children.length === 0 ? ' leaf' : ''}`, 'aria-hidden': 'true', 'data-toggle': id },
              view.children.length === 0 ? '' : open ? '▾' : '▸',
            ),
            h('span', { class: `node-title${view.title.trim() === '' ? ' untitled' : ''}` }, title),
            view.status
              ? h('span', { class: `node-status status-${view.status.replace(/\W+/g, '-')}`, 'aria-hidden': 'true' }, view.status)
              : null,
            ...chips.map((person) =>
              h(
                'span',
                { class: 'focus-chip', style: `background-color: ${person.color}`, title: `${person.name} is here`, 'aria-hidden': 'true' },
                initials(person.name),
              ),
            ),
          ),
        );
        if (view.children.length > 0 && open) item.append(h('ul', { role: 'group' }, ...build(view.children, level + 1)));
        return item;
      });
    treeList.replaceChildren(...build(tree.roots, 1));
    empty.hidden = tree.nodes.length > 0;
    if (selected === null && tree.roots.length > 0) {
      // One item is always reachable with Tab (roving tabindex).
      const first = treeList.querySelector<HTMLElement>('[role="treeitem"]');
      if (first) first.tabIndex = 0;
    }
    syncToolbar();
    if (hadFocus) focusSelected();
  }

  /** Who else has which node focused (awareness field `treeFocus`). */
  function remoteFocus(): Map<string, { name: string; color: string }[]> {
    const out = new Map<string, { name: string; color: string }[]>();
    connection.provider.awareness?.getStates().forEach((state, clientId) => {
      if (clientId === doc.clientID) return;
      const focus = (state as Record<string, unknown>).treeFocus;
      const user = (state as Record<string, unknown>).user as { name?: unknown; color?: unknown } | undefined;
      if (typeof focus !== 'string' || typeof user?.name !== 'string') return;
      out.set(focus, [...(out.get(focus) ?? []), { name: user.name, color: typeof user.color === 'string' ? user.color : '#334155' }]);
    });
    return out;
  }

  treeList.addEventListener('click', (event) => {
    const target = event.target as HTMLElement;
    const toggle = target.closest<HTMLElement>('[data-toggle]');
    const item = target.closest<HTMLElement>('[role="treeitem"]');
    if (!item) return;
    if (toggle && item.contains(toggle) && toggle.closest('[role="treeitem"]') === item) {
      const id = item.dataset.id!;
      if (collapsed.has(id)) collapsed.delete(id);
      else collapsed.add(id);
      draw();
    }
    select(item.dataset.id!);
  });
  treeList.addEventListener('dblclick', (event) => {
    const item = (event.target as HTMLElement).closest<HTMLElement>('[role="treeitem"]');
    if (item) startRename(item.dataset.id!);
  });
  treeList.addEventListener('focusin', (event) => {
    const item = (event.target as HTMLElement).closest<HTMLElement>('[role="treeitem"]');
    if (item && item.dataset.id !== selected && event.target === item) select(item.dataset.id!, false);
  });

  treeList.addEventListener('keydown', (event) => {
    if (!(event.target instanceof HTMLElement) || event.target.getAttribute('role') !== 'treeitem') return;
    const id = event.target.dataset.id!;
    const view = views.get(id);
    if (!view) return;
    const order = visibleIds();
    const at = order.indexOf(id);
    const handled = () => event.preventDefault();
    if (event.altKey) {
      const action = ALT_ACTIONS[event.key];
      if (action === undefined) return;
      handled();
      if (action === 'up') shift(-1);
      else if (action === 'down') shift(1);
      else if (action === 'indent') indent();
      else outdent();
      return;
    }
    switch (event.key) {
      case 'ArrowDown':
        if (at + 1 < order.length) select(order[at + 1]!);
        return handled();
      case 'ArrowUp':
        if (at > 0) select(order[at - 1]!);
        return handled();
      case 'Home':
        select(order[0]!);
        return handled();
      case 'End':
        select(order[order.length - 1]!);
        return handled();
      case 'ArrowRight':
        if (view.children.length > 0 && collapsed.has(id)) {
          collapsed.delete(id);
          draw();
        } else if (view.children.length > 0) select(view.children[0]!);
        return handled();
      case 'ArrowLeft':
        if (view.children.length > 0 && !collapsed.has(id)) {
          collapsed.add(id);
          draw();
        } else if (view.parentId !== null) select(view.parentId);
        return handled();
      case 'Enter':
      case 'F2':
        startRename(id);
        return handled();
      case 'Insert':
        if (event.shiftKey) addChild();
        else addAfter();
        return handled();
      case 'Delete':
        remove();
        return handled();
    }
  });

  // Drag and drop: above the middle of a row → before, below → after, on its right part → inside.
  const placeOf = (event: DragEvent, row: HTMLElement): DropPlace => {
    const box = row.getBoundingClientRect();
    const y = (event.clientY - box.top) / box.height;
    if (y < 0.3) return 'before';
    if (y > 0.7) return 'after';
    return 'inside';
  };
  const clearDropMarks = () =>
    treeList
      .querySelectorAll('.drop-before, .drop-after, .drop-inside')
      .forEach((row) => row.classList.remove('drop-before', 'drop-after', 'drop-inside'));
  treeList.addEventListener('dragstart', (event) => {
    const item = (event.target as HTMLElement).closest<HTMLElement>('[role="treeitem"]');
    if (!item || !editable) return;
    dragging = item.dataset.id!;
    event.dataTransfer?.setData('text/plain', views.get(dragging)?.title ?? '');
    if (event.dataTransfer) event.dataTransfer.effectAllowed = 'move';
  });
  treeList.addEventListener('dragover', (event) => {
    const row = (event.target as HTMLElement).closest<HTMLElement>('.node-row');
    if (!row || dragging === null) return;
    event.preventDefault();
    clearDropMarks();
    row.classList.add(`drop-${placeOf(event, row)}`);
  });
  treeList.addEventListener('dragleave', clearDropMarks);
  treeList.addEventListener('dragend', () => {
    dragging = null;
    clearDropMarks();
  });
  treeList.addEventListener('drop', (event) => {
    const row = (event.target as HTMLElement).closest<HTMLElement>('.node-row');
    const target = row?.closest<HTMLElement>('[role="treeitem"]')?.dataset.id;
    const moving = dragging;
    clearDropMarks();
    dragging = null;
    if (!row || !target || moving === null || target === moving) return;
    event.preventDefault();
    dropAt(moving, target, placeOf(event, row));
  });

  function dropAt(moving: string, target: string, place: DropPlace): void {
    const node = views.get(moving)!;
    const over = views.get(target)!;
    if (place === 'inside') {
      run(() => moveNode(doc, moving, target));
      collapsed.delete(target);
    } else {
      // Indexes count the new siblings without the moved node.
      let index = over.index + (place === 'after' ? 1 : 0);
      if (node.parentId === over.parentId && node.index < over.index) index -= 1;
      run(() => moveNode(doc, moving, over.parentId, index));
    }
    select(moving);
  }

  // Live: redraw on any change of the shared tree, and when someone's focus moves.
  let frame = 0;
  const schedule = () => {
    if (frame !== 0) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      draw();
    });
  };
  const nodes = doc.getMap(NODES_MAP);
  const edges = doc.getMap(EDGES_MAP);
  nodes.observeDeep(schedule);
  edges.observeDeep(schedule);
  let focusSignature = '';
  const onAwareness = () => {
    const signature = JSON.stringify([...remoteFocus()]);
    if (signature !== focusSignature) {
      focusSignature = signature;
      schedule();
    }
  };
  connection.provider.awareness?.on('change', onAwareness);
  draw();

  return {
    element,
    setEditable(value) {
      if (value === editable) return;
      editable = value;
      toolbar.hidden = !value;
      help.hidden = !value;
      draw();
    },
    destroy() {
      if (frame !== 0) cancelAnimationFrame(frame);
      nodes.unobserveDeep(schedule);
      edges.unobserveDeep(schedule);
      connection.provider.awareness?.off('change', onAwareness);
    },
  };
}
