import { describe, expect, it } from 'vitest';
import { firstDuplicateKey } from './duplicate-keys.ts';

describe('firstDuplicateKey', () => {
  it('finds a repeated property and names its path', () => {
    expect(firstDuplicateKey('{"actor": {"mbox": "a"}, "verb": {}, "actor": {"mbox": "b"}}')).toBe('actor');
    expect(firstDuplicateKey('[{"id": 1}, {"verb": {"display": {"en": "x", "en": "y"}}}]')).toBe(
      '[1].verb.display.en',
    );
    expect(firstDuplicateKey('{"a": [{"b": 1, "b": 2}]}')).toBe('a[0].b');
  });

  it('does not confuse values, escapes or separate objects with repeats', () => {
    expect(firstDuplicateKey('{"a": "a", "b": {"a": 1}, "c": [{"a": 1}, {"a": 2}]}')).toBeUndefined();
    expect(firstDuplicateKey('{"k\\"ey": 1, "k\\\\": ",\\"k\\"ey\\":", "x": ["{", "}"]}')).toBeUndefined();
    expect(firstDuplicateKey('{"\\u0061": 1, "a": 2}')).toBe('a'); // the same name, escaped
    expect(firstDuplicateKey('[]')).toBeUndefined();
  });
});
