import type * as Y from 'yjs';

type UpdateHandler = (update: Uint8Array, origin: unknown, doc: Y.Doc, transaction: Y.Transaction) => void;

/**
 * Yjs encodes every transaction as an update whenever anyone listens to `update`. The provider
 * listens, to send local edits, and ignores the transactions it applied itself (what the server
 * sent): for those, the encoding is thrown away — for the first sync of a large paper, the whole
 * document once more. This takes the provider's listener off for exactly those transactions: off
 * after the transaction's cleanup (just before Yjs would encode it), back on before the next
 * transaction's observers run and when all are done, so a local edit made by an observer while
 * the server's update is applied is still sent. Only Yjs's public events are used.
 * Returns the undo.
 */
export function skipEncodingOfOwnUpdates(doc: Y.Doc, origin: unknown, handler: UpdateHandler): () => void {
  let detached = false;
  const detach = (transaction: Y.Transaction) => {
    if (transaction.origin !== origin || detached) return;
    detached = true;
    doc.off('update', handler);
  };
  const reattach = () => {
    if (!detached) return;
    detached = false;
    doc.on('update', handler);
  };
  doc.on('afterTransactionCleanup', detach);
  doc.on('beforeObserverCalls', reattach);
  doc.on('afterAllTransactions', reattach);
  return () => {
    reattach();
    doc.off('afterTransactionCleanup', detach);
    doc.off('beforeObserverCalls', reattach);
    doc.off('afterAllTransactions', reattach);
  };
}
