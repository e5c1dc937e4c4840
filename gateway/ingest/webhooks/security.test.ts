/** Signatures, replay cache, rate limit and pseudonyms: pure, with time passed in. */
import { describe, expect, it } from 'vitest';
import { ReplayCache, TokenBucket } from './limits.ts';
import { createPseudonymiser, pseudonymOf } from './pseudonym.ts';
import { signBody, verifyBearer, verifyHmac } from './signature.ts';

const secret = Buffer.from('k'.repeat(32));
const body = Buffer.from('{"a":1}');
const now = Date.UTC(2026, 10, 27, 9, 0, 0);
const ts = String(now / 1000);

describe('verifyHmac', () => {
  const base = { secret, body, nowMs: now, toleranceMs: 300_000, timestampHeader: ts };

  it('accepts a valid signature, with or without the sha256= prefix, and among several', () => {
    const sig = signBody(secret, ts, body);
    expect(verifyHmac({ ...base, signatureHeader: sig }).ok).toBe(true);
    expect(verifyHmac({ ...base, signatureHeader: `sha256=${sig}` }).ok).toBe(true);
    expect(verifyHmac({ ...base, signatureHeader: `sha256=${'0'.repeat(64)}, sha256=${sig}` }).ok).toBe(true);
  });

  it('refuses a wrong secret, a changed body, a missing signature', () => {
    const sig = signBody(Buffer.from('other-secret'), ts, body);
    expect(verifyHmac({ ...base, signatureHeader: sig })).toMatchObject({
      ok: false,
      code: 'CT_ERR_SIGNATURE',
    });
    const good = signBody(secret, ts, body);
    expect(verifyHmac({ ...base, body: Buffer.from('{"a":2}'), signatureHeader: good }).ok).toBe(false);
    expect(verifyHmac({ ...base, signatureHeader: undefined })).toMatchObject({ code: 'CT_ERR_SIGNATURE' });
  });

  it('refuses a timestamp outside the tolerance either way, or none', () => {
    for (const skew of [-301, 301]) {
      const t = String(now / 1000 + skew);
      const r = verifyHmac({ ...base, timestampHeader: t, signatureHeader: signBody(secret, t, body) });
      expect(r).toMatchObject({ ok: false, code: 'CT_ERR_SIGNATURE_EXPIRED' });
    }
    const t = String(now / 1000 - 299);
    expect(verifyHmac({ ...base, timestampHeader: t, signatureHeader: signBody(secret, t, body) }).ok).toBe(
      true,
    );
    expect(verifyHmac({ ...base, timestampHeader: undefined, signatureHeader: 'x' })).toMatchObject({
      code: 'CT_ERR_SIGNATURE_EXPIRED',
    });
  });

  it('bearer tokens compare exactly', () => {
    expect(verifyBearer('Bearer abc', 'abc').ok).toBe(true);
    expect(verifyBearer('Bearer abd', 'abc')).toMatchObject({ ok: false, code: 'CT_ERR_AUTH' });
    expect(verifyBearer(undefined, 'abc').ok).toBe(false);
  });
});

describe('ReplayCache', () => {
  it('remembers a key for the window, forgets released and expired ones, refuses when full', () => {
    const c = new ReplayCache(600_000, 2);
    expect(c.check('a', 0)).toBe('new');
    expect(c.check('a', 1000)).toBe('replay');
    c.release('a');
    expect(c.check('a', 1000)).toBe('new');
    expect(c.check('b', 2000)).toBe('new');
    expect(c.check('c', 3000)).toBe('full');
    expect(c.check('c', 601_001)).toBe('new'); // 'a' expired
    expect(c.size).toBe(2);
  });
});

describe('TokenBucket', () => {
  it('allows the burst, then the rate, and says how long to wait', () => {
    const b = new TokenBucket(10, 3, 0);
    expect([b.take(0), b.take(0), b.take(0)]).toEqual([0, 0, 0]);
    expect(b.take(0)).toBe(100);
    expect(b.take(100)).toBe(0);
    expect(b.take(100)).toBeGreaterThan(0);
  });
});

describe('pseudonyms', () => {
  it('are deterministic, keyed, p_ + 22 base64url chars, and email-case-insensitive', () => {
    const p = pseudonymOf(secret, 'https://example.edu/users/554433');
    expect(p).toMatch(/^p_[A-Za-z0-9_-]{22}$/);
    expect(pseudonymOf(secret, 'https://example.edu/users/554433')).toBe(p);
    expect(pseudonymOf(Buffer.from('x'.repeat(32)), 'https://example.edu/users/554433')).not.toBe(p);
    expect(pseudonymOf(secret, 'mailto:Ana@Uni.Example')).toBe(pseudonymOf(secret, 'ana@uni.example'));
    const memo = createPseudonymiser(secret, 1);
    expect([memo('a'), memo('b'), memo('a')]).toEqual([
      pseudonymOf(secret, 'a'),
      pseudonymOf(secret, 'b'),
      pseudonymOf(secret, 'a'),
    ]);
    expect(() => createPseudonymiser(Buffer.from('short'))).toThrow(/16 bytes/);
  });
});

describe('secrets', () => {
  it('come inline, from a file or from a named environment variable, and fail fast with the field', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { resolveSecret } = await import('./secrets.ts');
    const file = join(mkdtempSync(join(tmpdir(), 'ct-secret-')), 'hook');
    writeFileSync(file, 'from-file\n');
    const none = { secret: '', secretFile: '', secretEnv: '' };
    expect(resolveSecret({ ...none, secret: 'inline' }, 'f.secret', {})).toBe('inline');
    expect(resolveSecret({ ...none, secretFile: file }, 'f.secret', {})).toBe('from-file');
    expect(resolveSecret({ ...none, secretEnv: 'HOOK' }, 'f.secret', { HOOK: 'from-env' })).toBe('from-env');
    expect(() => resolveSecret({ ...none, secretEnv: 'HOOK' }, 'f.secret', {})).toThrow(/f\.secretEnv/);
    expect(() => resolveSecret({ ...none, secretFile: `${file}.missing` }, 'f.secret', {})).toThrow(
      /f\.secretFile/,
    );
    expect(resolveSecret(none, 'f.secret', {})).toBeUndefined();
  });
});
