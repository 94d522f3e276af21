#!/usr/bin/env node
/**
 * `npm run build:web`: builds the browser app (vite build into clients/web/dist) unless that
 * is already the build of the current sources (scripts/build-stamp.mjs). The inputs are what
 * the last build bundled, recorded by the build itself: the app's files and every server/
 * module it imports, so a newly shared module needs no list here. `--force` always builds.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ROOT, isCurrent, recordBuild } from '../../scripts/build-stamp.mjs';

const WEB = path.dirname(fileURLToPath(import.meta.url));
const STAMP = 'web';
const CONFIG_FILE = path.join(WEB, 'vite.config.ts');
/** The page the server serves at `/`: without it there is no app. */
export const WEB_ENTRY = path.join(WEB, 'dist', 'index.html');
/** Inputs the bundle's module graph does not show: how it is built and which packages are installed. */
const BUILD_SETTINGS = [
  CONFIG_FILE,
  path.join(WEB, 'tsconfig.json'),
  path.join(ROOT, 'package.json'),
  path.join(ROOT, 'package-lock.json'),
];

/** True when clients/web/dist is the build of the current sources. */
export function webBuildIsCurrent() {
  return isCurrent(STAMP, { outputs: [WEB_ENTRY] });
}

/**
 * A build plugin that collects the files the bundle was made of (installed packages excluded:
 * package-lock.json stands for them).
 * @param {Set<string>} files
 * @returns {import('vite').Plugin}
 */
function recordSourceFiles(files) {
  return {
    name: 'scriptorium:record-source-files',
    buildEnd() {
      for (const id of this.getModuleIds()) {
        const file = id.split('?')[0] ?? '';
        if (path.isAbsolute(file) && !file.split(path.sep).includes('node_modules') && existsSync(file)) files.add(file);
      }
    },
  };
}

/**
 * Builds unless current; returns the exit status. Loads vite only when it builds.
 * @param {{ force?: boolean }} [options]
 * @returns {Promise<number>}
 */
export async function buildWebIfStale({ force = false } = {}) {
  if (!force && webBuildIsCurrent()) return 0;
  const startedAt = Date.now();
  /** @type {Set<string>} */
  const bundled = new Set();
  const { build } = await import('vite');
  try {
    await build({ configFile: CONFIG_FILE, logLevel: 'warn', plugins: [recordSourceFiles(bundled)] });
  } catch {
    return 1; // vite has printed what failed
  }
  recordBuild(STAMP, [...bundled, ...BUILD_SETTINGS], startedAt);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let force = false;
  try {
    const { values } = parseArgs({ options: { force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) {
      process.stdout.write(
        'usage: npm run build:web [-- --force]\n\nBuilds the browser app into clients/web/dist unless it is already the build of the\ncurrent sources. --force: build anyway.\n',
      );
      process.exit(0);
    }
    force = values.force ?? false;
  } catch (error) {
    process.stderr.write(`npm run build:web: ${error instanceof Error ? error.message : String(error)} (try --help)\n`);
    process.exit(2);
  }
  process.exit(await buildWebIfStale({ force }));
}
