/**
 * Who created and who last changed each node of a research tree. A node is the entry of its
 * id in the `nodes` map: its creator is the author of that entry's item. Its latest change is
 * the newest, by stored time, of: that item, the items of its fields (a field set), the
 * removal of a field, and the same inside a field that is a shared type (a Y.Text title).
 */
import * as Y from 'yjs';
import { NODES_MAP, renderTree } from '../research-trees/render.js';
import { UNKNOWN_AUTHOR, type AuthorIdentities, type AuthorIdentity } from './author-identities.js';
import type { AuthorshipIndex } from './authorship-index.js';
import type { TreeBlame, TreeNodeBlame } from './authorship-types.js';

interface Change {
  readonly at: number;
  readonly identity: AuthorIdentity;
}

/** How deep shared types inside a node are searched (a field's Y.Text is one level). */
const MAX_DEPTH = 4;

export function treeBlame(doc: Y.Doc, index: AuthorshipIndex, identities: AuthorIdentities): TreeBlame {
  const nodes = doc.getMap<unknown>(NODES_MAP);
  const changeOf = (item: Y.Item): Change => {
    const { client, clock } = item.id;
    if (item.deleted) {
      const deletion = index.deletionOf(client, clock);
      if (deletion !== null) return { at: deletion.at, identity: identities.ofSender(deletion.sender) };
      return { at: Number.NEGATIVE_INFINITY, identity: UNKNOWN_AUTHOR };
    }
    return { at: index.storedAt(client, clock) ?? Number.NEGATIVE_INFINITY, identity: identities.ofClient(client) };
  };
  const latestIn = (type: Y.AbstractType<unknown>, depth: number, best: Change): Change => {
    let latest = best;
    const consider = (item: Y.Item): void => {
      const change = changeOf(item);
      if (change.at > latest.at) latest = change;
      if (!item.deleted && depth < MAX_DEPTH && item.content instanceof Y.ContentType)
        latest = latestIn(item.content.type, depth + 1, latest);
    };
    for (const item of type._map.values()) consider(item);
    for (let item = type._start; item !== null; item = item.right) consider(item);
    return latest;
  };
  return {
    nodes: renderTree(doc).nodes.map((node): TreeNodeBlame => {
      const item = nodes._map.get(node.id);
      if (item === undefined) return { id: node.id, createdBy: null, createdByName: null, lastEditedBy: null, lastEditedByName: null };
      const created = changeOf(item);
      const last = item.content instanceof Y.ContentType ? latestIn(item.content.type, 1, created) : created;
      return {
        id: node.id,
        createdBy: created.identity.userId,
        createdByName: created.identity.name,
        lastEditedBy: last.identity.userId,
        lastEditedByName: last.identity.name,
      };
    }),
  };
}
