/**
 * The signature of a delivery: `X-Scriptorium-Signature: sha256=<hex HMAC-SHA256(secret,
 * "<timestamp>.<raw body>")>` with `X-Scriptorium-Timestamp: <timestamp>` (Unix seconds of the
 * attempt). Signing the timestamp with the body lets a receiver refuse a replayed old delivery.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_PREFIX = 'sha256=';

/** The X-Scriptorium-Signature value for `body` sent at `timestamp`. */
export function signDelivery(secret: string, timestamp: number, body: string): string {
  return SIGNATURE_PREFIX + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** True when `signature` is `body`'s at `timestamp` under `secret` (compared in constant time): what a receiver checks. */
export function verifyDelivery(secret: string, timestamp: number, body: string, signature: string): boolean {
  const expected = Buffer.from(signDelivery(secret, timestamp, body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
