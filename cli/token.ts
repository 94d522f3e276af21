#!/usr/bin/env node
/**
 * `npm run token -- --user <id> [--ttl <seconds>]`: mints a development token for a user
 * with AUTH_SECRET from the environment, without a server or a database (the user id is
 * not looked up: a token for an unknown user is refused when it is used). For tokens of
 * a running server, POST /api/admin/tokens checks the user.
 */
import { DEFAULT_MAX_TOKEN_TTL_SECONDS, Tokens } from '../server/auth/tokens.js';
import { parseCli } from '../server/command-line.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const cli = parseCli({
  command: 'npm run token --',
  synopsis: '--user ID [--ttl SECONDS]',
  summary: `Mints a JWT (HS256, signed with AUTH_SECRET) for a user of the server's database, for development
and scripts. Prints the token alone on stdout (capture it with \`npm run --silent token -- ...\`)
and its session id and expiry on stderr (the session id is what POST /api/admin/sessions/:id/revoke
takes). Opens no database: the user is checked when the token is used.`,
  options: {
    user: { type: 'string', value: 'ID', description: 'the users.id (a uuid) the token speaks for (required)' },
    ttl: {
      type: 'string',
      value: 'SECONDS',
      description: 'lifetime in seconds, 1 to MAX_TOKEN_TTL_SECONDS (default: MAX_TOKEN_TTL_SECONDS)',
    },
  },
  environment: [
    { name: 'AUTH_SECRET', description: 'the secret the server verifies tokens with (required)' },
    {
      name: 'MAX_TOKEN_TTL_SECONDS',
      description: `the longest lifetime the server accepts (default ${DEFAULT_MAX_TOKEN_TTL_SECONDS}); give the server's value, or its tokens are refused`,
    },
  ],
  notes: `Example:
  AUTH_SECRET=... npm run --silent token -- --user 6f1c2f4e-8d1a-4c55-9d57-0f9b6a1e2b3c --ttl 3600`,
});

const user = cli.values.user ?? cli.fail('--user is required');
if (!UUID.test(user)) cli.fail(`--user: expected a user id (uuid), got '${user}'`);
// The server refuses a token that lives longer than its MAX_TOKEN_TTL_SECONDS (and keeps a revocation that long).
const maxTtl =
  cli.number(process.env.MAX_TOKEN_TTL_SECONDS || undefined, 'MAX_TOKEN_TTL_SECONDS', { integer: true, min: 60 }) ??
  DEFAULT_MAX_TOKEN_TTL_SECONDS;
const ttl = cli.number(cli.values.ttl, '--ttl', { integer: true, min: 1, max: maxTtl }) ?? maxTtl;
const secret = process.env.AUTH_SECRET || cli.fail('AUTH_SECRET is not set: it is the secret the server verifies tokens with');

const { token, claims } = await new Tokens(secret, maxTtl).mint(user, ttl);
process.stdout.write(`${token}\n`);
process.stderr.write(`session ${claims.sessionId}, expires ${new Date(claims.expiresAt).toISOString()}\n`);
