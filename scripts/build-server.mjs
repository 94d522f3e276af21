#!/usr/bin/env node
/**
 * `npm run build`: type-checks and compiles the server, the benchmarks and the command-line
 * tools (`tsc -p tsconfig.json` into dist/) unless dist/ is already the build of the current
 * sources (scripts/build-stamp.mjs). `--force` always compiles.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ROOT, filesUnder, isCurrent, recordBuild } from './build-stamp.mjs';

const STAMP = 'server';
const TSCONFIG = path.join(ROOT, 'tsconfig.json');
/** The entry point `npm start` runs: without it there is nothing to start. */
export const SERVER_ENTRY = path.join(ROOT, 'dist', 'server', 'main.js');
/** A pattern of tsconfig.json's "include" this check understands: `<folder>/**\/*.ts`. */
const FOLDER_OF_TS = /^([\w./-]+)\/\*\*\/\*\.ts$/;

/**
 * What tsc compiles (tsconfig.json's "include") and what changes how: the compiler options, the
 * package's module type, the installed versions. Null when tsconfig.json says something this
 * check does not understand: then every start builds, which is slow but never wrong.
 * @returns {string[] | null}
 */
function serverInputs() {
  let include;
  try {
    include = JSON.parse(readFileSync(TSCONFIG, 'utf8')).include;
  } catch {
    return null;
  }
  if (!Array.isArray(include)) return null;
  const sources = [];
  for (const pattern of include) {
    const folder = FOLDER_OF_TS.exec(String(pattern))?.[1];
    if (!folder) return null;
    sources.push(...filesUnder(path.join(ROOT, folder), ['.ts']));
  }
  return [...sources, TSCONFIG, path.join(ROOT, 'package.json'), path.join(ROOT, 'package-lock.json')];
}

/**
 * Compiles unless dist/ is current; returns the exit status (tsc's when it ran).
 * @param {{ force?: boolean }} [options]
 * @returns {number}
 */
export function buildServerIfStale({ force = false } = {}) {
  const inputs = serverInputs();
  if (!force && inputs && isCurrent(STAMP, { inputs, outputs: [SERVER_ENTRY] })) return 0;
  const startedAt = Date.now();
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', TSCONFIG], { stdio: 'inherit', cwd: ROOT });
  const status = result.status ?? 1;
  // Listed again after the build: a file added while tsc ran is then an input it may have missed.
  const built = serverInputs();
  if (status === 0 && built) recordBuild(STAMP, built, startedAt);
  return status;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let force = false;
  try {
    const { values } = parseArgs({ options: { force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) {
      process.stdout.write('usage: npm run build [-- --force]\n\nCompiles the server, the benchmarks and the command-line tools into dist/ unless dist/\nis already the build of the current sources. --force: compile anyway.\n');
      process.exit(0);
    }
    force = values.force ?? false;
  } catch (error) {
    process.stderr.write(`npm run build: ${error instanceof Error ? error.message : String(error)} (try --help)\n`);
    process.exit(2);
  }
  process.exit(buildServerIfStale({ force }));
}
