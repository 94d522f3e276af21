/**
 * ALLOWED_ORIGINS parsing, the shared origin check, and the peer-address canonical form.
 */
import { describe, expect, it } from 'vitest';
import { parseAllowedOrigins } from '../../server/http/cors.js';
import { canonicalAddress, originChecker } from '../../server/transport/transport.js';

describe('parseAllowedOrigins', () => {
  it('is null (any origin, no CORS) when unset or blank', () => {
    expect(parseAllowedOrigins(undefined)).toBeNull();
    expect(parseAllowedOrigins('')).toBeNull();
    expect(parseAllowedOrigins('   ')).toBeNull();
  });

  it('normalizes entries as browsers send the Origin header, and drops duplicates', () => {
    expect(parseAllowedOrigins(' HTTPS://App.Example.com:443/ , http://localhost:5173,https://app.example.com')).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
    ]);
    expect(parseAllowedOrigins('https://bücher.example')).toEqual(['https://xn--bcher-kva.example']);
  });

  it.each([
    ['*', /leave ALLOWED_ORIGINS unset/],
    ['null', /not an origin/],
    ['app.example.com', /not an origin/],
    ['ftp://files.example.com', /not an origin/],
    ['https://app.example.com/path', /not an origin/],
    ['https://app.example.com?x=1', /not an origin/],
    ['https://app.example.com?', /not an origin/],
    ['https://user@app.example.com', /not an origin/],
    [',,', /lists no origin/],
  ])('refuses %j', (raw, message) => {
    expect(() => parseAllowedOrigins(raw)).toThrow(RangeError);
    expect(() => parseAllowedOrigins(raw)).toThrow(message);
  });

  it('names the variable it was given in its errors', () => {
    expect(() => parseAllowedOrigins('nope', 'CORS_ORIGINS')).toThrow(/^CORS_ORIGINS: "nope" is not an origin/);
  });
});

describe('originChecker', () => {
  it('lets everything through without a list', () => {
    expect(originChecker(null)('https://evil.example')).toBe(true);
    expect(originChecker(undefined)('https://evil.example')).toBe(true);
  });

  it('lets absent origins and listed ones through, and nothing else', () => {
    const allowed = originChecker(['https://app.example.com']);
    expect(allowed(null)).toBe(true);
    expect(allowed(undefined)).toBe(true);
    expect(allowed('')).toBe(true);
    expect(allowed('https://app.example.com')).toBe(true);
    expect(allowed('https://APP.example.com')).toBe(true);
    expect(allowed('https://app.example.com:8443')).toBe(false);
    expect(allowed('https://app.example.com.evil.example')).toBe(false);
    expect(allowed('null')).toBe(false);
  });
});

describe('canonicalAddress', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
    ['0000:0000:0000:0000:0000:ffff:7f00:0001', '127.0.0.1'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['', ''],
    ['fe80::1%eth0', 'fe80::1%eth0'],
  ])('%j → %j', (raw, canonical) => {
    expect(canonicalAddress(raw)).toBe(canonical);
  });
});
