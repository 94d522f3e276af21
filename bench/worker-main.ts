/** Entry point of a forked loader worker: relays IPC messages to a LoadWorker. */
import { LoadWorker, type FromWorker, type ToWorker } from './worker.js';

const worker = new LoadWorker((msg: FromWorker) => process.send?.(msg));
process.on('message', (msg: ToWorker) => {
  void worker.handle(msg).then(() => {
    // Exit normally (not by a kill) so that --cpu-prof can write its profile.
    if (msg.type === 'close') setTimeout(() => process.exit(0), 50);
  });
});
// Exit with the coordinator: a stray worker must never outlive a bench run.
process.on('disconnect', () => process.exit(0));
