#!/usr/bin/env node
/**
 * `npm run build`: type-checks and compiles the server, the benchmarks and the command-line
 * tools (`tsc -p tsconfig.json` into dist/) unless dist/ is already the build of the current
 * sources (scripts/build-stamp.mjs). tsc runs incrementally, so after an edit it checks again
 * what the edit can affect rather than everything. `--force` compiles everything.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ROOT, filesUnder, isCurrent, recordBuild } from './build-stamp.mjs';
import { runNode } from './run-node.mjs';

const STAMP = 'server';
const TSCONFIG = path.join(ROOT, 'tsconfig.json');
/** What tsc remembers between builds; in dist/, so it goes when the output goes. */
const BUILD_INFO = path.join(ROOT, 'dist', 'build-stamps', 'server.tsbuildinfo');
/** The entry point `npm start` runs. */
export const SERVER_ENTRY = path.join(ROOT, 'dist', 'server', 'main.js');
/** A pattern of tsconfig.json's "include" this check understands: `<folder>/**\/*.ts`. */
const FOLDER_OF_TS = /^([\w./-]+)\/\*\*\/\*\.ts$/;

/**
 * @typedef {object} ServerBuild
 * @property {string[]} inputs  what tsc compiles and what changes how: the sources, the compiler
 *                              options, the package's module type, the installed versions
 * @property {string[]} outputs the JavaScript file of every source
 */

/**
 * The build tsconfig.json describes ("include", "outDir", "rootDir"). Null when it says
 * something this check does not understand: then every start builds, slow but never wrong.
 * @returns {ServerBuild | null}
 */
function serverBuild() {
  let config;
  try {
    config = JSON.parse(readFileSync(TSCONFIG, 'utf8'));
  } catch {
    return null;
  }
  const { include, compilerOptions } = config ?? {};
  if (!Array.isArray(include) || typeof compilerOptions?.outDir !== 'string' || typeof compilerOptions?.rootDir !== 'string') return null;
  const outDir = path.resolve(ROOT, compilerOptions.outDir);
  const rootDir = path.resolve(ROOT, compilerOptions.rootDir);
  const sources = [];
  for (const pattern of include) {
    const folder = FOLDER_OF_TS.exec(String(pattern))?.[1];
    if (!folder) return null;
    sources.push(...filesUnder(path.join(ROOT, folder), ['.ts']));
  }
  const outputs = sources
    .filter((source) => !source.endsWith('.d.ts'))
    .map((source) => path.join(outDir, path.relative(rootDir, source)).replace(/\.ts$/, '.js'));
  return { inputs: [...sources, TSCONFIG, path.join(ROOT, 'package.json'), path.join(ROOT, 'package-lock.json')], outputs };
}

/**
 * Compiles unless dist/ is current; resolves with the exit status (tsc's when it ran).
 * @param {{ force?: boolean }} [options]
 * @returns {Promise<number>}
 */
export async function buildServerIfStale({ force = false } = {}) {
  const build = serverBuild();
  if (!force && build && isCurrent(STAMP, { inputs: build.inputs, outputs: [SERVER_ENTRY, ...build.outputs] })) return 0;
  // tsc's memory of the last build does not notice deleted output: without all of it, compile everything.
  if (force || !build || !build.outputs.every((output) => existsSync(output))) rmSync(BUILD_INFO, { force: true });
  const startedAt = Date.now();
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const status = await runNode(tsc, ['-p', TSCONFIG, '--incremental', '--tsBuildInfoFile', BUILD_INFO]);
  // Listed again after the build: a file added while tsc ran is then an input it may have missed.
  const built = serverBuild();
  if (status === 0 && built) recordBuild(STAMP, built.inputs, startedAt);
  return status;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let force = false;
  try {
    const { values } = parseArgs({ options: { force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) {
      process.stdout.write(
        'usage: npm run build [-- --force]\n\nCompiles the server, the benchmarks and the command-line tools into dist/ unless dist/\nis already the build of the current sources. --force: compile everything anyway.\n',
      );
      process.exit(0);
    }
    force = values.force ?? false;
  } catch (error) {
    process.stderr.write(`npm run build: ${error instanceof Error ? error.message : String(error)} (try --help)\n`);
    process.exit(2);
  }
  process.exit(await buildServerIfStale({ force }));
}
