/**
 * The Hocuspocus peer for comparisons: @hocuspocus/server with its default settings (in memory,
 * no extensions), listening on HOST:PORT. Prints one "listening" line when ready.
 */
import { Server } from '@hocuspocus/server';

const port = Number(process.env.PORT ?? 1234);
const address = process.env.HOST ?? '127.0.0.1';
const server = new Server({ port, address, quiet: true });
await server.listen();
console.log(JSON.stringify({ msg: 'listening', port, address, server: '@hocuspocus/server' }));
