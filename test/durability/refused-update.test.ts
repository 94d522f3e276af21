/**
 * A row the database refuses for good (here: a trigger raising check_violation for one
 * document) is answered with SyncStatus 0 to its sender — and nothing else stalls: the
 * acks behind it on the same socket, other documents and other clients carry on.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { step1Frame, updateFrame } from '../helpers/frames.js';
import { RawClient, textUpdate } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait.js';

let database: TestDatabase;
let server: RunningServer;

beforeAll(async () => {
  database = await createTestDatabase('refused');
  server = await startServer({
    config: { port: 0, host: '127.0.0.1', databaseUrl: database.url, storage: 'durable', transport: 'uws', logLevel: 'silent' },
  });
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query(`
      create function refuse_rejected() returns trigger language plpgsql as $$
      begin
        if exists (select 1 from documents where id = new.document_id and name like 'rejected%') then
          raise exception 'refused by policy' using errcode = '23514';
        end if;
        return new;
      end $$;
      create trigger refuse_rejected before insert on collaborations for each row execute function refuse_rejected();`);
  } finally {
    await client.end();
  }
});

afterAll(async () => {
  RawClient.terminateAll();
  await server.close();
  await database.drop();
});

const acks = (client: RawClient, name: string) => client.acks(name);

describe('an update the database refuses for good', () => {
  it('gets SyncStatus 0; the acks behind it on the socket, other documents and other clients carry on', async () => {
    const a = await RawClient.connect(server.port);
    await a.join('rejected');
    await a.join('fine');
    const b = await RawClient.connect(server.port);
    await b.join('fine');

    a.send(updateFrame('rejected', textUpdate(a.doc('rejected'), 'never stored')));
    a.send(updateFrame('fine', textUpdate(a.doc('fine'), 'stored;')));
    b.send(updateFrame('fine', textUpdate(b.doc('fine'), 'also;')));

    await waitFor(() => acks(a, 'rejected').length === 1 && acks(a, 'fine').length === 1, 10_000, 'both acks on the first socket');
    expect(acks(a, 'rejected')).toEqual([0]);
    expect(acks(a, 'fine')).toEqual([1]);
    await waitFor(() => acks(b, 'fine').length === 1, 10_000, 'ack on the second socket');
    expect(acks(b, 'fine')).toEqual([1]);

    // The document keeps working for what the database accepts, and nothing is left pending.
    a.send(updateFrame('fine', textUpdate(a.doc('fine'), 'more;')));
    await waitFor(() => acks(a, 'fine').length === 2, 10_000, 'next ack');
    expect(acks(a, 'fine')).toEqual([1, 1]);
    expect(server.metrics.counters.connectionsOpen).toBe(2);
    const stats = (await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text()).split('\n');
    expect(stats.find((line) => line.startsWith('scriptorium_storage_refused_updates_total '))).toBe(
      'scriptorium_storage_refused_updates_total 1',
    );
    expect(stats.find((line) => line.startsWith('scriptorium_storage_pending_updates '))).toBe('scriptorium_storage_pending_updates 0');
  });

  it('closes a y-websocket client whose update was refused (it has no acks) with a reason', async () => {
    const y = await RawClient.connect(server.port, '/y/rejected-y');
    y.send(step1Frame(null, new Uint8Array([0])));
    await waitFor(() => y.frames.length > 0, 5_000, 'server sync');
    y.send(updateFrame(null, textUpdate(y.doc(null), 'never stored')));
    const closed = await y.waitClose(10_000);
    expect(closed.code).toBe(1011);
    expect(closed.reason).toBe('an update could not be stored');
  });
});
