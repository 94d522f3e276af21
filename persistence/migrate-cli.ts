#!/usr/bin/env node
/**
 * `npm run migrate -- up | down [n] | status`
 * Uses DATABASE_URL when set, otherwise the embedded PGlite in DATA_DIR (./data).
 */
import { openDb } from './db.js';
import { migrateDown, migrateUp, migrationStatus } from './migrations.js';

const USAGE = 'usage: npm run migrate -- up | down [n] | status';

async function main(argv: readonly string[]): Promise<number> {
  const [command = 'status', arg] = argv;
  if (!['up', 'down', 'status'].includes(command)) {
    console.error(USAGE);
    return 2;
  }
  const steps = arg === undefined ? 1 : Number(arg);
  if (command === 'down' && (!Number.isInteger(steps) || steps < 1)) {
    console.error(`down expects a positive integer, got ${arg}\n${USAGE}`);
    return 2;
  }

  const db = await openDb({ databaseUrl: process.env.DATABASE_URL, dataDir: process.env.DATA_DIR ?? './data' });
  try {
    if (command === 'up') {
      const applied = await migrateUp(db);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date');
    } else if (command === 'down') {
      const rolledBack = await migrateDown(db, steps);
      console.log(rolledBack.length ? `rolled back: ${rolledBack.join(', ')}` : 'nothing to roll back');
    } else {
      for (const entry of await migrationStatus(db)) {
        const state = entry.appliedAt ? `applied ${entry.appliedAt.toISOString()}` : 'pending';
        const note = entry.missingFile ? ' (file missing)' : '';
        console.log(`${String(entry.version).padStart(3, '0')} ${entry.description.padEnd(24)} ${state}${note}`);
      }
    }
    return 0;
  } finally {
    await db.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
