/**
 * Whether a build's output is current, in milliseconds instead of a rebuild. A successful build
 * leaves a stamp: the list of its inputs and their signature (each file's path, size and
 * modification time). The output stays current while the inputs keep that signature: an edit,
 * an added or removed input, or a copy that restored older times all change it; a touch
 * without an edit costs one needless build. `npm start`'s two builds use it:
 * scripts/build-server.mjs (tsc) and clients/web/build-if-stale.mjs (vite).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is in scripts/). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** In the server's git-ignored output, and never in the folder the server serves to browsers. */
const STAMP_DIR = path.join(ROOT, 'dist', 'build-stamps');

const stampFile = (/** @type {string} */ name) => path.join(STAMP_DIR, `${name}.json`);

/**
 * The signature of `files` (absolute paths). A missing file counts too, so deleting an input
 * makes the output stale.
 * @param {readonly string[]} files
 * @returns {string}
 */
function signature(files) {
  const hash = createHash('sha256');
  for (const file of [...new Set(files)].sort()) {
    const stat = statSync(file, { throwIfNoEntry: false });
    hash.update(`${path.relative(ROOT, file)}\t${stat ? `${stat.size}\t${stat.mtimeMs}` : 'missing'}\n`);
  }
  return hash.digest('hex');
}

/**
 * @typedef {object} CurrentQuery
 * @property {readonly string[]} outputs  files the build writes (absolute); the output is stale if one is missing
 * @property {readonly string[]} [inputs] the inputs now (absolute); default: those the last build recorded
 */

/**
 * True when the last successful build `name` left a stamp, its outputs exist and the inputs
 * are unchanged since. Pass `inputs` when they can be listed before building (a compiler's
 * source folders, where a new file matters); leave it out when only the build knows them (a
 * bundler following imports: a new file matters only once an input imports it).
 * @param {string} name
 * @param {CurrentQuery} query
 * @returns {boolean}
 */
export function isCurrent(name, { outputs, inputs }) {
  if (!outputs.every((output) => existsSync(output))) return false;
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(stampFile(name), 'utf8'));
  } catch {
    return false; // never built here, or the stamp is unreadable: build
  }
  if (typeof stamp?.signature !== 'string' || !Array.isArray(stamp.inputs)) return false;
  const recorded = stamp.inputs.map((/** @type {unknown} */ input) => path.resolve(ROOT, String(input)));
  return signature(inputs ?? recorded) === stamp.signature;
}

/**
 * Records a successful build `name` of `inputs` (absolute) that started at `startedAt`
 * (Date.now()). An input modified since the build started may not be in the output: then no
 * stamp is written, and the next check builds again.
 * @param {string} name
 * @param {readonly string[]} inputs
 * @param {number} startedAt
 * @returns {boolean} whether the stamp was written
 */
export function recordBuild(name, inputs, startedAt) {
  const file = stampFile(name);
  const changedDuringBuild = inputs.some((input) => (statSync(input, { throwIfNoEntry: false })?.mtimeMs ?? 0) >= startedAt);
  if (changedDuringBuild) return false;
  mkdirSync(STAMP_DIR, { recursive: true });
  const stamp = { signature: signature(inputs), inputs: [...new Set(inputs)].map((input) => path.relative(ROOT, input)).sort() };
  // Written aside and renamed: an interrupted write leaves no half stamp.
  writeFileSync(`${file}.tmp`, `${JSON.stringify(stamp)}\n`);
  renameSync(`${file}.tmp`, file);
  return true;
}

/**
 * Every file under `dir` (absolute) whose name ends in one of `extensions`; none when `dir` is missing.
 * @param {string} dir
 * @param {readonly string[]} extensions
 * @returns {string[]}
 */
export function filesUnder(dir, extensions) {
  /** @type {string[]} */
  const found = [];
  /** @param {string} folder */
  const walk = (folder) => {
    if (!existsSync(folder)) return;
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (extensions.some((extension) => entry.name.endsWith(extension))) found.push(full);
    }
  };
  walk(dir);
  return found;
}
