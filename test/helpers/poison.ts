/**
 * A Yjs update that decodes cleanly but throws while being integrated into a document
 * holding `poisonBase()` (found by mutating a valid update): the rare input that breaks
 * a Y.Doc halfway through an apply.
 */
import * as Y from 'yjs';

/** The document state the poison is aimed at (deterministic: client id 1). */
export function poisonBase(): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = 1;
  doc.getText('t').insert(0, 'hello');
  doc.getMap('m').set('k', new Y.Map());
  doc.getXmlFragment('default').insert(0, [new Y.XmlElement('p')]);
  const state = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return state;
}

export const POISON_UPDATE = new Uint8Array(
  Buffer.from('01040200c40101010202585928000105017a017d0107000106060400027d0268690101010001', 'hex'),
);
