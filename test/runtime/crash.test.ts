/**
 * A rejection no code handled is a bug: the entry point logs it at fatal, runs the
 * bounded shutdown (sockets closed, queued edits committed) and exits 70 — it neither
 * carries on in an unknown state nor dies without committing what it acknowledged.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { updateFrame } from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait.js';

const PRELOAD = path.resolve(import.meta.dirname, '..', 'fixtures', 'reject-later.mjs');
let child: ChildServer | null = null;

afterAll(async () => {
  RawClient.terminateAll();
  if (child?.process.exitCode === null) await child.kill9();
});

describe('an unhandled rejection', () => {
  it('is logged at fatal, the server shuts down gracefully and exits 70', async () => {
    child = await startChildServer({ STORAGE: 'memory' }, undefined, ['--import', PRELOAD]);
    const exited = new Promise<number | null>((resolve) => child!.process.on('exit', (code) => resolve(code)));
    const client = await RawClient.connect(child.port);
    await client.join('crash');
    client.send(updateFrame('crash', textUpdate(client.doc('crash'), 'acked before the crash')));
    await client.waitForFrame((f) => f.kind === 'syncStatus', 5_000, 'ack');
    child.process.kill('SIGUSR2');
    expect(await exited).toBe(70);
    expect((await client.waitClose()).code).toBe(1001);
    const log = child.output.join('');
    await waitFor(() => log.includes('injected unhandled rejection'), 1_000, 'the error in the log');
    const fatal = log.split('\n').find((line) => line.includes('"level":60'));
    expect(fatal).toContain('crashing: flushing accepted edits, then exiting');
    expect(fatal).toContain('unhandled rejection');
  }, 30_000);
});
