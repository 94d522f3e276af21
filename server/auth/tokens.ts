/**
 * Tokens: JWT HS256 signed with AUTH_SECRET (jose). `sub` is a `users.id`, `exp` is
 * honoured, `jti` names a session (revocable). Only HS256 is accepted: `alg: none` and
 * every other algorithm are refused by the allow-list.
 */
import { errors, jwtVerify, SignJWT } from 'jose';
import { PermissionDeniedError } from './authorizer.js';

/** What a valid token says. */
export interface TokenClaims {
  readonly userId: string;
  /** The session (`jti`); tokens without one are refused, so every token is revocable. */
  readonly sessionId: string;
  /** Expiry, in milliseconds since the epoch. */
  readonly expiresAt: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DEFAULT_TTL_SECONDS = 24 * 60 * 60;

export class Tokens {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  /** Mints a token for a user (admin API, `npm run token`). */
  async mint(userId: string, ttlSeconds = DEFAULT_TTL_SECONDS, sessionId: string = crypto.randomUUID()): Promise<{ token: string; claims: TokenClaims }> {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setJti(sessionId)
      .setIssuedAt(now)
      .setExpirationTime(now + ttlSeconds)
      .sign(this.key);
    return { token, claims: { userId, sessionId, expiresAt: (now + ttlSeconds) * 1000 } };
  }

  /** Resolves with the claims, or rejects with PermissionDeniedError and a reason a client can show. */
  async verify(token: string): Promise<TokenClaims> {
    if (token === '') throw new PermissionDeniedError('authentication required: no token');
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] }));
    } catch (error) {
      throw new PermissionDeniedError(reasonFor(error));
    }
    if (typeof payload.sub !== 'string' || !UUID.test(payload.sub)) throw new PermissionDeniedError('invalid token: sub is not a user id');
    if (typeof payload.jti !== 'string' || payload.jti === '') throw new PermissionDeniedError('invalid token: no session (jti)');
    if (typeof payload.exp !== 'number') throw new PermissionDeniedError('invalid token: no expiry (exp)');
    // The canonical (lower-case) id, as PostgreSQL answers it: an upper-case `sub` is the same
    // user, and every comparison of user ids (membership events, presence, rate limits) must see one form.
    return { userId: payload.sub.toLowerCase(), sessionId: payload.jti, expiresAt: payload.exp * 1000 };
  }
}

function reasonFor(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'invalid token: bad signature';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'invalid token: algorithm not allowed';
  if (error instanceof errors.JWTClaimValidationFailed) return `invalid token: ${error.message}`;
  return 'invalid token';
}
