#!/usr/bin/env node
/** `npm start`: runs the server with configuration from the environment (see README). */
import { parseCli } from './command-line.js';
import type { RunningServer } from './server.js';
import { capYoungGeneration, growYoungGenerationTo } from './young-generation.js';

// No options: configuration is the environment. `--help` says so instead of starting a server.
parseCli({
  command: 'npm start --',
  summary: `Runs the Scriptorium server: the Hocuspocus protocol on ws://HOST:PORT/, y-websocket on
/y/<document>, the HTTP API under /api and the browser app at /. Configuration comes from the
environment only; docs/contracts.md "Start and environment" lists every variable. The ones most set:`,
  environment: [
    { name: 'PORT', description: 'port to listen on (default 1234)' },
    { name: 'HOST', description: 'address to listen on (default 0.0.0.0)' },
    { name: 'DATABASE_URL', description: 'PostgreSQL (postgres://…); unset: embedded PGlite in DATA_DIR' },
    { name: 'DATA_DIR', description: 'where the embedded database lives (default ./data)' },
    { name: 'REDIS_URL', description: 'redis://… or redis-cluster://host:port,…: several instances share documents' },
    { name: 'AUTH_SECRET', description: 'HS256 secret for tokens; unset: open mode (everyone an anonymous editor)' },
    { name: 'ADMIN_TOKEN', description: 'bearer token for the admin API' },
    { name: 'LOG_LEVEL', description: 'trace | debug | info | warn | error | fatal | silent (default info)' },
  ],
});

async function main(): Promise<void> {
  // Before the server's modules load (they would grow the young generation to its
  // maximum), then grown once to the size it runs with: see young-generation.ts.
  const capped = capYoungGeneration();
  const { ConfigError } = await import('./config.js');
  const { startServer } = await import('./server.js');
  if (capped) growYoungGenerationTo();
  let running: RunningServer | undefined;

  // A bug that escaped every owner: log it, try to commit what was accepted, exit non-zero.
  let crashing = false;
  const crash = (kind: string) => (error: unknown) => {
    if (crashing) return;
    crashing = true;
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    if (running) running.logger.fatal({ err: error, kind }, 'crashing: flushing accepted edits, then exiting');
    else process.stderr.write(`scriptorium: ${kind}: ${detail}\n`);
    const flushed = running ? running.close() : Promise.resolve(true);
    flushed.then(
      () => process.exit(70),
      () => process.exit(70),
    );
  };
  process.on('unhandledRejection', crash('unhandled rejection'));
  process.on('uncaughtException', crash('uncaught exception'));

  try {
    running = await startServer();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`scriptorium: ${error instanceof ConfigError ? 'configuration error: ' : ''}${message}\n`);
    process.exit(1);
  }
  const server = running;
  let signals = 0;
  const stop = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      server.logger.warn({ signal }, 'second signal: exiting without waiting for the flush');
      process.exit(1);
    }
    server.logger.info({ signal }, 'shutting down');
    server.close().then(
      (flushed) => process.exit(flushed ? 0 : 1),
      (error: unknown) => {
        server.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
