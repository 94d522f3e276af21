/** Entry point of a forked loader worker: relays IPC messages to a LoadWorker. */
import { LoadWorker, type FromWorker, type ToWorker } from './worker.js';

const worker = new LoadWorker((msg: FromWorker) => process.send?.(msg));
process.on('message', (msg: ToWorker) => {
  void worker.handle(msg).then(() => {
    if (msg.type === 'close') process.disconnect();
  });
});
// Exit with the coordinator: a stray worker must never outlive a bench run.
process.on('disconnect', () => process.exit(0));
