/**
 * One cold load, in a process of its own (the storage bench runs it): what a restarted server's
 * first `storage.load` of a document costs with nothing warmed up. Prints one JSON line:
 * { loadMs (find + load), cpuMs (this process's CPU in that time), stateBytes, applyMs (a Y.Doc built from the state afterwards, as a
 * room does), stateVector (base64), text (length of the paper fragment's XML), merge and
 * tailRows (how the load merged the log's tail, read again after the timed load) }.
 *
 * Usage: node dist/bench/storage-cold-load.js <postgres-url> <document-name>
 */
import pino from 'pino';
import * as Y from 'yjs';
import { parseCli } from '../server/command-line.js';
import { loadDocumentState } from '../server/persistence/compaction.js';
import { createPgDb } from '../server/persistence/pg-db.js';
import { DurableStorage } from '../server/persistence/durable-storage.js';

async function main(): Promise<void> {
  const cli = parseCli({
    command: 'node dist/bench/storage-cold-load.js',
    summary: `One cold load of a document, in a process of its own (the storage bench runs it): find and
load through DurableStorage with nothing warmed up, then a Y.Doc built from the state. Prints
one JSON line (loadMs, cpuMs, stateBytes, applyMs, stateVector, text, merge, tailRows).`,
    arguments: [
      { name: 'postgres-url', description: 'the database holding the document' },
      { name: 'document-name', description: 'the document to load' },
    ],
  });
  const [url, name] = cli.positionals;
  if (!url || !name || cli.positionals.length > 2) cli.fail('expects <postgres-url> <document-name>');
  const logger = pino({ level: 'warn' });
  const db = createPgDb({ connectionString: url, logger });
  // No background compaction: the load alone is measured.
  const storage = new DurableStorage(db, { logger, compactOnRelease: false });
  // The pool's first connection is part of a server's start, not of a document's load.
  await db.query('select 1');
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const ref = await storage.find(name);
  if (!ref) throw new Error(`no document ${name}`);
  const loaded = await storage.load(ref);
  const loadMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const t1 = performance.now();
  const doc = new Y.Doc();
  if (loaded.state) Y.applyUpdate(doc, loaded.state);
  const applyMs = performance.now() - t1;
  const again = await loadDocumentState(db, ref.id, 0);
  await storage.close(10_000);
  await db.close();
  process.stdout.write(
    `${JSON.stringify({
      loadMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      stateBytes: loaded.state?.byteLength ?? 0,
      applyMs,
      stateVector: Buffer.from(Y.encodeStateVector(doc)).toString('base64'),
      text: doc.getXmlFragment('default').toString().length,
      merge: again?.merge ?? null,
      tailRows: again?.tailRows ?? null,
    })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
