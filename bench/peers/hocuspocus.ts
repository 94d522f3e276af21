/**
 * The Hocuspocus peer for comparisons: @hocuspocus/server with its default settings (in memory,
 * no extensions), listening on HOST:PORT. Prints one "listening" line when ready.
 */
import { Server } from '@hocuspocus/server';
import { parseCli } from '../../server/command-line.js';

const cli = parseCli({
  command: 'node dist/bench/peers/hocuspocus.js',
  summary: `The Hocuspocus peer of the benchmark (npm run bench starts it): @hocuspocus/server with its
default settings (in memory, no extensions). Prints one "listening" JSON line when ready.`,
  environment: [
    { name: 'PORT', description: 'TCP port (default: 1234)' },
    { name: 'HOST', description: 'interface to listen on (default: 127.0.0.1)' },
  ],
});

const port = cli.number(process.env.PORT, 'PORT', { integer: true, min: 0, max: 65535 }) ?? 1234;
const address = process.env.HOST ?? '127.0.0.1';
const server = new Server({ port, address, quiet: true });
await server.listen();
console.log(JSON.stringify({ msg: 'listening', port, address, server: '@hocuspocus/server' }));
