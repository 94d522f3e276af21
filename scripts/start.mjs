#!/usr/bin/env node
/**
 * `npm start`: builds the server and the browser app if their sources changed since they were
 * last built (scripts/build-stamp.mjs), then runs the server in this process. A check that
 * finds both current takes milliseconds, so a restart costs only the server's own start.
 * The builds run as child processes: the compilers' memory is never part of the server's.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './build-stamp.mjs';
import { SERVER_ENTRY, buildServerIfStale } from './build-server.mjs';
import { webBuildIsCurrent } from '../clients/web/build-if-stale.mjs';

const serverBuilt = buildServerIfStale();
if (serverBuilt !== 0) process.exit(serverBuilt);
if (!webBuildIsCurrent()) {
  const web = spawnSync(process.execPath, [path.join(ROOT, 'clients', 'web', 'build-if-stale.mjs')], { stdio: 'inherit', cwd: ROOT });
  if (web.status !== 0) process.exit(web.status ?? 1);
}
// Arguments reach the server as they were given (`npm start -- --help`).
await import(pathToFileURL(SERVER_ENTRY).href);
