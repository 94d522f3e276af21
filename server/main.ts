#!/usr/bin/env node
/** `npm start`: runs the server with configuration from the environment (see README). */
import { ConfigError } from './config.js';
import { startServer } from './server.js';
import { capYoungGeneration } from './young-generation.js';

async function main(): Promise<void> {
  // Before the server allocates anything: see young-generation.ts.
  capYoungGeneration();
  let server;
  try {
    server = await startServer();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`scriptorium: ${error instanceof ConfigError ? 'configuration error: ' : ''}${message}\n`);
    process.exit(1);
  }
  const running = server;
  let signals = 0;
  const stop = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      running.logger.warn({ signal }, 'second signal: exiting without waiting for the flush');
      process.exit(1);
    }
    running.logger.info({ signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        running.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
