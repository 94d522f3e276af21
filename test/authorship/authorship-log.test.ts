/**
 * Reading the log for authorship, on PostgreSQL: a second read takes only what the first may
 * have missed, including a row whose transaction took its position before the first read but
 * committed after it (positions commit out of order), and the cached index then counts it.
 * A read after a compaction-style rewrite (the same updates as new rows) changes nothing. A
 * log longer than a page is read page by page, to its end.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as Y from 'yjs';
import { AwarenessNames } from '../../server/authorship/awareness-names.js';
import { Authorship } from '../../server/authorship/authorship.js';
import { LOG_PAGE_ROWS, readAuthorshipLog } from '../../server/authorship/authorship-log.js';
import type { Db, Queryable } from '../../server/persistence/db.js';
import { createUser } from '../../server/persistence/accounts.js';
import { createDocument, DEFAULT_PROJECT_ID } from '../../server/persistence/documents.js';
import { migrateUp } from '../../server/persistence/migrations.js';
import { createPgDb } from '../../server/persistence/pg-db.js';
import type { DocumentRef } from '../../server/persistence/storage.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { logger } from '../helpers/storage.js';

let database: TestDatabase;
let db: Db;
let document: DocumentRef;
/** Session → its user's id: one author per session. */
const users = new Map<string, string>();

beforeAll(async () => {
  database = await createTestDatabase('authlog');
  db = createPgDb({ connectionString: database.url, logger, max: 4 });
  await migrateUp(db);
  ({ document } = await createDocument(db, 'authorship/log', 'paper', DEFAULT_PROJECT_ID));
  for (const session of ['early', 'late', 'later', 'typist'])
    users.set(session, (await createUser(db, { email: `${session}@example.org`, name: session }))!.id);
});

afterAll(async () => {
  await db?.close();
  await database?.drop();
});

const insert = (q: Queryable, sessionId: string, update: Uint8Array) =>
  q.query<{ position: number }>(
    `insert into collaborations (document_id, user_id, session_id, update, size) values ($1, $2, $3, $4, $5) returning position`,
    [document.id, users.get(sessionId), sessionId, update, update.byteLength],
  );

/** A paragraph typed by one editor, as one update. */
function typed(text: string): Uint8Array {
  const doc = new Y.Doc();
  const paragraph = new Y.XmlElement('paragraph');
  paragraph.insert(0, [new Y.XmlText(text)]);
  doc.getXmlFragment('default').insert(0, [paragraph]);
  return Y.encodeStateAsUpdate(doc);
}

it('finds a row that committed after the read that passed its position', async () => {
  const authorship = new Authorship({ db, names: new AwarenessNames() });
  let reads: { since: unknown; rows: number }[] = [];
  const read = async (since: Parameters<typeof readAuthorshipLog>[2], fold: Parameters<typeof readAuthorshipLog>[3]) => {
    let rows = 0;
    const cursor = await readAuthorshipLog(db, document.id, since, (page) => {
      rows += page.length;
      fold(page);
    });
    reads.push({ since, rows });
    return cursor;
  };
  const sessions = (authors: { name: string | null; insertedChars: number }[]) =>
    Object.fromEntries(authors.map((author) => [author.name, author.insertedChars]));

  await insert(db, 'early', typed('early'));
  // A transaction takes a position and holds on; a later one commits first.
  let commitLate!: () => void;
  const held = new Promise<void>((resolve) => (commitLate = resolve));
  let lateInserted!: () => void;
  const inserted = new Promise<void>((resolve) => (lateInserted = resolve));
  const late = db.transaction(async (tx) => {
    await insert(tx, 'late', typed('late row'));
    lateInserted();
    await held;
  });
  await inserted;
  const { rows } = await insert(db, 'later', typed('later one'));
  expect(rows[0]!.position).toBeGreaterThan(0);

  expect(sessions(await authorship.authors(document, read, null))).toEqual({ early: 5, later: 9 });
  commitLate();
  await late;
  expect(sessions(await authorship.authors(document, read, null))).toEqual({ early: 5, late: 8, later: 9 });
  // The second read took only what the first missed: the late row (its transaction was running).
  expect(reads[0]).toEqual({ since: null, rows: 2 });
  expect(reads[1]).toEqual({ since: expect.objectContaining({ position: rows[0]!.position }), rows: 1 });

  // Compaction rewrites rows as merged copies of the same updates: counted once still.
  reads = [];
  const all = await db.query<{ update: Uint8Array; session_id: string }>(
    'select update, session_id from collaborations where document_id = $1',
    [document.id],
  );
  for (const row of all.rows) await insert(db, row.session_id, row.update);
  expect(sessions(await authorship.authors(document, read, null))).toEqual({ early: 5, late: 8, later: 9 });
  expect(reads[0]!.rows).toBeGreaterThanOrEqual(3);
});

it('reads a log of more rows than a page, one keystroke a row', async () => {
  const { document: typed } = await createDocument(db, 'authorship/keystrokes', 'paper', DEFAULT_PROJECT_ID);
  const doc = new Y.Doc();
  const updates: Uint8Array[] = [];
  doc.on('update', (update: Uint8Array) => updates.push(update));
  const text = new Y.XmlText();
  doc.transact(() => {
    const paragraph = new Y.XmlElement('paragraph');
    paragraph.insert(0, [text]);
    doc.getXmlFragment('default').insert(0, [paragraph]);
  });
  const keystrokes = Math.round(LOG_PAGE_ROWS * 2.5);
  for (let i = 0; i < keystrokes; i++) text.insert(text.length, 'x');
  await db.query(
    `insert into collaborations (document_id, user_id, session_id, update, size)
     select $1, $2, 'typist', u, octet_length(u) from unnest($3::bytea[]) as t(u)`,
    [typed.id, users.get('typist'), updates],
  );
  const pages: number[] = [];
  const authorship = new Authorship({ db, names: new AwarenessNames() });
  const authors = await authorship.authors(
    typed,
    (since, fold) =>
      readAuthorshipLog(db, typed.id, since, (page) => {
        pages.push(page.length);
        fold(page);
      }),
    null,
  );
  expect(authors.map(({ name, insertedChars }) => [name, insertedChars])).toEqual([['typist', keystrokes]]);
  expect(pages).toEqual([LOG_PAGE_ROWS, LOG_PAGE_ROWS, keystrokes + 1 - 2 * LOG_PAGE_ROWS]);
});
