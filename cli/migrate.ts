#!/usr/bin/env node
/**
 * `npm run migrate -- up | down [n] | status` (`--help` for the details).
 * Uses DATABASE_URL when set, otherwise the embedded PGlite in DATA_DIR (./data).
 */
import { parseCli } from '../server/command-line.js';
import { openDb } from '../server/persistence/db.js';
import { migrateDown, migrateUp, migrationStatus } from '../server/persistence/migrations.js';

const COMMANDS = ['up', 'down', 'status'] as const;

async function main(argv: readonly string[]): Promise<number> {
  const cli = parseCli({
    command: 'npm run migrate --',
    synopsis: 'up | down [n] | status',
    summary: `Applies or rolls back the schema migrations in schema/migrations (the server also applies
pending ones at start). Uses DATABASE_URL when set, otherwise the embedded PGlite in DATA_DIR.`,
    arguments: [
      {
        name: 'command',
        description:
          'up: apply every pending migration\ndown: roll back the newest n migrations\nstatus: list the migrations and when each was applied (default)',
      },
      { name: 'n', description: 'with down: how many migrations to roll back (default: 1)' },
    ],
    environment: [
      { name: 'DATABASE_URL', description: 'PostgreSQL connection string (postgres://user@host:5432/db)' },
      { name: 'DATA_DIR', description: 'PGlite data folder when DATABASE_URL is unset (default: ./data)' },
    ],
    argv,
  });
  const [rawCommand, arg] = cli.positionals;
  const command =
    rawCommand === undefined
      ? 'status'
      : (COMMANDS.find((known) => known === rawCommand) ?? cli.fail(`unknown command '${rawCommand}': expected up, down or status`));
  if (command !== 'down' && arg !== undefined) cli.fail(`${command} takes no argument, got '${arg}'`);
  const steps = cli.number(arg, 'n', { integer: true, min: 1 }) ?? 1;

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
