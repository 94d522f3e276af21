#!/usr/bin/env node
/**
 * `npm start`: builds the server and the browser app if their sources changed since they were
 * last built (scripts/build-stamp.mjs), then runs the server in this process. A check that
 * finds both current takes milliseconds, so a restart costs only the server's own start.
 * The builds run as child processes, side by side: the compilers' memory is never the server's.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { webBuildIsCurrent } from '../clients/web/build-if-stale.mjs';
import { ROOT } from './build-stamp.mjs';
import { SERVER_ENTRY, buildServerIfStale } from './build-server.mjs';
import { runNode } from './run-node.mjs';

const [server, web] = await Promise.all([
  buildServerIfStale(),
  webBuildIsCurrent() ? 0 : runNode(path.join(ROOT, 'clients', 'web', 'build-if-stale.mjs'), []),
]);
if (server !== 0) process.exit(server);
if (web !== 0) process.exit(web);
// Arguments reach the server as they were given (`npm start -- --help`).
await import(pathToFileURL(SERVER_ENTRY).href);
