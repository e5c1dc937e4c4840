/**
 * Reads PHP's serialize() format, which Moodle's standard log store uses for an event's `other` field
 * (`a:1:{s:4:"name";s:10:"test event";}`). Pure; arrays become objects (or lists when their keys are
 * 0…n−1), objects become plain objects of their properties. Refuses anything malformed with a message.
 */

type Php = null | boolean | number | string | Php[] | { [key: string]: Php };

export class PhpSyntaxError extends Error {}

export function phpUnserialize(text: string): Php {
  // Lengths in s:N:"…" count bytes (UTF-8), so work on the bytes.
  const b = Buffer.from(text, 'utf8');
  let i = 0;
  const fail = (what: string): never => {
    throw new PhpSyntaxError(`${what} at byte ${i}`);
  };
  const expect = (ch: string) => {
    if (b[i] !== ch.charCodeAt(0)) fail(`expected '${ch}'`);
    i++;
  };
  const until = (ch: string): string => {
    const end = b.indexOf(ch.charCodeAt(0), i);
    if (end < 0) fail(`expected '${ch}'`);
    const s = b.toString('utf8', i, end);
    i = end + 1;
    return s;
  };
  const int = (s: string) => {
    if (!/^-?\d+$/.test(s)) fail(`expected an integer, got "${s.slice(0, 20)}"`);
    return Number(s);
  };
  const value = (depth: number): Php => {
    if (depth > 64) fail('nested too deep');
    const t = String.fromCharCode(b[i] ?? 0);
    i++;
    if (t === 'N') {
      expect(';');
      return null;
    }
    expect(':');
    switch (t) {
      case 'b':
        return int(until(';')) !== 0;
      case 'i':
        return int(until(';'));
      case 'd': {
        const s = until(';');
        const n =
          s === 'INF' ? Number.POSITIVE_INFINITY : s === '-INF' ? Number.NEGATIVE_INFINITY : Number(s);
        if (Number.isNaN(n) && s !== 'NAN') fail(`expected a number, got "${s.slice(0, 20)}"`);
        return n;
      }
      case 's': {
        const len = int(until(':'));
        expect('"');
        if (i + len > b.length) fail('string runs past the end');
        const s = b.toString('utf8', i, i + len);
        i += len;
        expect('"');
        expect(';');
        return s;
      }
      case 'a':
      case 'O': {
        if (t === 'O') {
          until(':'); // class name length
          expect('"');
          until('"');
          expect(':');
        }
        const n = int(until(':'));
        expect('{');
        const entries: [string, Php][] = [];
        for (let k = 0; k < n; k++) {
          const key = value(depth + 1);
          if (typeof key !== 'string' && typeof key !== 'number') fail('array keys are integers or strings');
          // Private and protected property names carry NUL-delimited prefixes: keep the bare name.
          entries.push([String(key).replace(/^\0.*\0/, ''), value(depth + 1)]);
        }
        expect('}');
        const isList = t === 'a' && entries.every(([k], idx) => k === String(idx));
        return isList ? entries.map(([, v]) => v) : Object.fromEntries(entries);
      }
      default:
        return fail(`unknown type '${t}'`);
    }
  };
  const out = value(0);
  if (i !== b.length) fail('trailing characters');
  return out;
}

/** Whether a string looks like PHP serialize() output rather than prose or JSON. */
export function looksPhpSerialized(s: string): boolean {
  return /^(?:[aO]:\d+:|[sidb]:|N;)/.test(s);
}
