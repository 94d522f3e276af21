import { it } from 'vitest';
import { openStorage } from '../../persistence/open-storage.js';
import { createTestDatabase, logger } from './helpers.js';
it('explain', async () => {
  const database = await createTestDatabase('explain');
  const { db, storage } = await openStorage({ databaseUrl: database.url, dataDir: 'unused', logger });
  try {
    const docs = [];
    for (let i = 0; i < 50; i++) docs.push((await storage.create(`d${i}`, { kind: 'paper' })).id);
    await db.query(`insert into collaborations (document_id, session_id, update, size)
      select ($1::uuid[])[1 + (g % 50)], 's', '\\x00'::bytea, 1 from generate_series(1, 200000) g`, [docs]);
    await db.query(`update collaborations set quarantined = true where position % 10007 = 0`);
    await db.exec('analyze collaborations');
    const d = docs[3];
    const { rows } = await db.query<{ 'QUERY PLAN': string }>(`explain analyze
     select position, tx, update, quarantined from collaborations where document_id = $1 and position > $2 and tx < $4
     union all select position, tx, update, quarantined from collaborations where document_id = $1 and position <= $2 and tx >= $3 and tx < $4
     union all select position, tx, update, quarantined from collaborations where document_id = $1 and quarantined and position <= $2 and tx < $3 and tx < $4
     order by position`, [d, 190000, 2 ** 40, 2 ** 41]);
    console.log(rows.map((r) => r['QUERY PLAN']).join('\n'));
  } finally {
    await storage.close(5000);
    await database.drop();
  }
}, 60000);
