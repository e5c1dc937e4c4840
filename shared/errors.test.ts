import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CampusTwinError, ERROR_CODES, ERRORS, reject } from './errors.ts';

describe('error catalogue', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');

  it('documents every code with its HTTP status, and nothing that does not exist', () => {
    for (const code of ERROR_CODES) {
      expect(doc, code).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${ERRORS[code].status}\\s*\\|`));
    }
    const documented = [...doc.matchAll(/\|\s*`(CT_ERR_[A-Z_]+)`\s*\|/g)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...ERROR_CODES].sort());
  });

  it('carries code, status and a message naming the detail', () => {
    const err = new CampusTwinError('CT_ERR_SCHEMA', 'readings.co2: expected number');
    expect(err).toMatchObject({ code: 'CT_ERR_SCHEMA', status: 422 });
    expect(err.message).toContain('readings.co2');
    expect(reject('CT_ERR_TS_FUTURE').message).toBe(ERRORS.CT_ERR_TS_FUTURE.message);
  });
});
