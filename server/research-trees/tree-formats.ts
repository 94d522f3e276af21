/**
 * A research tree in the content formats (docs/contracts.md "Programmable documents"): `json` is the
 * rendered forest `{nodes, edges, roots}` (render.ts), `markdown` a nested list of the node
 * titles (status in italics) followed by the edges, written by the paper's Markdown writer
 * so its escaping holds for titles too.
 * Pure.
 */
import type { Node as ModelNode } from 'prosemirror-model';
import { paperToMarkdown } from '../documents/formats/markdown-export.js';
import { paperSchema } from '../documents/formats/paper-schema.js';
import type { TreeContent, TreeNodeView } from './render.js';

/**
 * Lists nest at most this deep; deeper nodes are listed, in outline order, at this depth.
 * Markdown readers stop nesting near there anyway, and it bounds the recursion.
 */
export const MAX_MARKDOWN_LIST_DEPTH = 16;

const { nodes, marks } = paperSchema;

/** The tree as Markdown (empty for an empty tree). */
export function treeToMarkdown(tree: TreeContent): string {
  const views = new Map(tree.nodes.map((node) => [node.id, node]));
  const blocks: ModelNode[] = [];
  if (tree.roots.length > 0) blocks.push(list(tree.roots.map((id) => item(views, views.get(id)!, 1))));
  if (tree.edges.length > 0) {
    blocks.push(nodes.paragraph!.create(null, [paperSchema.text('Edges', [marks.bold!.create()])]));
    blocks.push(
      list(
        tree.edges.map((edge) =>
          nodes.listItem!.create(null, [
            paragraph([
              ...titleText(views.get(edge.from)!),
              paperSchema.text(' → '),
              ...titleText(views.get(edge.to)!),
              paperSchema.text(` (${edge.type})`, [marks.italic!.create()]),
            ]),
          ]),
        ),
      ),
    );
  }
  return paperToMarkdown(blocks);
}

function item(views: ReadonlyMap<string, TreeNodeView>, node: TreeNodeView, depth: number): ModelNode {
  const label = [...titleText(node)];
  if (node.status !== null && node.status !== '')
    label.push(paperSchema.text(' '), paperSchema.text(`(${node.status})`, [marks.italic!.create()]));
  const content: ModelNode[] = [paragraph(label)];
  if (node.children.length > 0) {
    const children =
      depth < MAX_MARKDOWN_LIST_DEPTH ? node.children.map((id) => item(views, views.get(id)!, depth + 1)) : descendantsFlat(views, node);
    content.push(list(children));
  }
  return nodes.listItem!.create(null, content);
}

/** Every descendant of `node` as a flat list of items, in outline order (no recursion). */
function descendantsFlat(views: ReadonlyMap<string, TreeNodeView>, node: TreeNodeView): ModelNode[] {
  const items: ModelNode[] = [];
  const stack = [...node.children].reverse();
  while (stack.length > 0) {
    const view = views.get(stack.pop()!)!;
    const label = [...titleText(view)];
    if (view.status !== null && view.status !== '')
      label.push(paperSchema.text(' '), paperSchema.text(`(${view.status})`, [marks.italic!.create()]));
    items.push(nodes.listItem!.create(null, [paragraph(label)]));
    for (let i = view.children.length - 1; i >= 0; i--) stack.push(view.children[i]!);
  }
  return items;
}

function titleText(node: TreeNodeView): ModelNode[] {
  const title = node.title.replace(/[\r\n]+/g, ' ');
  return title === '' ? [] : [paperSchema.text(title)];
}

function paragraph(content: readonly ModelNode[]): ModelNode {
  return nodes.paragraph!.create(null, content);
}

function list(items: readonly ModelNode[]): ModelNode {
  return nodes.bulletList!.create(null, items);
}
