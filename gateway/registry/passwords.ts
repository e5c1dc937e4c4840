/**
 * Device credentials: scrypt hashes in the registry (`scrypt$N$r$p$salt$hash`, base64), verified with
 * a constant-time compare. Verification is async (scrypt costs tens of ms) and successful checks are cached
 * by a keyed digest so reconnect storms don't pin the CPU.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const KEYLEN = 32;

function scryptAsync(password: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEYLEN, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export async function hashPassword(password: string, N = 16384, r = 8, p = 1): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, N, r, p);
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64');
  const key = await scryptAsync(password, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Remembers successful verifications (never failures) for the life of the process. */
export class PasswordVerifier {
  readonly #ok = new Set<string>();

  async verify(deviceId: string, password: string, encoded: string): Promise<boolean> {
    const memo = createHash('sha256')
      .update(encoded)
      .update('\0')
      .update(deviceId)
      .update('\0')
      .update(password)
      .digest('base64');
    if (this.#ok.has(memo)) return true;
    const ok = await verifyPassword(password, encoded);
    if (ok) this.#ok.add(memo);
    return ok;
  }
}
