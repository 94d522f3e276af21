/**
 * Tokens: JWT HS256 signed with AUTH_SECRET (jose). `sub` is a `users.id`, `exp` is
 * honoured, `jti` names a session (revocable). Only HS256 is accepted: `alg: none` and
 * every other algorithm are refused by the allow-list. A token lives at most
 * MAX_TOKEN_TTL_SECONDS (`exp - iat`, `iat` not in the future), checked when it is
 * verified, not only when it is minted: a revocation is kept that long, so no token can
 * outlive its own revocation.
 */
import { errors, jwtVerify, SignJWT } from 'jose';
import { systemClock, type Clock } from '../clock.js';
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
/** MAX_TOKEN_TTL_SECONDS by default: 24 h. */
export const DEFAULT_MAX_TOKEN_TTL_SECONDS = 24 * 60 * 60;
/** How far in the future an `iat` may lie (clocks of the minting and the verifying host differ a little). */
export const CLOCK_SKEW_SECONDS = 60;

/** A refusal of a token whose signature verified: `subject` is its (authentic) `sub`, for the audit log. */
export class TokenRefusedError extends PermissionDeniedError {
  constructor(
    message: string,
    readonly subject: string | null,
  ) {
    super(message);
  }
}

export class Tokens {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    /** Longest accepted `exp - iat` (MAX_TOKEN_TTL_SECONDS); minting never goes beyond it. */
    readonly maxTtlSeconds: number = DEFAULT_MAX_TOKEN_TTL_SECONDS,
    /** Issue times, and the time `exp` and `iat` are checked against. */
    private readonly clock: Pick<Clock, 'now'> = systemClock,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  /**
   * How long from now a token verified now could still be valid (ms): `iat` at most
   * CLOCK_SKEW_SECONDS ahead, `exp` at most MAX_TOKEN_TTL_SECONDS after it. A revocation
   * made now is kept this long.
   */
  get longestValidityMs(): number {
    return (this.maxTtlSeconds + CLOCK_SKEW_SECONDS) * 1000;
  }

  /** Mints a token for a user (admin API, `npm run token`); `ttlSeconds` at most `maxTtlSeconds` (default: that). */
  async mint(
    userId: string,
    ttlSeconds = this.maxTtlSeconds,
    sessionId: string = crypto.randomUUID(),
  ): Promise<{ token: string; claims: TokenClaims }> {
    if (ttlSeconds > this.maxTtlSeconds)
      throw new RangeError(`token lifetime ${ttlSeconds} s is over MAX_TOKEN_TTL_SECONDS (${this.maxTtlSeconds} s)`);
    const now = Math.floor(this.clock.now() / 1000);
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
    const now = this.clock.now();
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], currentDate: new Date(now) }));
    } catch (error) {
      // An expired token's signature did verify: its sub is authentic.
      const sub = error instanceof errors.JWTExpired ? error.payload.sub : undefined;
      throw new TokenRefusedError(reasonFor(error), typeof sub === 'string' && UUID.test(sub) ? sub : null);
    }
    if (typeof payload.sub !== 'string' || !UUID.test(payload.sub)) throw new PermissionDeniedError('invalid token: sub is not a user id');
    if (typeof payload.jti !== 'string' || payload.jti === '') throw new PermissionDeniedError('invalid token: no session (jti)');
    if (typeof payload.exp !== 'number') throw new TokenRefusedError('invalid token: no expiry (exp)', payload.sub);
    if (typeof payload.iat !== 'number') throw new TokenRefusedError('invalid token: no issue time (iat)', payload.sub);
    if (payload.iat > now / 1000 + CLOCK_SKEW_SECONDS)
      throw new TokenRefusedError('invalid token: issued in the future (iat)', payload.sub);
    if (payload.exp - payload.iat > this.maxTtlSeconds) {
      throw new TokenRefusedError(`invalid token: lifetime longer than ${this.maxTtlSeconds} s (MAX_TOKEN_TTL_SECONDS)`, payload.sub);
    }
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
